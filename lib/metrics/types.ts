/**
 * Plain data types of the evaluator: ground truth and detections keyed by image, P-R curves and results.
 * Nothing here needs tensors, so notebooks, CLIs and tests share them.
 * @module
 */

import type { Box } from "../types.ts";

/** Ground truth of one image; `boxes`, `labels` and `difficult` are parallel arrays. */
export interface GroundTruthImage {
  /** Identifier that detections refer to. */
  imageId: string;
  /** Corner boxes `[x1, y1, x2, y2]`, normalised or in pixels (see {@link ScoreOptions.coordinates}). */
  boxes: Box[];
  /** Class id of each box. */
  labels: number[];
  /** VOC `difficult` flag of each box: such boxes count neither as hits nor as misses. */
  difficult: boolean[];
}

/** One detection, tied to its image. */
export interface ImageDetection {
  /** Image the detection belongs to; must be one of the ground-truth image ids. */
  imageId: string;
  /** Corner box in the same coordinates as the ground truth. */
  box: Box;
  /** Class id. */
  label: number;
  /** Confidence; higher ranks first. */
  score: number;
}

/** Width and height of an image in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/** A class to evaluate: its id in `labels` and the name used as key in results. */
export interface ClassSpec {
  id: number;
  name: string;
}

/**
 * Precision/recall of one class, one point per ranked detection (detections that hit a `difficult` box are left
 * out: they change neither count). `interpolated[i]` is the best precision at recall `recall[i]` or above.
 */
export interface PrCurve {
  /** Class name. */
  name: string;
  /** Number of non-difficult ground-truth boxes of the class. */
  npos: number;
  /** Score of each ranked detection. */
  scores: number[];
  /** Recall after each ranked detection. */
  recall: number[];
  /** Precision after each ranked detection. */
  precision: number[];
  /** Monotone precision envelope, same length as `precision`. */
  interpolated: number[];
  /** All-point AP (VOC2010+), `null` when the class has no non-difficult ground truth. */
  ap: number | null;
  /** 11-point AP (VOC2007), `null` when the class has no non-difficult ground truth. */
  ap11: number | null;
}

/**
 * COCO-style summary. `null` means undefined: no ground truth in that size range, or the image sizes needed to
 * measure areas in these pixels were not given.
 */
export interface CocoSummary {
  /** AP averaged over IoU 0.50:0.05:0.95. */
  ap: number | null;
  /** AP at IoU 0.5. */
  ap50: number | null;
  /** AP at IoU 0.75. */
  ap75: number | null;
  /** AP@[.5:.95] for boxes of area below 32x32. */
  small: number | null;
  /** AP@[.5:.95] for boxes of area between 32x32 and 96x96. */
  medium: number | null;
  /** AP@[.5:.95] for boxes of area above 96x96. */
  large: number | null;
}

/** VOC AP of one class. */
export interface VocClassAp {
  ap: number | null;
  ap11: number | null;
}

/**
 * Counts and rates of one class when only detections scoring at or above `threshold` are shown, under the VOC
 * matching of the AP (IoU strictly above the IoU threshold, greedy by score, `difficult` boxes count neither way).
 */
export interface OperatingPoint {
  /** Score threshold: detections with `score >= threshold` are kept. */
  threshold: number;
  /** Kept detections that hit a free non-difficult box. */
  tp: number;
  /** Kept detections that hit nothing or a box already taken. */
  fp: number;
  /** Non-difficult boxes no kept detection hit. */
  fn: number;
  /** `tp / (tp + fp)`; `null` when nothing is kept. */
  precision: number | null;
  /** `tp / (tp + fn)`; `null` when the class has no non-difficult ground truth. */
  recall: number | null;
  /** `2 tp / (2 tp + fp + fn)` (the harmonic mean of precision and recall); `null` when all three counts are 0. */
  f1: number | null;
}

/** Operating points of one class: at the display threshold and at the threshold that maximises F1. */
export interface ClassOperatingPoints {
  /** Number of non-difficult ground-truth boxes of the class. */
  npos: number;
  /** At the display threshold. */
  display: OperatingPoint;
  /**
   * At the F1-best threshold (one of the detections' scores; the highest such score on ties); `null` when no
   * threshold yields a true positive (no ground truth, or no hit at all).
   */
  best: OperatingPoint | null;
}

