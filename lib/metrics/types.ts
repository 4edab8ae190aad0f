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
  /** Corner boxes `[x1, y1, x2, y2]`, normalised or in pixels (see {@link EvaluateOptions.coordinates}). */
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

/** Everything {@link evaluate} measures. {@link metricsSummary} keeps the fields of the CLI's JSON. */
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
  /** IoU threshold of the VOC part. */
  iouThreshold: number;
  /** Number of ground-truth images. */
  numImages: number;
  /** Number of detections evaluated. */
  numDetections: number;
}
