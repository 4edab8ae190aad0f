/**
 * From raw head outputs to detections: softmax, per-class score threshold, a per-class pre-NMS top-k, decoding of
 * the surviving candidates only, clipping to the image, greedy per-class NMS, and a final top-k over classes
 * (the public SSDv2 evaluation: score > 0.02, NMS IoU 0.4, at most 200).
 *
 * Decoding only the candidates that pass the threshold keeps evaluation far cheaper than the forward pass.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Box, Detection } from "../types.ts";
import { DEFAULT_VARIANCES } from "./boxes.ts";

/** Raw model outputs: logits `[B, P, C]` and offsets `[B, P, 4]`, as tensors or flat arrays. */
export interface RawPrediction {
  logits: tf.Tensor | Float32Array;
  offsets: tf.Tensor | Float32Array;
}

/** Options of {@link decodeDetections}. */
export interface DecodeOptions {
  /** Priors, normalised centre form, `P * 4`. */
  priors: Float32Array;
  /** Keep candidates with class probability strictly above this; default 0.02. */
  scoreThreshold?: number;
  /** Per-class NMS IoU; a candidate overlapping a kept box of its class by more than this is dropped. Default 0.4. */
  nmsIou?: number;
  /** Detections kept per image after NMS, over all classes; default 200. */
  topK?: number;
  /** Candidates per class entering NMS (highest scores); default 1000. */
  preNmsTopK?: number;
  /** Offset-coding variances; default [0.1, 0.2]. */
  variances?: readonly [number, number];
  /** Whether `logits` already hold probabilities (skips the softmax). Default false. */
  probabilities?: boolean;
}

function toArray(x: tf.Tensor | Float32Array): Float32Array {
  if (x instanceof Float32Array) return x;
  return x.dataSync() as Float32Array;
}

function inferClasses(x: tf.Tensor | Float32Array, batchPriors: number | null, P: number): number {
  if (!(x instanceof Float32Array)) return x.shape[x.shape.length - 1];
  if (batchPriors === null) throw new Error("lib/detect/postprocess.ts: cannot infer the batch size");
  return x.length / (batchPriors * P);
}

/**
 * Greedy NMS over candidates already sorted by descending score; returns kept positions. Stops at `maxKeep`: a
 * class's candidates after its first `topK` survivors score below all of them, so they can never reach the final
 * top-k, and stopping there bounds the cost on untrained models where thousands of priors pass the threshold.
 */
function nms(boxes: Float32Array, count: number, iouThreshold: number, maxKeep: number): number[] {
  const kept: number[] = [];
  const area = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    area[i] = (boxes[i * 4 + 2] - boxes[i * 4]) * (boxes[i * 4 + 3] - boxes[i * 4 + 1]);
  }
  for (let i = 0; i < count && kept.length < maxKeep; i++) {
    const x1 = boxes[i * 4], y1 = boxes[i * 4 + 1], x2 = boxes[i * 4 + 2], y2 = boxes[i * 4 + 3];
    let keep = true;
    for (const k of kept) {
      const iw = Math.min(x2, boxes[k * 4 + 2]) - Math.max(x1, boxes[k * 4]);
      const ih = Math.min(y2, boxes[k * 4 + 3]) - Math.max(y1, boxes[k * 4 + 1]);
      if (iw <= 0 || ih <= 0) continue;
      const inter = iw * ih;
      const union = area[i] + area[k] - inter;
      if (union > 0 && inter / union > iouThreshold) {
        keep = false;
        break;
      }
    }
    if (keep) kept.push(i);
  }
  return kept;
}

/**
 * Turns raw outputs into detections per image: normalised corner boxes clipped to [0, 1], class ids >= 1,
 * sorted by descending score.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { decodeDetections, loadDetector } from "ssdv2";
 * const detector = await loadDetector("results/ablation/branches-4-20261129-122037", { backend: "config" });
 * const [logits, offsets] = tf.tidy(() => detector.model.predict(tf.zeros([1, 240, 320, 3])) as tf.Tensor[]);
 * const [dets] = decodeDetections({ logits, offsets }, { priors: detector.priors, ...detector.settings });
 * console.log(dets[0]); // { box: [x1, y1, x2, y2] in [0, 1], label: 1 (face_mask) or 2 (face), score }, best first
 * tf.dispose([logits, offsets]);
 * detector.dispose();
 * ```
 */
