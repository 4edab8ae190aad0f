/**
 * COCO-style box AP as pycocotools computes it (`COCOeval.evaluateImg` + `accumulate` + `summarize`) for boxes
 * without segmentation: a box's area is its width x height.
 * @module
 */

import type { Box } from "../types.ts";
import { boxIou } from "./iou.ts";
import type { CocoSummary, GroundTruthImage, ImageDetection } from "./types.ts";
import { rankByScore } from "./voc.ts";

/** IoU thresholds 0.50:0.05:0.95, computed as numpy's `linspace(.5, .95, 10)` does (start + i * step). */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from(
  { length: 10 },
  (_, i) => i === 9 ? 0.95 : 0.5 + i * ((0.95 - 0.5) / 9),
);

/** The 101 recall points 0:0.01:1, as numpy's `linspace(0, 1, 101)`. */
export const COCO_RECALL_POINTS: readonly number[] = Array.from({ length: 101 }, (_, i) => i === 100 ? 1 : i * 0.01);

/** COCO's area ranges in squared pixels; both ends inclusive, as in pycocotools. */
export const COCO_AREA_RANGES: Readonly<Record<"all" | "small" | "medium" | "large", readonly [number, number]>> = {
  all: [0, 1e10],
  small: [0, 32 ** 2],
  medium: [32 ** 2, 96 ** 2],
  large: [96 ** 2, 1e10],
};

/** Options of {@link cocoScores}. */
export interface CocoScoreOptions {
  /** Class ids to evaluate; the summary averages over those with ground truth. */
  classIds: readonly number[];
  /**
   * Area in squared pixels of a box of the given image, for the size split. Without it the split is `null`.
   * Defaults to none.
   */
  areaOf?: (imageId: string, box: Box) => number;
  /** Detections kept per image and class, best first (pycocotools: 100). */
  maxDets?: number;
}

type AreaKey = keyof typeof COCO_AREA_RANGES;

/** Per-class AP for each IoU threshold and area range: `null` where the class has no ground truth there. */
export type CocoClassTable = Record<AreaKey, (number | null)[]>;

/**
 * AP of one class, averaged over the 101 recall points, for each IoU threshold and area range.
 * Ground truth marked `difficult` is treated as pycocotools treats `ignore`: a detection matched to it counts
 * neither way. Detections on images not in `gts` are not evaluated.
 */
