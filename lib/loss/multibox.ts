/**
 * The SSD multibox loss as the public SSDv2 code uses it (docs/design.md):
 * softmax cross-entropy over the positive priors plus the hardest negatives (3 per positive, per image), and
 * Smooth L1 on the offsets of the positives; both summed over the batch and divided by the number of positives N.
 * When N = 0 both parts are 0 (the division uses max(N, 1) and no negatives are mined), never NaN.
 *
 * Hard negatives are ranked by their background loss `-log p(background)` in plain JS from the tensor values, so
 * the ranking carries no gradient and needs no sort/top-k kernel (the wasm backend lacks a differentiable one).
 * Ties are broken by prior index, which keeps the selection deterministic.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Model outputs: logits `[B, P, C]` and offsets `[B, P, 4]`. */
export interface MultiboxPrediction {
  logits: tf.Tensor3D;
  offsets: tf.Tensor3D;
}

/** Matched targets: class ids `[B, P]` (int32, 0 = background) and offsets `[B, P, 4]`. */
export interface MultiboxTarget {
  labels: tf.Tensor2D;
  offsets: tf.Tensor3D;
}

/** Options of {@link multiboxLoss}. */
export interface MultiboxOptions {
  /** Negatives kept per positive in each image; default 3. */
  negPosRatio?: number;
}

/** Loss parts, each a scalar: `total = cls + loc`. */
export interface MultiboxLoss {
  total: tf.Scalar;
  cls: tf.Scalar;
  loc: tf.Scalar;
}

/**
 * Selects, per image, the positives and the `negPosRatio * positives` negatives with the largest background loss.
 * Returns a 0/1 mask of the priors that enter the classification loss and the number of positives.
 *
 * Only the set of kept negatives matters, so the ranking is a selection (quickselect, O(P) per image) rather than a
 * sort: sorting the negatives of every image (4,420 priors each) took about 20 ms of a 270 ms training step at batch 16
 * (AVX-512, 2 threads), the selection under 1 ms. The order is the same total order a sort by (loss descending,
 * index ascending) uses, so the mask is the one that sort gives.
 */
export function mineHardNegatives(
  bgLoss: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: { numPriors: number; negPosRatio?: number },
): { mask: Float32Array; numPositives: number } {
  const P = options.numPriors;
  const ratio = options.negPosRatio ?? 3;
  const B = labels.length / P;
  const mask = new Float32Array(labels.length);
  let total = 0;
  const negs = new Int32Array(P);
  for (let b = 0; b < B; b++) {
    let npos = 0, m = 0;
    for (let p = b * P; p < (b + 1) * P; p++) {
      if (labels[p] > 0) {
        mask[p] = 1;
        npos++;
      } else negs[m++] = p;
    }
    total += npos;
    const nneg = Math.min(Math.floor(ratio * npos), m);
    if (nneg === 0) continue;
    if (nneg < m) selectHardest(negs, m, nneg, bgLoss);
    for (let k = 0; k < nneg; k++) mask[negs[k]] = 1;
  }
  return { mask, numPositives: total };
}

/**
 * Reorders `idx[0..n)` so that its first `k` entries are the `k` priors ranked first by (`key` descending, index
 * ascending). Hoare-partition quickselect with a median-of-three pivot; after `maxRounds` partitions (default
 * 2 log2(n) + 8, reached only by inputs that defeat the pivot rule) it sorts what is left, so it is never quadratic.
 * Keys that are NaN rank as equal to any other key (as the sort comparator did); a NaN loss stops training anyway.
 */
