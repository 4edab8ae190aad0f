/**
 * Which oneDNN implementations the native backend runs for the network's convolutions: every convolution of a
 * model (the CB / DCB blocks' convs and the plain Conv2D layers), as the geometry the native kernels hand to the
 * addon, and oneDNN's implementation name for each pass (`addon.convImpl`), counted by distinct name.
 *
 * Winograd is chosen per geometry and batch (batch >= 4, see native/ssd_native.cc `winogradWanted`), so the counts
 * are taken at the batch of each figure. The names are those of the plain forward primitive of the geometry; the
 * fused blocks and the biased / activated convs use primitives of the same geometry and algorithm.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { NativeAddon } from "../backend/native/addon.ts";
import { convParams } from "../backend/native/kernels.ts";

/** One convolution of a model at a batch size. */
export interface NetworkConv {
  /** Layer name, with `/dw` or `/pw` for the two convs of a DCB. */
  layer: string;
  /** The 18 geometry values the addon takes. */
  params: Int32Array;
  /** Whether the conv's input is the model's input (its input gradient is never computed in training). */
  firstLayer: boolean;
}

/** A distinct implementation name and how many of the network's convolutions use it. */
export interface ImplCount {
  name: string;
  count: number;
}

/** Implementation names by pass at one batch size. */
export interface ConvImpls {
  batch: number;
  forward: ImplCount[];
  /** Absent for inference-only counts. */
  backwardData?: ImplCount[];
  backwardWeights?: ImplCount[];
}

type Shape = (number | null)[];
const PAD1: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

function inputShape(layer: tf.layers.Layer, batch: number): [number, number, number, number] {
  const shape = (layer.input as tf.SymbolicTensor).shape as Shape;
  if (shape.length !== 4 || shape.slice(1).some((d) => d === null)) {
    throw new Error(`lib/bench/conv_impls.ts: layer ${layer.name} has input shape [${shape}], not [B, H, W, C]`);
  }
  return [batch, shape[1]!, shape[2]!, shape[3]!];
}

function kernelShape(layer: tf.layers.Layer, name: string): [number, number, number, number] {
  const w = layer.weights.find((v) => v.originalName.endsWith(`/${name}`) || v.name.endsWith(`/${name}`));
  if (!w || w.shape.length !== 4) throw new Error(`lib/bench/conv_impls.ts: layer ${layer.name} has no 4-D ${name}`);
  return w.shape as [number, number, number, number];
}

/**
 * The convolutions of `model` at batch `batch`, in layer order, with the geometry the native kernels use: CB and
 * DCB convs pad one pixel on every side (3x3) or none (1x1); Conv2D layers use their own padding and strides.
 * Throws on a convolution layer it does not know (so a new layer type cannot silently drop out of the counts).
 */
export function networkConvs(model: tf.LayersModel, batch: number): NetworkConv[] {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`lib/bench/conv_impls.ts: batch must be >= 1`);
  const modelInput = model.inputs[0];
  const out: NetworkConv[] = [];
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === "InputLayer") continue;
    const first = layer.input === modelInput;
    if (cls === "ConvBlock") {
      const x = inputShape(layer, batch);
      const stride = (layer as unknown as { stride: number }).stride;
      const info = tf.backend_util.computeConv2DInfo(x, kernelShape(layer, "kernel"), stride, 1, PAD1);
      out.push({ layer: layer.name, params: convParams(info, 1), firstLayer: first });
    } else if (cls === "DepthwiseConvBlock") {
      const x = inputShape(layer, batch);
      const stride = (layer as unknown as { stride: number }).stride;
      const dw = kernelShape(layer, "depthwise_kernel");
      const dInfo = tf.backend_util.computeConv2DInfo(x, dw, stride, 1, PAD1, undefined, true);
      out.push({ layer: `${layer.name}/dw`, params: convParams(dInfo, dInfo.inChannels), firstLayer: first });
      const pw = kernelShape(layer, "pointwise_kernel");
      const pInfo = tf.backend_util.computeConv2DInfo(dInfo.outShape, pw, 1, 1, 0);
      out.push({ layer: `${layer.name}/pw`, params: convParams(pInfo, 1), firstLayer: false });
    } else if (cls === "Conv2D" || cls === "DepthwiseConv2D") {
      const cfg = layer.getConfig() as {
        strides: number[];
        padding: "same" | "valid";
        dilationRate: number[] | number;
      };
      const x = inputShape(layer, batch);
      const depthwise = cls === "DepthwiseConv2D";
      const k = kernelShape(layer, depthwise ? "depthwise_kernel" : "kernel");
      const dil = cfg.dilationRate ?? 1;
      const info = tf.backend_util.computeConv2DInfo(
        x,
        k,
        cfg.strides as [number, number],
        dil as [number, number],
        cfg.padding,
        undefined,
        depthwise,
      );
      out.push({ layer: layer.name, params: convParams(info, depthwise ? info.inChannels : 1), firstLayer: first });
    } else if (/conv/i.test(cls)) {
      throw new Error(`lib/bench/conv_impls.ts: layer ${layer.name} is a ${cls}, which networkConvs does not know`);
    }
  }
  return out;
}

function counts(names: string[]): ImplCount[] {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
  return [...m.entries()].map(([name, count]) => ({ name, count })).sort((a, b) =>
    b.count - a.count || a.name.localeCompare(b.name)
  );
}

/**
 * oneDNN's implementation names for the convolutions of `model` at `batch`, counted by distinct name per pass.
 * With `training`, also the backward passes (no input gradient for the first layer: nothing needs it).
 */
export function convImplCounts(
  addon: NativeAddon,
  model: tf.LayersModel,
  options: { batch: number; training: boolean },
): ConvImpls {
  const fwd: string[] = [], bwdD: string[] = [], bwdW: string[] = [];
  for (const c of networkConvs(model, options.batch)) {
    const parts = addon.convImpl(c.params).split("|");
    if (parts.length !== 3) throw new Error(`lib/bench/conv_impls.ts: convImpl gave "${parts.join("|")}"`);
    fwd.push(parts[0]);
    if (options.training) {
      if (!c.firstLayer) bwdD.push(parts[1]);
      bwdW.push(parts[2]);
    }
  }
  return options.training
    ? { batch: options.batch, forward: counts(fwd), backwardData: counts(bwdD), backwardWeights: counts(bwdW) }
    : { batch: options.batch, forward: counts(fwd) };
}

/** One line per pass, e.g. `forward: 9x jit:avx2, 4x jit_wino_4x3:avx512_core`. */
export function formatConvImpls(impls: ConvImpls): string[] {
  const line = (what: string, cs: ImplCount[]) => `${what}: ${cs.map((c) => `${c.count}x ${c.name}`).join(", ")}`;
  const lines = [line("forward", impls.forward)];
  if (impls.backwardData) lines.push(line("backward-data", impls.backwardData));
  if (impls.backwardWeights) lines.push(line("backward-weights", impls.backwardWeights));
  return lines;
}