export function cocoClassTable(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: { classId: number; areaOf?: (imageId: string, box: Box) => number; maxDets?: number },
): CocoClassTable {
  const { classId, areaOf } = options;
  const maxDets = options.maxDets ?? 100;
  const areaKeys: AreaKey[] = areaOf ? ["all", "small", "medium", "large"] : ["all"];
  const T = COCO_IOU_THRESHOLDS.length;
  const detsByImage = new Map<string, ImageDetection[]>();
  for (const d of dets) {
    if (d.label !== classId) continue;
    const list = detsByImage.get(d.imageId);
    if (list) list.push(d);
    else detsByImage.set(d.imageId, [d]);
  }
  // Per area range and threshold: match flag and ignore flag of every kept detection, in concatenation order.
  const matched = new Map<AreaKey, boolean[][]>(areaKeys.map((k) => [k, COCO_IOU_THRESHOLDS.map(() => [])]));
  const ignored = new Map<AreaKey, boolean[][]>(areaKeys.map((k) => [k, COCO_IOU_THRESHOLDS.map(() => [])]));
  const npig = new Map<AreaKey, number>(areaKeys.map((k) => [k, 0]));
  const scores: number[] = [];
  for (const gt of gts) {
    const gBoxes: Box[] = [];
    const gDifficult: boolean[] = [];
    gt.labels.forEach((label, i) => {
      if (label === classId) {
        gBoxes.push(gt.boxes[i]);
        gDifficult.push(gt.difficult[i]);
      }
    });
    const all = detsByImage.get(gt.imageId) ?? [];
    const d = rankByScore(all).slice(0, maxDets).map((i) => all[i]);
    if (gBoxes.length === 0 && d.length === 0) continue;
    for (const det of d) scores.push(det.score);
    const ious = d.map((det) => gBoxes.map((g) => boxIou(det.box, g)));
    const gArea = areaOf ? gBoxes.map((b) => areaOf(gt.imageId, b)) : [];
    const dArea = areaOf ? d.map((det) => areaOf(gt.imageId, det.box)) : [];
    for (const key of areaKeys) {
      const [lo, hi] = COCO_AREA_RANGES[key];
      const gIg = gBoxes.map((_, g) => gDifficult[g] || (key !== "all" && (gArea[g] < lo || gArea[g] > hi)));
      npig.set(key, npig.get(key)! + gIg.filter((x) => !x).length);
      // pycocotools visits non-ignored ground truth first (stable order).
      const gOrder = gBoxes.map((_, g) => g).sort((a, b) => Number(gIg[a]) - Number(gIg[b]) || a - b);
      for (let t = 0; t < T; t++) {
        const taken = gBoxes.map(() => false);
        for (let k = 0; k < d.length; k++) {
          let best = Math.min(COCO_IOU_THRESHOLDS[t], 1 - 1e-10);
          let m = -1;
          for (const g of gOrder) {
            if (taken[g]) continue;
            if (m > -1 && !gIg[m] && gIg[g]) break;
            if (ious[k][g] < best) continue;
            best = ious[k][g];
            m = g;
          }
          if (m > -1) taken[m] = true;
          const outside = key !== "all" && (dArea[k] < lo || dArea[k] > hi);
          matched.get(key)![t].push(m > -1);
          ignored.get(key)![t].push(m > -1 ? gIg[m] : outside);
        }
      }
    }
  }
  const order = rankByScore(scores.map((score) => ({ score })));
  const table = {} as CocoClassTable;
  for (const key of (["all", "small", "medium", "large"] as AreaKey[])) {
    table[key] = COCO_IOU_THRESHOLDS.map(() => null);
    const n = npig.get(key);
    if (n === undefined || n === 0) continue;
    for (let t = 0; t < T; t++) {
      const m = matched.get(key)![t];
      const ig = ignored.get(key)![t];
      const rc: number[] = [];
      const pr: number[] = [];
      let tp = 0;
      let fp = 0;
      for (const i of order) {
        if (ig[i]) continue;
        if (m[i]) tp++;
        else fp++;
        rc.push(tp / n);
        pr.push(tp / (tp + fp));
      }
      for (let i = pr.length - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
      let sum = 0;
      let j = 0;
      for (const r of COCO_RECALL_POINTS) {
        while (j < rc.length && rc[j] < r) j++;
        if (j < rc.length) sum += pr[j];
      }
      table[key][t] = sum / COCO_RECALL_POINTS.length;
    }
  }
  return table;
}

function mean(values: (number | null)[]): number | null {
  const kept = values.filter((v): v is number => v !== null);
  return kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : null;
}

/**
 * COCO summary over classes: AP@[.5:.95], AP@.5, AP@.75 and AP@[.5:.95] per size range, each the mean over the
 * classes (and thresholds) that have ground truth, as `COCOeval.summarize` takes the mean of entries > -1.
 * `maxDets` applies per image and class, as in pycocotools.
 */
export function cocoScores(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: CocoScoreOptions,
): CocoSummary {
  const tables = options.classIds.map((classId) =>
    cocoClassTable(gts, dets, { classId, areaOf: options.areaOf, maxDets: options.maxDets })
  );
  const i75 = 5;
  return {
    ap: mean(tables.flatMap((t) => t.all)),
    ap50: mean(tables.map((t) => t.all[0])),
    ap75: mean(tables.map((t) => t.all[i75])),
    small: mean(tables.flatMap((t) => t.small)),
    medium: mean(tables.flatMap((t) => t.medium)),
    large: mean(tables.flatMap((t) => t.large)),
  };
}