export function decodeDetections(pred: RawPrediction, options: DecodeOptions): Detection[][] {
  const where = "lib/detect/postprocess.ts";
  const priors = options.priors;
  if (!(priors instanceof Float32Array) || priors.length === 0 || priors.length % 4 !== 0) {
    throw new Error(`${where}: priors must be a non-empty Float32Array of length P * 4`);
  }
  const P = priors.length / 4;
  const offsetsArr = toArray(pred.offsets);
  if (offsetsArr.length % (P * 4) !== 0) {
    throw new Error(`${where}: offsets hold ${offsetsArr.length} numbers, not a multiple of P * 4 = ${P * 4}`);
  }
  const B = offsetsArr.length / (P * 4);
  const C = inferClasses(pred.logits, B, P);
  if (!Number.isInteger(C) || C < 2) throw new Error(`${where}: logits do not have the shape [B, ${P}, C>=2]`);
  let scores: Float32Array;
  if (!options.probabilities && !(pred.logits instanceof Float32Array)) {
    const logits = pred.logits;
    scores = tf.tidy(() => tf.softmax(logits.reshape([-1, C])).dataSync() as Float32Array);
  } else {
    scores = toArray(pred.logits);
    if (!options.probabilities) scores = softmaxRows(scores, C);
  }
  if (scores.length !== B * P * C) {
    throw new Error(`${where}: logits hold ${scores.length} numbers, expected ${B * P * C}`);
  }
  const threshold = options.scoreThreshold ?? 0.02;
  const nmsIou = options.nmsIou ?? 0.4;
  const topK = options.topK ?? 200;
  const preK = options.preNmsTopK ?? 1000;
  const [v0, v1] = options.variances ?? DEFAULT_VARIANCES;
  const result: Detection[][] = [];
  if (P > INDEX_SLOTS) throw new Error(`${where}: at most ${INDEX_SLOTS} priors are supported, got ${P}`);
  const keys = new Float64Array(P);
  const candBoxes = new Float32Array(Math.min(P, preK) * 4);
  for (let b = 0; b < B; b++) {
    const dets: Detection[] = [];
    for (let c = 1; c < C; c++) {
      let n = 0;
      for (let p = 0; p < P; p++) {
        const sc = scores[(b * P + p) * C + c];
        // sort keys: score quantised to 2^-32 (descending) then prior index, packed into one exact double
        if (sc > threshold) keys[n++] = Math.floor((1 - sc) * 4294967296) * INDEX_SLOTS + p;
      }
      if (n === 0) continue;
      const order = keys.subarray(0, n).sort();
      for (let k = 0; k < n; k++) order[k] %= INDEX_SLOTS;
      const m = Math.min(n, preK);
      for (let k = 0; k < m; k++) {
        const p = order[k];
        const q = p * 4, o = (b * P + p) * 4;
        const pw = priors[q + 2], ph = priors[q + 3];
        const cx = priors[q] + offsetsArr[o] * v0 * pw;
        const cy = priors[q + 1] + offsetsArr[o + 1] * v0 * ph;
        const w = pw * Math.exp(offsetsArr[o + 2] * v1);
        const h = ph * Math.exp(offsetsArr[o + 3] * v1);
        candBoxes[k * 4] = clip01(cx - w / 2);
        candBoxes[k * 4 + 1] = clip01(cy - h / 2);
        candBoxes[k * 4 + 2] = clip01(cx + w / 2);
        candBoxes[k * 4 + 3] = clip01(cy + h / 2);
      }
      for (const k of nms(candBoxes, m, nmsIou, topK)) {
        const box: Box = [candBoxes[k * 4], candBoxes[k * 4 + 1], candBoxes[k * 4 + 2], candBoxes[k * 4 + 3]];
        dets.push({ box, label: c, score: scores[(b * P + order[k]) * C + c] });
      }
    }
    dets.sort((a, d) => d.score - a.score);
    result.push(dets.length > topK ? dets.slice(0, topK) : dets);
  }
  return result;
}

/** Room for the prior index in a packed sort key (2^20; 2^32 * 2^20 stays below 2^53, exact in a double). */
const INDEX_SLOTS = 1048576;

function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** Row-wise softmax of a flat `[N, C]` array (max-subtracted for stability). */
export function softmaxRows(logits: Float32Array, C: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i += C) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[i + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += out[i + c] = Math.exp(logits[i + c] - m);
    for (let c = 0; c < C; c++) out[i + c] /= s;
  }
  return out;
}

/** Converts one image's normalised detections to pixel coordinates of an image of the given size. */
export function toPixelDetections(dets: readonly Detection[], size: { width: number; height: number }): Detection[] {
  const { width, height } = size;
  if (!(width > 0 && height > 0)) {
    throw new Error(`lib/detect/postprocess.ts: image size must be positive, got ${width}x${height}`);
  }
  return dets.map((d) => ({
    box: [d.box[0] * width, d.box[1] * height, d.box[2] * width, d.box[3] * height] as Box,
    label: d.label,
    score: d.score,
  }));
}
