/**
 * Detection metrics on plain data: VOC AP (all-point and 11-point) with P-R curves, COCO-style AP with the size
 * split, operating points (precision / recall / F1 at a score threshold), the confusion matrix, AP and recall by face
 * size, and COCO JSON interchange.
 * @module
 */

export type {
  BySizeResult,
  ClassOperatingPoints,
  ClassSpec,
  CocoSummary,
  ConfusionMatrix,
  EvalResult,
  GroundTruthImage,
  ImageDetection,
  ImageSize,
  OperatingPoint,
  OperatingSummary,
  PrCurve,
  SizeBucket,
  SizeBucketClass,
  VocClassAp,
} from "./types.ts";
export { boxArea, boxIou } from "./iou.ts";
export { ap11Point, apAllPoint, prCornerIndices, rankByScore, thinPrCurve, vocCurve } from "./voc.ts";
export type { VocCurveOptions } from "./voc.ts";
export { COCO_AREA_RANGES, COCO_IOU_THRESHOLDS, COCO_RECALL_POINTS, cocoClassTable, cocoScores } from "./coco.ts";
export type { CocoClassTable, CocoScoreOptions } from "./coco.ts";
export {
  checkThreshold,
  confusionMatrix,
  DEFAULT_DISPLAY_THRESHOLD,
  operatingPoint,
  operatingPoints,
  operatingPointsFromCurve,
} from "./operating.ts";
export type { OperatingOptions } from "./operating.ts";
export { apBySize, bucketOf, normalisedInputSide, SIZE_DEFINITION, SIZE_EDGES, sizeBuckets } from "./by_size.ts";
export type { BySizeOptions } from "./by_size.ts";
export { apSummary, DEFAULT_CLASSES, metricsSummary, scoreDetections, validateEvalInput } from "./score.ts";
export type { ScoreOptions } from "./score.ts";
export {
  parseCocoDetections,
  parseCocoGroundTruth,
  readCocoDetections,
  readCocoGroundTruth,
  toCocoDetections,
  toCocoGroundTruth,
} from "./coco_json.ts";
export type {
  CocoAnnotation,
  CocoCategory,
  CocoDetectionJson,
  CocoGroundTruth,
  CocoGroundTruthJson,
  CocoImage,
  ToCocoGroundTruthOptions,
  ToCocoOptions,
} from "./coco_json.ts";
