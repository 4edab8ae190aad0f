/**
 * What a deployed detector does at one score threshold: precision, recall and F1 per class (at the display
 * threshold and at the F1-best one) under the VOC matching of the AP, and a confusion matrix over the classes and
 * background.
 * @module
 */

import type { Box } from "../types.ts";
import { boxIou } from "./iou.ts";
import type {
  ClassOperatingPoints,
  ClassSpec,
  ConfusionMatrix,
  GroundTruthImage,
  ImageDetection,
  OperatingPoint,
  OperatingSummary,
  PrCurve,
} from "./types.ts";
import { rankByScore, vocCurve } from "./voc.ts";

/** The score threshold at which detections are drawn by default. */
export const DEFAULT_DISPLAY_THRESHOLD = 0.5;

/** Checks a score or IoU threshold, naming the option and the module in the error. */
export function checkThreshold(value: number, what: string): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new Error(`lib/metrics/operating.ts: ${what} must be a number, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An operating point from its counts; the rates are `null` where their denominators are 0. */
export function operatingPoint(threshold: number, tp: number, fp: number, npos: number): OperatingPoint {
  const fn = npos - tp;
  return {
    threshold,
    tp,
    fp,
    fn,
    precision: tp + fp > 0 ? tp / (tp + fp) : null,
    recall: npos > 0 ? tp / npos : null,
    f1: 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : null,
  };
}

/**
 * Operating points of one class read off its full (not thinned) VOC P-R curve. Keeping the detections with
 * `score >= t` keeps a prefix of the score ranking, and greedy matching of a prefix is the prefix of the full
 * matching, so the counts at any threshold are those of the curve at the last rank scoring `>= t` (detections on
 * `difficult` boxes are not in the curve: they count neither way).
 *
 * The F1-best threshold is searched over the scores of the ranked detections, only at the end of a run of equal
 * scores (a threshold cannot split a tie); on equal F1 the highest threshold wins (fewest detections shown).
 */
export function operatingPointsFromCurve(
  curve: PrCurve,
  displayThreshold: number = DEFAULT_DISPLAY_THRESHOLD,
): ClassOperatingPoints {
  checkThreshold(displayThreshold, "displayThreshold");
  const { npos, scores, precision } = curve;
  if (scores.length !== precision.length || "rankedDetections" in curve) {
    throw new Error(`lib/metrics/operating.ts: class ${curve.name}: needs the full P-R curve, not a thinned one`);
  }
  // precision[k] = tp / (k + 1) over the k + 1 ranked detections; tp is an integer, so rounding recovers it.
  const tpAt = (k: number) => Math.round(precision[k] * (k + 1));
  let last = -1;
  while (last + 1 < scores.length && scores[last + 1] >= displayThreshold) last++;
  const tpDisplay = last >= 0 ? tpAt(last) : 0;
  const display = operatingPoint(displayThreshold, tpDisplay, last + 1 - tpDisplay, npos);
  let best: OperatingPoint | null = null;
  let bestF1 = 0;
  for (let k = 0; k < scores.length; k++) {
    if (k + 1 < scores.length && scores[k + 1] === scores[k]) continue;
    const tp = tpAt(k);
    // 2 tp / (2 tp + fp + fn) with fp + fn = (k + 1 - tp) + (npos - tp).
    const f1 = tp > 0 ? (2 * tp) / (k + 1 + npos) : 0;
    if (f1 > bestF1) {
      bestF1 = f1;
      best = operatingPoint(scores[k], tp, k + 1 - tp, npos);
    }
  }
  return { npos, display, best };
}

/** Options of {@link operatingPoints} and {@link confusionMatrix}. */
export interface OperatingOptions {
  /** Classes to evaluate, in order (the confusion matrix's rows and columns). */
  classes: readonly ClassSpec[];
  /** Detections with `score >= displayThreshold` are kept; default 0.5. */
  displayThreshold?: number;
  /** A match needs IoU strictly above this (VOC); default 0.5. */
  iouThreshold?: number;
}

/**
 * Per-class operating points (see {@link operatingPointsFromCurve}) with the VOC matching of `vocCurve`: each
 * detection of the class, best score first, against the same-class box of its image that it overlaps most; IoU
 * above the threshold and box free -> true positive, box `difficult` -> ignored, otherwise false positive.
 *
 * ```ts
 * import { type Box, operatingPoints } from "ssdv2";
 * const mask: Box = [0.1, 0.1, 0.3, 0.4], face: Box = [0.6, 0.2, 0.8, 0.5]; // normalised, 64x72 px at the input
 * const gts = [{ imageId: "img1", boxes: [mask, face], labels: [1, 2], difficult: [false, false] }];
 * const dets = [mask, face].map((box, i) => ({ imageId: "img1", box, label: 1, score: [0.9, 0.7][i] }));
 * const classes = [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }];
 * const { perClass } = operatingPoints(gts, dets, { classes, displayThreshold: 0.5 });
 * console.log(perClass.face_mask.display); // { threshold: 0.5, tp: 1, fp: 1, fn: 0, precision: 0.5, recall: 1, ... }
 * console.log(perClass.face_mask.best?.threshold); // 0.9: showing only scores >= 0.9 drops the false alarm
 * ```
 */
export function operatingPoints(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: OperatingOptions,
): OperatingSummary {
  const displayThreshold = checkThreshold(options.displayThreshold ?? DEFAULT_DISPLAY_THRESHOLD, "displayThreshold");
  const iouThreshold = checkThreshold(options.iouThreshold ?? 0.5, "iouThreshold");
  const perClass: Record<string, ClassOperatingPoints> = {};
  for (const c of options.classes) {
    const curve = vocCurve(gts, dets, { classId: c.id, name: c.name, iouThreshold });
    perClass[c.name] = operatingPointsFromCurve(curve, displayThreshold);
  }
  return { displayThreshold, iouThreshold, perClass };
}

/**
 * Confusion matrix at the display threshold. Matching, image by image, class-agnostic:
 * 1. keep the detections with `score >= displayThreshold`, of any class, and rank them by score (ties keep input
 *    order, as in `rankByScore`);
 * 2. each detection in turn takes the ground-truth box of its image, of any class, not yet taken, that it overlaps
 *    most (first box on equal IoU), provided the IoU is strictly above `iouThreshold`;
 *    the pair counts once at (ground-truth class, predicted class);
 * 3. a detection whose best box is `difficult` counts nowhere (`ignoredDetections`) and takes nothing, as in VOC;
 * 4. a detection that takes nothing counts at (background, predicted class): a false alarm;
 * 5. each non-difficult box left untaken counts at (its class, background): a miss.
 * So row sums over the class rows are the non-difficult boxes of each class, and column sums over the class columns
 * are the kept detections of each class less the ignored ones. Unlike the per-class VOC matching, a detection here
 * may take a box of the other class (that is the confusion being measured) and never counts as a duplicate of a
 * taken box while a free one overlaps it enough.
 *
 * ```ts
 * import { type Box, confusionMatrix } from "ssdv2";
 * const mask: Box = [0.1, 0.1, 0.3, 0.4], face: Box = [0.6, 0.2, 0.8, 0.5]; // normalised, 64x72 px at the input
 * const gts = [{ imageId: "img1", boxes: [mask, face], labels: [1, 2], difficult: [false, false] }];
 * const dets = [mask, face].map((box, i) => ({ imageId: "img1", box, label: 1, score: [0.9, 0.7][i] }));
 * const classes = [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }];
 * const { labels, counts } = confusionMatrix(gts, dets, { classes }); // both detections say face_mask
 * console.log(labels, counts); // [ "face_mask", "face", "background" ] [ [ 1, 0, 0 ], [ 1, 0, 0 ], [ 0, 0, 0 ] ]
 * // Row face, column face_mask: the bare face was taken for a masked one; no miss, no false alarm.
 * ```
 */
export function confusionMatrix(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: OperatingOptions,
): ConfusionMatrix {
  const displayThreshold = checkThreshold(options.displayThreshold ?? DEFAULT_DISPLAY_THRESHOLD, "displayThreshold");
  const iouThreshold = checkThreshold(options.iouThreshold ?? 0.5, "iouThreshold");
  const index = new Map(options.classes.map((c, i) => [c.id, i]));
  const bg = options.classes.length;
  const labels = [...options.classes.map((c) => c.name), "background"];
  const counts = labels.map(() => labels.map(() => 0));
  const indexOf = (label: number, where: string) => {
    const i = index.get(label);
    if (i === undefined) {
      throw new Error(`lib/metrics/operating.ts: ${where}: label ${label} is not an evaluated class`);
    }
    return i;
  };
  const kept = new Map<string, ImageDetection[]>();
  for (const d of dets) {
    if (!(d.score >= displayThreshold)) continue;
    const list = kept.get(d.imageId);
    if (list) list.push(d);
    else kept.set(d.imageId, [d]);
  }
  let ignoredDetections = 0;
  const seen = new Set<string>();
  for (const gt of gts) {
    seen.add(gt.imageId);
    const boxes: Box[] = gt.boxes;
    const taken = boxes.map(() => false);
    const mine = kept.get(gt.imageId) ?? [];
    for (const k of rankByScore(mine)) {
      const det = mine[k];
      const p = indexOf(det.label, `detection on image "${det.imageId}"`);
      let best = -Infinity;
      let jBest = -1;
      for (let j = 0; j < boxes.length; j++) {
        if (taken[j]) continue;
        const iou = boxIou(det.box, boxes[j]);
        if (iou > best) [best, jBest] = [iou, j];
      }
      if (jBest >= 0 && best > iouThreshold) {
        if (gt.difficult[jBest]) {
          ignoredDetections++;
          continue;
        }
        taken[jBest] = true;
        counts[indexOf(gt.labels[jBest], `ground truth of image "${gt.imageId}"`)][p]++;
      } else counts[bg][p]++;
    }
    gt.labels.forEach((label, j) => {
      if (!taken[j] && !gt.difficult[j]) counts[indexOf(label, `ground truth of image "${gt.imageId}"`)][bg]++;
    });
  }
  // Detections on images without ground truth (evaluate() rejects them) are false alarms.
  for (const [imageId, list] of kept) {
    if (seen.has(imageId)) continue;
    for (const d of list) counts[bg][indexOf(d.label, `detection on image "${imageId}"`)]++;
  }
  return { labels, counts, displayThreshold, iouThreshold, ignoredDetections };
}