export function selectHardest(
  idx: Int32Array,
  n: number,
  k: number,
  key: ArrayLike<number>,
  maxRounds = 2 * Math.ceil(Math.log2(n + 1)) + 8,
): void {
  const ahead = (i: number, j: number) => key[i] > key[j] || (key[i] === key[j] && i < j);
  const swap = (a: number, b: number) => {
    const t = idx[a];
    idx[a] = idx[b];
    idx[b] = t;
  };
  const target = k - 1;
  let lo = 0, hi = n - 1;
  let rounds = maxRounds;
  while (hi > lo) {
    if (rounds-- === 0) {
      const rest = Array.from(idx.subarray(lo, hi + 1)).sort((i, j) => (ahead(i, j) ? -1 : ahead(j, i) ? 1 : 0));
      idx.set(rest, lo);
      return;
    }
    const mid = (lo + hi) >>> 1;
    if (ahead(idx[mid], idx[lo])) swap(lo, mid);
    if (ahead(idx[hi], idx[lo])) swap(lo, hi);
    if (ahead(idx[hi], idx[mid])) swap(mid, hi);
    const pivot = idx[mid];
    let i = lo, j = hi;
    while (i <= j) {
      while (ahead(idx[i], pivot)) i++;
      while (ahead(pivot, idx[j])) j--;
      if (i <= j) {
        swap(i, j);
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return;
  }
}

/**
 * Multibox loss of a batch; see the module notes. All returned scalars are new tensors owned by the caller.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { multiboxLoss, setupBackend } from "ssdv2";
 * await setupBackend();
 * const pred = { logits: tf.tensor3d([[[0, 0, 2], [3, 0, 0]]]), offsets: tf.fill<tf.Rank.R3>([1, 2, 4], 0.1) };
 * const target = { labels: tf.tensor2d([2, 0], [1, 2], "int32"), offsets: tf.zeros<tf.Rank.R3>([1, 2, 4]) };
 * const loss = multiboxLoss(pred, target); // prior 0 matched to a face (class 2), 0.1 off; prior 1: background
 * console.log(loss.total.arraySync(), loss.cls.arraySync(), loss.loc.arraySync()); // 0.3545 0.3345 0.02 (rounded)
 * tf.dispose([pred, target, loss.total, loss.cls, loss.loc]);
 * ```
 */
export function multiboxLoss(
  pred: MultiboxPrediction,
  target: MultiboxTarget,
  options: MultiboxOptions = {},
): MultiboxLoss {
  const where = "lib/loss/multibox.ts";
  const [B, P, C] = pred.logits.shape;
  if (pred.logits.rank !== 3 || pred.offsets.rank !== 3 || pred.offsets.shape[2] !== 4) {
    throw new Error(`${where}: predictions must be logits [B, P, C] and offsets [B, P, 4]`);
  }
  if (pred.offsets.shape[0] !== B || pred.offsets.shape[1] !== P) {
    throw new Error(`${where}: logits [${pred.logits.shape}] and offsets [${pred.offsets.shape}] disagree`);
  }
  if (target.labels.shape[0] !== B || target.labels.shape[1] !== P || target.labels.dtype !== "int32") {
    throw new Error(
      `${where}: target labels must be int32 [${B}, ${P}], got ${target.labels.dtype} [${target.labels.shape}]`,
    );
  }
  if (target.offsets.shape.join() !== [B, P, 4].join()) {
    throw new Error(`${where}: target offsets must be [${B}, ${P}, 4], got [${target.offsets.shape}]`);
  }
  const labels = target.labels.dataSync();
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= C) throw new Error(`${where}: target label ${labels[i]} outside 0..${C - 1}`);
  }
  return tf.tidy(() => {
    const logp = tf.logSoftmax(pred.logits);
    // The background loss -log p(background) read from logp in JS: a strided slice kernel took ~8 ms for this.
    const lp = logp.dataSync();
    const bgLoss = new Float32Array(B * P);
    for (let i = 0; i < bgLoss.length; i++) bgLoss[i] = -lp[i * C];
    const { mask, numPositives } = mineHardNegatives(bgLoss, labels, { numPriors: P, ...options });
    const n = Math.max(numPositives, 1);
    const clsMask = tf.tensor2d(mask, [B, P]);
    const posMask = tf.cast(tf.greater(target.labels, 0), "float32");
    const ce = tf.neg(tf.sum(tf.mul(tf.oneHot(target.labels, C), logp), -1));
    const cls = tf.div(tf.sum(tf.mul(ce, clsMask)), n) as tf.Scalar;
    const a = tf.abs(tf.sub(pred.offsets, target.offsets));
    const q = tf.minimum(a, 1);
    // Smooth L1 without a select: 0.5 q^2 + (a - q) equals 0.5 a^2 below 1 and a - 0.5 above.
    const sl1 = tf.add(tf.mul(0.5, tf.square(q)), tf.sub(a, q));
    const loc = tf.div(tf.sum(tf.mul(tf.sum(sl1, -1), posMask)), n) as tf.Scalar;
    return { total: tf.add(cls, loc) as tf.Scalar, cls, loc };
  });
}
