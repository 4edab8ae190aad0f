/**
 * Fixtures of the exporter tests (not part of the public API): freshly built detectors have BatchNorm at its
 * identity (gamma 1, beta 0, mean 0, variance 1) and zero biases, which would hide a BN stage or a bias that an
 * exporter drops or misplaces; {@link randomizeNormalization} gives them seeded values of a trained network's range.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.ts";

/** Ranges drawn for each weight kind, by the weight's name inside its layer. */
const RANGES: [RegExp, number, number][] = [
  [/(^|_)gamma$/, 0.5, 1.5],
  [/(^|_)beta$/, -0.3, 0.3],
  [/(^|_)moving_mean$/, -0.3, 0.3],
  [/(^|_)moving_variance$/, 0.3, 2],
  [/(^|_)bias$/, -0.2, 0.2],
];

/**
 * Replaces every BatchNorm parameter, moving statistic and bias of `model` with seeded uniform values (kernels keep
 * their seeded initialisation); returns how many weights were replaced.
 */
export function randomizeNormalization(model: tf.LayersModel, seed: number): number {
  const rng = new Rng(seed);
  let changed = 0;
  for (const layer of model.layers) {
    const values = layer.getWeights();
    const next = layer.weights.map((w, i) => {
      const short = w.originalName.slice(w.originalName.lastIndexOf("/") + 1);
      const range = RANGES.find(([re]) => re.test(short));
      if (!range) return values[i];
      changed++;
      const data = new Float32Array(w.shape.reduce((a: number, b) => a * (b as number), 1));
      for (let k = 0; k < data.length; k++) data[k] = rng.uniform(range[1], range[2]);
      return tf.tensor(data, w.shape as number[], "float32");
    });
    if (next.some((t, i) => t !== values[i])) {
      layer.setWeights(next);
      tf.dispose(next.filter((t, i) => t !== values[i]));
    }
  }
  return changed;
}

/** Seeded uniform values in [lo, hi), e.g. a batch of inputs in the model's [-0.5, 0.5] range. */
export function uniformArray(n: number, seed: number, lo = -0.5, hi = 0.5): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

/** Largest absolute difference of two equally long arrays (throws when the lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(d)) return NaN; // so a NaN output never passes as "close"
    if (d > m) m = d;
  }
  return m;
}
