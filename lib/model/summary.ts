/**
 * Parameters and multiply-accumulates (MACs) of a tfjs model, per layer and in total, from the layer shapes.
 *
 * MACs count the multiplications of convolutions and dense layers only (one per kernel tap, input channel and
 * output element), the usual convention for "GMACs" of detectors; biases, batch norm, activations, pooling,
 * padding, concatenation and reshapes count 0. Counts are for one image (the batch dimension is ignored).
 * {@link DilatedConv2D} counts as the 3x3 conv it is (9 taps), not as its zero-filled expanded kernel.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** One layer of a {@link ModelSummary}. */
export interface LayerSummary {
  name: string;
  type: string;
  outputShape: (number | null)[];
  params: number;
  macs: number;
}

/** Per-layer and total parameters and MACs. */
export interface ModelSummary {
  layers: LayerSummary[];
  totalParams: number;
  totalMacs: number;
}

/** Options of {@link summarizeModel}. */
export interface SummaryOptions {
  /** Leave out layers with neither parameters nor MACs (input, activations, reshapes...). Default false. */
  skipEmpty?: boolean;
}

function single(shape: unknown): (number | null)[] {
  return Array.isArray(shape) && Array.isArray(shape[0]) ? shape[0] as (number | null)[] : shape as (number | null)[];
}

function spatial(shape: (number | null)[], what: string): number {
  const [, h, w] = shape;
  if (h == null || w == null) throw new Error(`lib/model/summary.ts: ${what} has unknown spatial size [${shape}]`);
  return h * w;
}

/** MACs of one layer for one image. */
export function layerMacs(layer: tf.layers.Layer): number {
  const type = layer.getClassName();
  if (layer.weights.length === 0) return 0;
  const out = single(layer.outputShape);
  const inp = single((layer.input as tf.SymbolicTensor).shape);
  const cin = inp[inp.length - 1] ?? 0;
  const cout = out[out.length - 1] ?? 0;
  const kernelShape = (i: number) => layer.weights[i].shape as number[];
  switch (type) {
    case "Conv2D":
    case "DilatedConv2D": {
      const [kh, kw] = kernelShape(0);
      return spatial(out, layer.name) * kh * kw * cin * cout;
    }
    case "DepthwiseConv2D": {
      const [kh, kw, , mult] = kernelShape(0);
      return spatial(out, layer.name) * kh * kw * cin * mult;
    }
    case "ConvBlock":
      return spatial(out, layer.name) * 9 * cin * cout;
    case "DepthwiseConvBlock":
      return spatial(out, layer.name) * (9 * cin + cin * cout);
    case "Dense":
      return (inp.slice(1, -1) as number[]).reduce((a, d) => a * d, 1) * cin * cout;
    default:
      return 0;
  }
}

/**
 * Summarises a model layer by layer; see the module notes for what counts as a MAC.
 *
 * ```ts
 * import { buildDetector, setupBackend, summarizeModel } from "ssdv2";
 * await setupBackend();
 * const { model } = buildDetector({ trunk: "ssdv2", branches: 4 });
 * const summary = summarizeModel(model, { skipEmpty: true });
 * console.log(summary.totalParams, (summary.totalMacs / 1e6).toFixed(1)); // 1043286 "538.0" MMACs per image
 * console.log(summary.layers[0]); // { name: "t1_cb1", type: "ConvBlock", outputShape: [ null, 120, 160, 16 ], ... }
 * model.dispose();
 * ```
 */
export function summarizeModel(model: tf.LayersModel, options: SummaryOptions = {}): ModelSummary {
  const layers: LayerSummary[] = [];
  for (const layer of model.layers) {
    const entry: LayerSummary = {
      name: layer.name,
      type: layer.getClassName(),
      outputShape: single(layer.outputShape),
      params: layer.countParams(),
      macs: layerMacs(layer),
    };
    if (!options.skipEmpty || entry.params > 0 || entry.macs > 0) layers.push(entry);
  }
  return {
    layers,
    totalParams: layers.reduce((a, l) => a + l.params, 0),
    totalMacs: layers.reduce((a, l) => a + l.macs, 0),
  };
}
