/**
 * Assigns ground-truth boxes to priors (SSD matching, as in the public SSDv2 code):
 * 1. every prior takes the ground truth it overlaps most (first one on ties);
 * 2. every ground truth claims its best prior (first one on ties), whatever the IoU; when two ground truths
 *    claim the same prior the later one wins, as in SSD's loop (the earlier one keeps only its threshold matches);
 * 3. priors whose best IoU is below the threshold (0.45) are background (label 0).
 * Offsets are encoded only for positive priors (zeros elsewhere: the loss never reads them).
 * @module
 */
import type { Box } from "../types.ts";
import { centreToCorner, DEFAULT_VARIANCES } from "./boxes.ts";

/** Options of {@link matchPriors} and {@link matchBatch}. */
export interface MatchOptions {
  /** Priors, normalised centre form, `P * 4`. */
  priors: Float32Array;
  /** IoU at or above which a prior takes a ground truth; default 0.45. */
  iouThreshold?: number;
  /** Offset-coding variances; default [0.1, 0.2]. */
  variances?: readonly [number, number];
}

/** Class target per prior (0 = background) and offset target per prior. */
export interface MatchResult {
  labels: Int32Array;
  offsets: Float32Array;
}

const cornerCache = new WeakMap<Float32Array, Float32Array>();

function priorCorners(priors: Float32Array): Float32Array {
  let c = cornerCache.get(priors);
  if (!c) {
    c = centreToCorner(priors);
    cornerCache.set(priors, c);
  }
  return c;
}

function checkInputs(boxes: readonly Box[], labels: readonly number[], where: string): void {
  if (boxes.length !== labels.length) {
    throw new Error(`lib/detect/match.ts: ${where}: ${boxes.length} boxes but ${labels.length} labels`);
  }
  boxes.forEach((b, g) => {
    if (b.length !== 4 || !b.every(Number.isFinite) || !(b[2] > b[0] && b[3] > b[1])) {
      throw new Error(`lib/detect/match.ts: ${where}: box ${g} [${b}] is not a corner box with positive area`);
    }
    if (!Number.isInteger(labels[g]) || labels[g] < 1) {
      throw new Error(`lib/detect/match.ts: ${where}: label ${g} is ${labels[g]}, expected an integer class id >= 1`);
    }
  });
}

/** Writes one image's targets into `outLabels` / `outOffsets` starting at prior offset `base`. */
function matchInto(
  boxes: readonly Box[],
  labels: readonly number[],
  options: MatchOptions,
  outLabels: Int32Array,
  outOffsets: Float32Array,
  base: number,
): void {
  const priors = options.priors;
  const corners = priorCorners(priors);
  const P = priors.length / 4;
  const G = boxes.length;
  if (G === 0) return;
  const threshold = options.iouThreshold ?? 0.45;
  const [v0, v1] = options.variances ?? DEFAULT_VARIANCES;
  const bestTruth = new Int32Array(P).fill(-1);
  const bestOverlap = new Float32Array(P);
  const bestPrior = new Int32Array(G);
  for (let g = 0; g < G; g++) {
    const [gx1, gy1, gx2, gy2] = boxes[g];
    const gArea = (gx2 - gx1) * (gy2 - gy1);
    let bp = 0, bo = -1;
    for (let p = 0; p < P; p++) {
      const q = p * 4;
      const iw = Math.min(gx2, corners[q + 2]) - Math.max(gx1, corners[q]);
      const ih = Math.min(gy2, corners[q + 3]) - Math.max(gy1, corners[q + 1]);
      let o = 0;
      if (iw > 0 && ih > 0) {
        const inter = iw * ih;
        o = inter / (gArea + priors[q + 2] * priors[q + 3] - inter);
      }
      if (o > bo) {
        bo = o;
        bp = p;
      }
      if (bestTruth[p] < 0 || o > bestOverlap[p]) {
        bestOverlap[p] = o;
        bestTruth[p] = g;
      }
    }
    bestPrior[g] = bp;
  }
  for (let g = 0; g < G; g++) {
    bestTruth[bestPrior[g]] = g;
    bestOverlap[bestPrior[g]] = 2;
  }
  for (let p = 0; p < P; p++) {
    if (bestOverlap[p] < threshold) continue;
    const g = bestTruth[p];
    const [x1, y1, x2, y2] = boxes[g];
    const q = p * 4;
    const o = (base + p) * 4;
    outLabels[base + p] = labels[g];
    const pw = priors[q + 2], ph = priors[q + 3];
    outOffsets[o] = ((x1 + x2) / 2 - priors[q]) / (v0 * pw);
    outOffsets[o + 1] = ((y1 + y2) / 2 - priors[q + 1]) / (v0 * ph);
    outOffsets[o + 2] = Math.log((x2 - x1) / pw) / v1;
    outOffsets[o + 3] = Math.log((y2 - y1) / ph) / v1;
  }
}

/** Matches one image's ground truth (normalised corner boxes, class ids >= 1) to the priors. */
export function matchPriors(boxes: readonly Box[], labels: readonly number[], options: MatchOptions): MatchResult {
  checkInputs(boxes, labels, "matchPriors");
  const P = options.priors.length / 4;
  const out = { labels: new Int32Array(P), offsets: new Float32Array(P * 4) };
  matchInto(boxes, labels, options, out.labels, out.offsets, 0);
  return out;
}

/** Matches a batch; results are laid out image after image (`B * P` labels, `B * P * 4` offsets). */
export function matchBatch(
  boxes: readonly (readonly Box[])[],
  labels: readonly (readonly number[])[],
  options: MatchOptions,
): MatchResult {
  if (boxes.length !== labels.length) {
    throw new Error(`lib/detect/match.ts: matchBatch: ${boxes.length} box lists but ${labels.length} label lists`);
  }
  const P = options.priors.length / 4;
  const out = { labels: new Int32Array(boxes.length * P), offsets: new Float32Array(boxes.length * P * 4) };
  boxes.forEach((b, i) => {
    checkInputs(b, labels[i], `matchBatch image ${i}`);
    matchInto(b, labels[i], options, out.labels, out.offsets, i * P);
  });
  return out;
}
