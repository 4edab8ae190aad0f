/**
 * Box geometry on plain arrays: IoU, corner <-> centre conversion, and the SSD offset coding against priors.
 *
 * Flat arrays hold four numbers per box. Corner boxes are `[x1, y1, x2, y2]`, centre boxes `[cx, cy, w, h]`.
 * Encoding (SSD, variances v0 = 0.1, v1 = 0.2):
 * `tx = (gcx - pcx) / (v0 * pw)`, `ty = (gcy - pcy) / (v0 * ph)`, `tw = ln(gw / pw) / v1`, `th = ln(gh / ph) / v1`.
 * @module
 */
import type { Box } from "../types.ts";

/** Default SSD variances: centre offsets and log-size offsets. */
export const DEFAULT_VARIANCES: readonly [number, number] = [0.1, 0.2];

/** Boxes as a flat array (4 numbers per box) or as a list of 4-tuples. */
export type BoxList = ArrayLike<number> | readonly Box[];

/** Options of the offset coding. */
export interface CodingOptions {
  /** `[centre, size]` variances; default [0.1, 0.2]. */
  variances?: readonly [number, number];
}

/** Copies boxes into a flat Float32Array (no copy when already one). */
export function toFlat(boxes: BoxList, what = "boxes"): Float32Array {
  if (boxes instanceof Float32Array) {
    if (boxes.length % 4 !== 0) throw new Error(`lib/detect/boxes.ts: ${what} length ${boxes.length} is not 4 x N`);
    return boxes;
  }
  const first = (boxes as ArrayLike<unknown>)[0];
  if (Array.isArray(first)) {
    const list = boxes as readonly Box[];
    const out = new Float32Array(list.length * 4);
    list.forEach((b, i) => {
      if (b.length !== 4) throw new Error(`lib/detect/boxes.ts: ${what}[${i}] has ${b.length} numbers, expected 4`);
      out.set(b, i * 4);
    });
    return out;
  }
  const flat = boxes as ArrayLike<number>;
  if (flat.length % 4 !== 0) throw new Error(`lib/detect/boxes.ts: ${what} length ${flat.length} is not 4 x N`);
  return Float32Array.from(flat);
}

/** Pairwise IoU of corner boxes: `out[i * B + j] = IoU(a_i, b_j)`; 0 when both areas are 0. */
export function iouMatrix(a: BoxList, b: BoxList): Float32Array {
  const fa = toFlat(a, "a");
  const fb = toFlat(b, "b");
  const na = fa.length / 4;
  const nb = fb.length / 4;
  const out = new Float32Array(na * nb);
  for (let i = 0; i < na; i++) {
    const ax1 = fa[i * 4], ay1 = fa[i * 4 + 1], ax2 = fa[i * 4 + 2], ay2 = fa[i * 4 + 3];
    const areaA = Math.max(0, ax2 - ax1) * Math.max(0, ay2 - ay1);
    for (let j = 0; j < nb; j++) {
      const bx1 = fb[j * 4], by1 = fb[j * 4 + 1], bx2 = fb[j * 4 + 2], by2 = fb[j * 4 + 3];
      const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
      const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
      if (iw <= 0 || ih <= 0) continue;
      const inter = iw * ih;
      const union = areaA + Math.max(0, bx2 - bx1) * Math.max(0, by2 - by1) - inter;
      out[i * nb + j] = union > 0 ? inter / union : 0;
    }
  }
  return out;
}

/** IoU of two single corner boxes. */
export function iou(a: Box, b: Box): number {
  return iouMatrix([a], [b])[0];
}

/** Corner `[x1, y1, x2, y2]` to centre `[cx, cy, w, h]`, flat in and out. */
export function cornerToCentre(boxes: BoxList): Float32Array {
  const f = toFlat(boxes);
  const out = new Float32Array(f.length);
  for (let i = 0; i < f.length; i += 4) {
    out[i] = (f[i] + f[i + 2]) / 2;
    out[i + 1] = (f[i + 1] + f[i + 3]) / 2;
    out[i + 2] = f[i + 2] - f[i];
    out[i + 3] = f[i + 3] - f[i + 1];
  }
  return out;
}

/** Centre `[cx, cy, w, h]` to corner `[x1, y1, x2, y2]`, flat in and out. */
export function centreToCorner(boxes: BoxList): Float32Array {
  const f = toFlat(boxes);
  const out = new Float32Array(f.length);
  for (let i = 0; i < f.length; i += 4) {
    out[i] = f[i] - f[i + 2] / 2;
    out[i + 1] = f[i + 1] - f[i + 3] / 2;
    out[i + 2] = f[i] + f[i + 2] / 2;
    out[i + 3] = f[i + 1] + f[i + 3] / 2;
  }
  return out;
}

function checkPair(n: number, priors: Float32Array, what: string): void {
  if (n !== priors.length) {
    throw new Error(`lib/detect/boxes.ts: ${what} has ${n / 4} boxes but priors has ${priors.length / 4}`);
  }
}

/**
 * Encodes corner boxes against the priors at the same index (one box per prior) into regression offsets.
 * Boxes must have positive width and height (the log would be infinite otherwise).
 */
export function encodeBoxes(boxes: BoxList, priors: Float32Array, options: CodingOptions = {}): Float32Array {
  const f = toFlat(boxes);
  checkPair(f.length, priors, "boxes");
  const [v0, v1] = options.variances ?? DEFAULT_VARIANCES;
  const out = new Float32Array(f.length);
  for (let i = 0; i < f.length; i += 4) {
    const gw = f[i + 2] - f[i], gh = f[i + 3] - f[i + 1];
    if (!(gw > 0 && gh > 0)) {
      throw new Error(`lib/detect/boxes.ts: box ${i / 4} [${Array.from(f.subarray(i, i + 4))}] has no area`);
    }
    const pw = priors[i + 2], ph = priors[i + 3];
    out[i] = ((f[i] + f[i + 2]) / 2 - priors[i]) / (v0 * pw);
    out[i + 1] = ((f[i + 1] + f[i + 3]) / 2 - priors[i + 1]) / (v0 * ph);
    out[i + 2] = Math.log(gw / pw) / v1;
    out[i + 3] = Math.log(gh / ph) / v1;
  }
  return out;
}

/** Decodes regression offsets against the priors at the same index into corner boxes (inverse of encode). */
export function decodeBoxes(
  offsets: ArrayLike<number>,
  priors: Float32Array,
  options: CodingOptions = {},
): Float32Array {
  checkPair(offsets.length, priors, "offsets");
  const [v0, v1] = options.variances ?? DEFAULT_VARIANCES;
  const out = new Float32Array(offsets.length);
  for (let i = 0; i < offsets.length; i += 4) {
    const pw = priors[i + 2], ph = priors[i + 3];
    const cx = priors[i] + offsets[i] * v0 * pw;
    const cy = priors[i + 1] + offsets[i + 1] * v0 * ph;
    const w = pw * Math.exp(offsets[i + 2] * v1);
    const h = ph * Math.exp(offsets[i + 3] * v1);
    out[i] = cx - w / 2;
    out[i + 1] = cy - h / 2;
    out[i + 2] = cx + w / 2;
    out[i + 3] = cy + h / 2;
  }
  return out;
}
