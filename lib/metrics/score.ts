/**
 * One call that evaluates detections against ground truth: VOC AP per class (all-point and 11-point), P-R curves,
 * COCO-style AP with the size split both in the pixels of the boxes as given and at the 240x320 model input, and
 * what a deployer asks for: precision / recall / F1 at the display threshold and at the F1-best one, the confusion
 * matrix over the classes and background, and VOC AP and recall by face size at the model input.
 * @module
 */

import { CLASS_NAMES, INPUT_HEIGHT, INPUT_WIDTH } from "../types.ts";
import type { Box } from "../types.ts";
import { apBySize } from "./by_size.ts";
import { cocoScores } from "./coco.ts";
import { boxArea } from "./iou.ts";
import { checkThreshold, confusionMatrix, DEFAULT_DISPLAY_THRESHOLD, operatingPointsFromCurve } from "./operating.ts";
import type {
  ClassSpec,
  CocoSummary,
  EvalResult,
  GroundTruthImage,
  ImageDetection,
  ImageSize,
  OperatingSummary,
  VocClassAp,
} from "./types.ts";
import { vocCurve } from "./voc.ts";

/** Options of {@link scoreDetections}. */
export interface ScoreOptions {
  /** Classes to evaluate; defaults to the object classes of `CLASS_NAMES` (ids 1 and 2). */
  classes?: readonly ClassSpec[];
  /** Whether boxes are normalised to [0, 1] (the library's convention, the default) or in pixels. */
  coordinates?: "normalised" | "pixels";
  /**
   * Pixel size of each image, keyed by image id. Needed for the size split of normalised boxes in original pixels
   * and of pixel boxes at the model input; without it that split is `null`.
   */
  imageSizes?: Readonly<Record<string, ImageSize>> | ReadonlyMap<string, ImageSize>;
  /** VOC IoU threshold (a hit needs IoU strictly above it); default 0.5. */
  iouThreshold?: number;
  /**
   * Score at or above which a detection is shown: the threshold of the `display` operating points, of the
   * confusion matrix and of the recall by size; default 0.5.
   */
  displayThreshold?: number;
  /** COCO detections kept per image and class; default 100. */
  maxDets?: number;
  /** Names the data in error messages (a file path, say); default "evaluate". */
  source?: string;
}

/** The classes of the face-mask detector: `face_mask` (1) and `face` (2). */
export const DEFAULT_CLASSES: readonly ClassSpec[] = CLASS_NAMES.slice(1).map((name, i) => ({ id: i + 1, name }));

function checkBox(box: unknown, where: string): asserts box is Box {
  if (!Array.isArray(box) || box.length !== 4 || !box.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw new Error(`${where}: box must be four finite numbers, got ${JSON.stringify(box)}`);
  }
  if (box[2] < box[0] || box[3] < box[1]) {
    throw new Error(`${where}: box ${JSON.stringify(box)} has x2 < x1 or y2 < y1 (corner form [x1, y1, x2, y2])`);
  }
}

/** Checks ground truth and detections, throwing an error that names the source, the item and the problem. */
export function validateEvalInput(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: { classes?: readonly ClassSpec[]; source?: string } = {},
): void {
  const src = options.source ?? "evaluate";
  const classIds = new Set((options.classes ?? DEFAULT_CLASSES).map((c) => c.id));
  const ids = new Set<string>();
  gts.forEach((gt, i) => {
    const where = `${src}: ground truth ${i} (image "${gt?.imageId}")`;
    if (typeof gt?.imageId !== "string") throw new Error(`${src}: ground truth ${i}: imageId must be a string`);
    if (ids.has(gt.imageId)) throw new Error(`${where}: image id appears twice`);
    ids.add(gt.imageId);
    if (!Array.isArray(gt.boxes) || !Array.isArray(gt.labels) || !Array.isArray(gt.difficult)) {
      throw new Error(`${where}: boxes, labels and difficult must be arrays`);
    }
    if (gt.labels.length !== gt.boxes.length || gt.difficult.length !== gt.boxes.length) {
      throw new Error(
        `${where}: ${gt.boxes.length} boxes but ${gt.labels.length} labels and ${gt.difficult.length} difficult flags`,
      );
    }
    gt.boxes.forEach((b, j) => checkBox(b, `${where} box ${j}`));
    gt.labels.forEach((l, j) => {
      if (!classIds.has(l)) throw new Error(`${where} box ${j}: label ${l} is not one of ${[...classIds]}`);
    });
  });
  dets.forEach((d, i) => {
    const where = `${src}: detection ${i}`;
    if (!ids.has(d?.imageId)) throw new Error(`${where}: image id "${d?.imageId}" is not in the ground truth`);
    checkBox(d.box, where);
    if (!classIds.has(d.label)) throw new Error(`${where}: label ${d.label} is not one of ${[...classIds]}`);
    if (typeof d.score !== "number" || Number.isNaN(d.score)) throw new Error(`${where}: score must be a number`);
  });
}

function sizeLookup(
  sizes: ScoreOptions["imageSizes"],
  src: string,
): ((imageId: string) => ImageSize) | undefined {
  if (!sizes) return undefined;
  const get = sizes instanceof Map
    ? (id: string) => sizes.get(id)
    : (id: string) => (sizes as Record<string, ImageSize>)[id];
  return (id: string) => {
    const s = get(id);
    if (!s || !(s.width > 0) || !(s.height > 0)) {
      throw new Error(`${src}: no valid image size (width, height > 0) for image "${id}"`);
    }
    return s;
  };
}

