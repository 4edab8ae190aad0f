/**
 * Detection metrics on plain data: VOC AP (all-point and 11-point) with P-R curves, COCO-style AP with the size
 * split, and COCO JSON interchange.
 * @module
 */

export type {
  ClassSpec,
  CocoSummary,
  EvalResult,
  GroundTruthImage,
  ImageDetection,
  ImageSize,
  PrCurve,
  VocClassAp,
} from "./types.ts";
export { boxArea, boxIou } from "./iou.ts";
export { ap11Point, apAllPoint, prCornerIndices, rankByScore, thinPrCurve, vocCurve } from "./voc.ts";
export type { VocCurveOptions } from "./voc.ts";
export { COCO_AREA_RANGES, COCO_IOU_THRESHOLDS, COCO_RECALL_POINTS, cocoClassTable, cocoEvaluate } from "./coco.ts";
export type { CocoClassTable, CocoEvalOptions } from "./coco.ts";
export { DEFAULT_CLASSES, evaluate, metricsSummary, validateEvalInput } from "./evaluate.ts";
export type { EvaluateOptions } from "./evaluate.ts";
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
  ToCocoOptions,
} from "./coco_json.ts";
