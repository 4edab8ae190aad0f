/**
 * Evaluation of a model on a split: batched forward passes over images decoded ahead by lib/data's loader,
 * decoding and NMS through lib/inference's `predictDetections` (the path `deno task detect` takes too), then VOC/COCO
 * metrics (lib/metrics). It times the pure forward pass apart from
 * the whole evaluation so a run can show that per-image overhead does not dominate (issue 5, point 7).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Detection } from "../types.ts";
import { Rng } from "../util/rng.ts";
import { predictDetections } from "../inference/mod.ts";
import type { EvalResult, GroundTruthImage, ImageDetection, ImageSize } from "../metrics/mod.ts";
import { scoreDetections } from "../metrics/mod.ts";
import type { DataRecord } from "../data/dataset.ts";
import { batches } from "../data/loader.ts";
import type { RunConfig } from "../runs/config.ts";

/** Options of {@link evaluateModel}. */
export interface EvaluateModelOptions {
  /** Priors of the model, normalised centre form. */
  priors: Float32Array;
  /** Images per forward pass. */
  batchSize: number;
  scoreThreshold: number;
  nmsIou: number;
  topK: number;
  /** Candidates per class entering NMS. */
  preNmsTopK: number;
  /** VOC IoU threshold. */
  iouThreshold: number;
  /** Batches decoded ahead of the forward pass; default 2. */
  prefetch?: number;
  /** Called after each batch with images done and total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The {@link evaluateModel} options a run's config asks for: its `eval` block (batch size, score threshold, NMS IoU,
 * top-k, VOC IoU) and `data.prefetch`, so every evaluation of a run (training, re-evaluation, notebooks) agrees.
 */
export function evalOptionsOf(config: Pick<RunConfig, "eval" | "data">, priors: Float32Array): EvaluateModelOptions {
  return {
    priors,
    batchSize: config.eval.batchSize,
    scoreThreshold: config.eval.scoreThreshold,
    nmsIou: config.eval.nmsIou,
    topK: config.eval.topK,
    preNmsTopK: config.eval.preNmsTopK,
    iouThreshold: config.eval.iouThreshold,
    prefetch: config.data.prefetch,
  };
}

/** Timing of one evaluation. */
export interface EvalSpeed {
  images: number;
  /** Wall time of the whole evaluation: decoding, forward, NMS and metrics. */
  seconds: number;
  /** Time inside the forward pass (including reading its outputs back). */
  forwardSeconds: number;
  /** Time in decoding + NMS. */
  decodeSeconds: number;
  evalImgPerSec: number;
  forwardImgPerSec: number;
  /** `seconds / forwardSeconds`: 1 means evaluation costs no more than the forward pass. */
  overheadRatio: number;
}

/** What {@link evaluateModel} returns. */
export interface ModelEvaluation {
  result: EvalResult;
  /** Detections (normalised corner boxes) per image id. */
  detections: Map<string, Detection[]>;
  speed: EvalSpeed;
  /** Images the loader could not read (named in `skippedIds`); they count as images without detections. */
  skippedIds: string[];
}

/** Ground truth of records in the evaluator's form. */
export function groundTruthOf(records: readonly DataRecord[]): GroundTruthImage[] {
  return records.map((r) => ({ imageId: r.id, boxes: r.boxes, labels: r.labels, difficult: r.difficult }));
}

/** Runs the model over `records` in batches and evaluates its detections. */
export async function evaluateModel(
  model: tf.LayersModel,
  records: DataRecord[],
  options: EvaluateModelOptions,
): Promise<ModelEvaluation> {
  if (records.length === 0) throw new Error("evaluateModel: no records to evaluate");
  const start = performance.now();
  const detections = new Map<string, Detection[]>();
  let forwardSeconds = 0;
  let decodeSeconds = 0;
  let done = 0;
  const iterator = batches(records, {
    batchSize: options.batchSize,
    shuffle: false,
    augment: false,
    rng: new Rng(0),
    prefetch: options.prefetch ?? 2,
  });
  for await (const batch of iterator) {
    const b = batch.ids.length;
    const predicted = await predictDetections(model, batch.images, options.priors, options);
    forwardSeconds += predicted.forwardSeconds;
    decodeSeconds += predicted.decodeSeconds;
    batch.ids.forEach((id, i) => detections.set(id, predicted.detections[i]));
    done += b;
    options.onProgress?.(done, records.length);
  }
  const skippedIds = iterator.skipped.map((s) => s.id);
  for (const id of skippedIds) detections.set(id, []);
  const flat: ImageDetection[] = [];
  for (const [imageId, dets] of detections) {
    for (const d of dets) flat.push({ imageId, box: d.box, label: d.label, score: d.score });
  }
  const imageSizes: Record<string, ImageSize> = {};
  for (const r of records) imageSizes[r.id] = { width: r.width, height: r.height };
  const result = scoreDetections(groundTruthOf(records), flat, {
    iouThreshold: options.iouThreshold,
    imageSizes,
    source: "evaluateModel",
  });
  const seconds = (performance.now() - start) / 1000;
  const images = records.length;
  return {
    result,
    detections,
    skippedIds,
    speed: {
      images,
      seconds,
      forwardSeconds,
      decodeSeconds,
      evalImgPerSec: images / seconds,
      forwardImgPerSec: images / Math.max(forwardSeconds, 1e-9),
      overheadRatio: seconds / Math.max(forwardSeconds, 1e-9),
    },
  };
}