/**
 * Evaluates `dets` against `gts`: VOC AP per class at IoU 0.5 (all-point and 11-point) with P-R curves, mAP over
 * classes that have ground truth, COCO-style AP, operating points, the confusion matrix and AP / recall by face
 * size at the model input (`null` for pixel boxes without image sizes). Throws on malformed input, naming the item.
 *
 * ```ts
 * import { type Box, scoreDetections } from "ssdv2";
 * const mask: Box = [0.1, 0.1, 0.3, 0.4], face: Box = [0.6, 0.2, 0.8, 0.5]; // normalised, 64x72 px at the input
 * const gts = [{ imageId: "img1", boxes: [mask, face], labels: [1, 2], difficult: [false, false] }];
 * const dets = [mask, face].map((box, i) => ({ imageId: "img1", box, label: 1, score: [0.9, 0.7][i] }));
 * // Both detections say face_mask: the first is right, the second takes the bare face for a masked one.
 * const result = scoreDetections(gts, dets); // normalised boxes, classes face_mask (1) and face (2)
 * console.log(result.map, result.voc); // 0.5 { face_mask: { ap: 1, ap11: 1 }, face: { ap: 0, ap11: 0 } }
 * ```
 */
export function scoreDetections(
  gts: readonly GroundTruthImage[],
  dets: readonly ImageDetection[],
  options: ScoreOptions = {},
): EvalResult {
  const src = options.source ?? "evaluate";
  const classes = options.classes ?? DEFAULT_CLASSES;
  validateEvalInput(gts, dets, { classes, source: src });
  const iouThreshold = options.iouThreshold ?? 0.5;
  const displayThreshold = checkThreshold(options.displayThreshold ?? DEFAULT_DISPLAY_THRESHOLD, "displayThreshold");
  const voc: Record<string, VocClassAp> = {};
  const pr: EvalResult["pr"] = {};
  for (const c of classes) {
    const curve = vocCurve(gts, dets, { classId: c.id, name: c.name, iouThreshold });
    pr[c.name] = curve;
    voc[c.name] = { ap: curve.ap, ap11: curve.ap11 };
  }
  const mean = (xs: (number | null)[]) => {
    const kept = xs.filter((x): x is number => x !== null);
    return kept.length ? kept.reduce((a, b) => a + b, 0) / kept.length : null;
  };
  const size = sizeLookup(options.imageSizes, src);
  const normalised = (options.coordinates ?? "normalised") === "normalised";
  const inputScale = INPUT_WIDTH * INPUT_HEIGHT;
  let givenArea: ((id: string, b: Box) => number) | undefined;
  let inputArea: ((id: string, b: Box) => number) | undefined;
  if (normalised) {
    inputArea = (_id, b) => boxArea(b) * inputScale;
    if (size) givenArea = (id, b) => boxArea(b) * size(id).width * size(id).height;
  } else {
    givenArea = (_id, b) => boxArea(b);
    if (size) inputArea = (id, b) => boxArea(b) * inputScale / (size(id).width * size(id).height);
  }
  const classIds = classes.map((c) => c.id);
  const coco: CocoSummary = cocoScores(gts, dets, { classIds, areaOf: givenArea, maxDets: options.maxDets });
  // The size-independent parts are the same in both; only the split needs the second pass.
  const split = cocoScores(gts, dets, { classIds, areaOf: inputArea, maxDets: options.maxDets });
  const operating: OperatingSummary = { displayThreshold, iouThreshold, perClass: {} };
  for (const c of classes) operating.perClass[c.name] = operatingPointsFromCurve(pr[c.name], displayThreshold);
  const confusion = confusionMatrix(gts, dets, { classes, displayThreshold, iouThreshold });
  const areaAtInput = inputArea;
  const bySize = areaAtInput
    ? apBySize(gts, dets, {
      classes,
      sideOf: (id, b) => Math.sqrt(areaAtInput(id, b)),
      displayThreshold,
      iouThreshold,
    })
    : null;
  return {
    voc,
    map: mean(classes.map((c) => voc[c.name].ap)),
    map11: mean(classes.map((c) => voc[c.name].ap11)),
    coco,
    cocoInput: split,
    pr,
    operating,
    confusion,
    bySize,
    iouThreshold,
    numImages: gts.length,
    numDetections: dets.length,
  };
}

/** The AP numbers alone, `{ voc, map, map11, coco }`: the JSON object that `deno task metrics` prints. */
export function apSummary(result: EvalResult): Pick<EvalResult, "voc" | "map" | "map11" | "coco"> {
  return { voc: result.voc, map: result.map, map11: result.map11, coco: result.coco };
}

/**
 * The metrics a run's metrics.json keeps: {@link apSummary} plus the operating points, the confusion matrix and
 * the by-size table (small objects; the P-R curves stay out).
 */
export function metricsSummary(
  result: EvalResult,
): Pick<EvalResult, "voc" | "map" | "map11" | "coco" | "operating" | "confusion" | "bySize"> {
  return { ...apSummary(result), operating: result.operating, confusion: result.confusion, bySize: result.bySize };
}
