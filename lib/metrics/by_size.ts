/**
 * VOC AP@0.5 and recall per class for faces bucketed by their size at the model input, the way COCO's area ranges
 * work but with the VOC matching of the AP.
 *
 * Size of a box: `sqrt(w * h)` of the box scaled to the 320x240 input, in pixels (normalised boxes: `w * 320` and
 * `h * 240`; pixel boxes: scaled by 320 / image width and 240 / image height). Buckets are half-open,
 * `lo <= size < hi`: `<16`, `16-32`, `32-64`, `64-128`, `>=128`.
 *
 * For bucket b, per class, detections ranked by score as in `vocCurve`:
 * - ground truth outside b is "ignore", as `difficult` boxes are: it counts neither as a hit nor as a miss, and a
 *   detection whose best-overlap box (IoU above the threshold) is ignored or difficult counts neither way;
 * - a detection that hits a free box inside b is a true positive;
 * - a detection that hits nothing, or hits a box inside b already taken, is a false positive when its own box
 *   (scaled to the input) is inside b, and ignored otherwise (COCO's rule for unmatched detections), so a bucket's
 *   precision is not charged with false alarms of other sizes.
 * Whether a box is taken does not depend on b (only detections that hit it take it), so one matching pass per class
 * serves every bucket; with a single bucket covering every size the AP is `vocCurve`'s.
 * @module
 */

import { INPUT_HEIGHT, INPUT_WIDTH } from "../types.ts";
import type { Box } from "../types.ts";
import { boxIou } from "./iou.ts";
import { checkThreshold, DEFAULT_DISPLAY_THRESHOLD } from "./operating.ts";
import type {
  BySizeResult,
  ClassSpec,
  GroundTruthImage,
  ImageDetection,
  SizeBucket,
  SizeBucketClass,
} from "./types.ts";
import { apAllPoint, rankByScore } from "./voc.ts";

/** Bucket edges in input pixels: `<16`, `16-32`, `32-64`, `64-128`, `>=128`. */
export const SIZE_EDGES: readonly number[] = [16, 32, 64, 128];

/** How {@link BySizeResult.sizeDefinition} reads. */
export const SIZE_DEFINITION =
  `sqrt(w * h) of the box scaled to the ${INPUT_WIDTH}x${INPUT_HEIGHT} model input, in pixels; lo <= size < hi`;

/** Size at the model input of a normalised corner box: `sqrt(w * 320 * h * 240)` pixels (0 when empty). */
export function normalisedInputSide(box: Box): number {
  return Math.sqrt(Math.max(0, box[2] - box[0]) * INPUT_WIDTH * Math.max(0, box[3] - box[1]) * INPUT_HEIGHT);
}

/** The buckets that `edges` (increasing, positive) cut `[0, Infinity)` into, with their names; `[]` gives "all". */
export function sizeBuckets(edges: readonly number[] = SIZE_EDGES): { name: string; lo: number; hi: number }[] {
  edges.forEach((e, i) => {
    if (!(Number.isFinite(e) && e > 0 && (i === 0 || e > edges[i - 1]))) {
      throw new Error(`lib/metrics/by_size.ts: size edges must be increasing positive numbers, got [${edges}]`);
    }
  });
  if (edges.length === 0) return [{ name: "all", lo: 0, hi: Infinity }];
  const out = [{ name: `<${edges[0]}`, lo: 0, hi: edges[0] }];
  for (let i = 1; i < edges.length; i++) {
    out.push({ name: `${edges[i - 1]}-${edges[i]}`, lo: edges[i - 1], hi: edges[i] });
  }
  out.push({ name: `>=${edges[edges.length - 1]}`, lo: edges[edges.length - 1], hi: Infinity });
  return out;
}

/** Index of the bucket holding `size`: the number of edges at or below it. */
export function bucketOf(size: number, edges: readonly number[] = SIZE_EDGES): number {
  let b = 0;
  while (b < edges.length && size >= edges[b]) b++;
  return b;
}

/** Options of {@link apBySize}. */
export interface BySizeOptions {
  /** Classes to evaluate. */
  classes: readonly ClassSpec[];
  /** Size at the model input (pixels, `sqrt(w * h)`) of a box of the given image. */
  sideOf: (imageId: string, box: Box) => number;
  /** Score threshold of the recall; default 0.5. */
  displayThreshold?: number;
  /** A hit needs IoU strictly above this (VOC); default 0.5. */
  iouThreshold?: number;
  /** Bucket edges in input pixels; default {@link SIZE_EDGES}. */
  edges?: readonly number[];
}

/**
 * One ranked, non-ignored detection: `hit` is "tp" (took a free box), "dup" (its best box was taken) or null (no box
 * above the IoU threshold); `gtBucket` is the bucket of the box it hit (-1 for none), `own` the bucket of its own box.
 */
interface Ranked {
  hit: "tp" | "dup" | null;
  gtBucket: number;
  own: number;
  score: number;
}

