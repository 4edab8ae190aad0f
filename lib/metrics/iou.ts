/**
 * Overlap of plain corner boxes on continuous coordinates (no VOC "+1 pixel"), so the same code serves normalised
 * and pixel boxes.
 * @module
 */

import type { Box } from "../types.ts";

/** Area of a corner box; 0 when it is empty or inverted. */
export function boxArea(box: Box): number {
  return Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1]);
}

/** Intersection over union of two corner boxes; 0 when the union is empty. */
export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}
