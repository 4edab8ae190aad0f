/**
 * Test helpers of lib/experiments: a small real detector (one 8x10 map, 2 priors per cell) that trains in seconds on the
 * cpu backend, for tests of the pipeline, evaluation and reproduction that need real run folders.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { generatePriors } from "../detect/mod.ts";
import type { DetectorFactory } from "../inference/mod.ts";

// A small real detector (not lib/model's SSDv2, which a heavier test covers): one 8x10 map, 2 priors per cell.
/** The small detector's prior layout. */
export const SMALL_PRIORS = { inputSize: [240, 320] as [number, number], steps: [32], sizes: [[48, 112]] };
/** Builds the small detector (seeded initialisers); the model block of the config is ignored. */
export const smallDetector: DetectorFactory = (_model, { seed }) => {
  const init = (k: number) => tf.initializers.heNormal({ seed: seed + k });
  const input = tf.input({ shape: [240, 320, 3] });
  let x = tf.layers.averagePooling2d({ poolSize: 4 }).apply(input) as tf.SymbolicTensor; // 60x80
  for (const [k, filters] of [[1, 8], [2, 16], [3, 16]]) {
    x = tf.layers.conv2d({ filters, kernelSize: 3, strides: 2, padding: "same", kernelInitializer: init(k) })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization().apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  } // 8x10x16
  const head = (units: number, k: number) =>
    tf.layers.conv2d({ filters: units, kernelSize: 3, padding: "same", kernelInitializer: init(k) }).apply(x);
  const P = 8 * 10 * 2;
  const logits = tf.layers.reshape({ targetShape: [P, 3] }).apply(head(6, 4)) as tf.SymbolicTensor;
  const offsets = tf.layers.reshape({ targetShape: [P, 4] }).apply(head(8, 5)) as tf.SymbolicTensor;
  return Promise.resolve({
    model: tf.model({ inputs: input, outputs: [logits, offsets] }),
    priors: generatePriors(SMALL_PRIORS),
  });
};

/** lib/data resolve options that find no real data and generate a set of `counts` at `root`. */
export function generatedAt(
  root: string,
  counts: { seed: number; train: number; val: number },
): {
  env: null;
  defaultRoot: string;
  generatedRoot: string;
  generatedCounts: { seed: number; train: number; val: number };
} {
  return { env: null, defaultRoot: `${root}/../none`, generatedRoot: root, generatedCounts: counts };
}