/** Ranked outcomes of one class's detections per bucket, and the non-difficult boxes per bucket. */
function classOutcomes(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  classId: number,
  options: Required<Omit<BySizeOptions, "classes" | "displayThreshold">>,
): { npos: number[]; ranked: Ranked[] } {
  const { sideOf, iouThreshold, edges } = options;
  const nb = edges.length + 1;
  const npos = new Array<number>(nb).fill(0);
  const byImage = new Map<string, { boxes: Box[]; difficult: boolean[]; bucket: number[]; taken: boolean[] }>();
  for (const gt of gts) {
    const rec = { boxes: [] as Box[], difficult: [] as boolean[], bucket: [] as number[], taken: [] as boolean[] };
    gt.labels.forEach((label, i) => {
      if (label !== classId) return;
      const b = bucketOf(sideOf(gt.imageId, gt.boxes[i]), edges);
      rec.boxes.push(gt.boxes[i]);
      rec.difficult.push(gt.difficult[i]);
      rec.bucket.push(b);
      rec.taken.push(false);
      if (!gt.difficult[i]) npos[b]++;
    });
    byImage.set(gt.imageId, rec);
  }
  const mine = dets.filter((d) => d.label === classId);
  const ranked: Ranked[] = [];
  for (const i of rankByScore(mine)) {
    const det = mine[i];
    const rec = byImage.get(det.imageId);
    let best = -Infinity;
    let jBest = -1;
    if (rec) {
      for (let j = 0; j < rec.boxes.length; j++) {
        const iou = boxIou(det.box, rec.boxes[j]);
        if (iou > best) [best, jBest] = [iou, j];
      }
    }
    const own = bucketOf(sideOf(det.imageId, det.box), edges);
    if (rec && jBest >= 0 && best > iouThreshold) {
      if (rec.difficult[jBest]) continue;
      const hit = rec.taken[jBest] ? "dup" : "tp";
      rec.taken[jBest] = true;
      ranked.push({ hit, gtBucket: rec.bucket[jBest], own, score: det.score });
    } else ranked.push({ hit: null, gtBucket: -1, own, score: det.score });
  }
  return { npos, ranked };
}

/**
 * AP (all-point, VOC) and recall at the display threshold per class and size bucket, plus the number of
 * non-difficult ground-truth boxes per bucket; see the module notes for what is ignored in a bucket.
 *
 * ```ts
 * import { apBySize, type Box, INPUT_HEIGHT, INPUT_WIDTH } from "ssdv2";
 * const mask: Box = [0.1, 0.1, 0.3, 0.4], face: Box = [0.6, 0.2, 0.8, 0.5]; // normalised, 64x72 px at the input
 * const gts = [{ imageId: "img1", boxes: [mask, face], labels: [1, 2], difficult: [false, false] }];
 * const dets = [mask, face].map((box, i) => ({ imageId: "img1", box, label: 1, score: [0.9, 0.7][i] }));
 * const sideOf = (_id: string, [x1, y1, x2, y2]: Box) => Math.sqrt((x2 - x1) * INPUT_WIDTH * (y2 - y1) * INPUT_HEIGHT);
 * const classes = [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }];
 * const bucket = apBySize(gts, dets, { classes, sideOf }).buckets.find((b) => b.numGt > 0);
 * console.log(bucket?.name, bucket?.perClass); // "64-128" { face_mask: { numGt: 1, ap: 1, ... }, face: { ap: 0 } }
 * ```
 */
export function apBySize(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: BySizeOptions,
): BySizeResult {
  const displayThreshold = checkThreshold(options.displayThreshold ?? DEFAULT_DISPLAY_THRESHOLD, "displayThreshold");
  const iouThreshold = checkThreshold(options.iouThreshold ?? 0.5, "iouThreshold");
  const edges = options.edges ?? SIZE_EDGES;
  const defs = sizeBuckets(edges);
  const buckets: SizeBucket[] = defs.map((d) => ({
    name: d.name,
    lo: d.lo,
    hi: Number.isFinite(d.hi) ? d.hi : null,
    numGt: 0,
    perClass: {},
  }));
  for (const c of options.classes) {
    const { npos, ranked } = classOutcomes(gts, dets, c.id, { sideOf: options.sideOf, iouThreshold, edges });
    defs.forEach((_, b) => {
      const recall: number[] = [];
      const precision: number[] = [];
      let tp = 0;
      let fp = 0;
      let shownHits = 0;
      for (const r of ranked) {
        if (r.hit === "tp") {
          // A hit on a box of another bucket is a hit on an ignored box.
          if (r.gtBucket !== b) continue;
          tp++;
          if (r.score >= displayThreshold) shownHits++;
        } else {
          // A duplicate on a box of another bucket hit an ignored box; any other false positive counts only where
          // its own box lies.
          if ((r.hit === "dup" && r.gtBucket !== b) || r.own !== b) continue;
          fp++;
        }
        recall.push(npos[b] > 0 ? tp / npos[b] : 0);
        precision.push(tp / (tp + fp));
      }
      const entry: SizeBucketClass = {
        numGt: npos[b],
        ap: npos[b] > 0 ? apAllPoint(recall, precision) : null,
        recall: npos[b] > 0 ? shownHits / npos[b] : null,
      };
      buckets[b].perClass[c.name] = entry;
      buckets[b].numGt += npos[b];
    });
  }
  return { sizeDefinition: SIZE_DEFINITION, displayThreshold, iouThreshold, buckets };
}
