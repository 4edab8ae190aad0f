/**
 * A model's weights as plain arrays and back: what checkpoints, kept weights and exports store. Weights are matched
 * by position, not by name: tfjs numbers layer names per process, so a rebuilt model's names differ; every shape is
 * checked instead.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** One weight as plain data: its name (informative), shape and float32 values. */
export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Copies a model's weights (all of them, moving statistics included) out as plain arrays, in model order. */
export function modelWeights(model: tf.LayersModel): NamedArray[] {
  return model.weights.map((w) => ({
    name: w.name,
    shape: w.shape.map((d) => d as number),
    data: (w.read().dataSync() as Float32Array).slice(),
  }));
}

/**
 * Assigns weights read from a file to a model, by position; every shape must match. `source` names the file in
 * errors.
 */
export function setModelWeights(model: tf.LayersModel, weights: NamedArray[], options: { source?: string } = {}) {
  const where = options.source ?? "weights";
  const vars = model.weights;
  if (vars.length !== weights.length) {
    throw new Error(
      `${where}: holds ${weights.length} weights, the model has ${vars.length} (different architecture?)`,
    );
  }
  vars.forEach((v, i) => {
    const want = v.shape as number[];
    const got = weights[i].shape;
    if (want.length !== got.length || want.some((d, k) => d !== got[k])) {
      throw new Error(`${where}: weight ${i} (${weights[i].name}) has shape [${got}], model's ${v.name} has [${want}]`);
    }
  });
  const tensors = weights.map((w) => tf.tensor(w.data, w.shape, "float32"));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