/** Per-class operating points of an evaluation. */
export interface OperatingSummary {
  /** Score threshold of the `display` points. */
  displayThreshold: number;
  /** IoU threshold of the matching (a hit needs IoU strictly above it). */
  iouThreshold: number;
  /** Keyed by class name. */
  perClass: Record<string, ClassOperatingPoints>;
}

/**
 * Confusion matrix of detections kept at the display threshold against ground truth (see
 * `lib/metrics/operating.ts` `confusionMatrix` for the matching). `counts[i][j]` counts pairs with ground-truth
 * label `labels[i]` and predicted label `labels[j]`; the last label is `background`: row `background` holds
 * detections that match no ground truth, column `background` the ground truth that no detection matched.
 */
export interface ConfusionMatrix {
  /** Class names in class order, then `background`. */
  labels: string[];
  /** Rows: ground-truth label; columns: predicted label. `counts[background][background]` is always 0. */
  counts: number[][];
  /** Score threshold of the kept detections. */
  displayThreshold: number;
  /** IoU threshold (a match needs IoU strictly above it). */
  iouThreshold: number;
  /** Kept detections left out because they matched a `difficult` box. */
  ignoredDetections: number;
}

/** One class in one size bucket. */
export interface SizeBucketClass {
  /** Non-difficult ground-truth boxes of the class in the bucket. */
  numGt: number;
  /** VOC all-point AP with everything outside the bucket ignored; `null` when `numGt` is 0. */
  ap: number | null;
  /** Recall at the display threshold; `null` when `numGt` is 0. */
  recall: number | null;
}

/** One size bucket: `lo <= size < hi`, size = sqrt(w * h) of the box scaled to the 320x240 input, in pixels. */
export interface SizeBucket {
  /** Bucket name, e.g. `"16-32"`. */
  name: string;
  /** Lower edge (inclusive), input pixels. */
  lo: number;
  /** Upper edge (exclusive), input pixels; `null` for the open last bucket (JSON has no Infinity). */
  hi: number | null;
  /** Non-difficult ground-truth boxes of all classes in the bucket. */
  numGt: number;
  /** Keyed by class name. */
  perClass: Record<string, SizeBucketClass>;
}

/** AP and recall by face size (see `lib/metrics/by_size.ts`). */
export interface BySizeResult {
  /** What "size" means. */
  sizeDefinition: string;
  /** Score threshold of the recall columns. */
  displayThreshold: number;
  /** IoU threshold of the matching (a hit needs IoU strictly above it). */
  iouThreshold: number;
  /** The buckets, smallest first. */
  buckets: SizeBucket[];
}

/** Everything {@link evaluate} measures; `metricsSummary` keeps the fields of a run's metrics.json. */
export interface EvalResult {
  /** VOC AP per class name at {@link EvalResult.iouThreshold}. */
  voc: Record<string, VocClassAp>;
  /** Mean all-point AP over classes that have ground truth. */
  map: number | null;
  /** Mean 11-point AP over classes that have ground truth. */
  map11: number | null;
  /** COCO-style AP, size split in the pixels of the boxes as given. */
  coco: CocoSummary;
  /** COCO-style AP, size split for boxes scaled to the 240x320 model input. */
  cocoInput: CocoSummary;
  /** P-R curve per class name (VOC matching). */
  pr: Record<string, PrCurve>;
  /** Precision, recall and F1 per class at the display threshold and at the F1-best threshold. */
  operating: OperatingSummary;
  /** Confusion matrix over the classes and background at the display threshold. */
  confusion: ConfusionMatrix;
  /**
   * VOC AP and recall per face-size bucket at the model input; `null` for pixel boxes without image sizes, whose
   * size at the input is unknown.
   */
  bySize: BySizeResult | null;
  /** IoU threshold of the VOC part. */
  iouThreshold: number;
  /** Number of ground-truth images. */
  numImages: number;
  /** Number of detections evaluated. */
  numDetections: number;
}
