/**
 * The "native" tfjs backend: the wasm backend's instance under a second name, with its convolution kernels and
 * Identity replaced by oneDNN calls on zero-copy views of the wasm heap.
 *
 * Why the same instance and not a second wasm instance: the wasm kernels keep their compiled entry points in module
 * variables set by each backend's setup, so two wasm instances would overwrite each other's. Sharing the instance
 * keeps tensors on one heap, makes switching between "wasm" and "native" free, and lets the two be compared in one
 * process. Do not call `tf.removeBackend("native")`: it would dispose the wasm backend too.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { ACTIVATION_CODES, type ConvParams, type NativeAddon } from "./addon.ts";

/** Name under which the backend is registered. */
export const NATIVE_BACKEND = "native";

type Info = tf.TensorInfo;
type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** A Float32Array over a tensor's bytes in the wasm heap. Take views only after every output is allocated. */
export function heapView(backend: BackendWasm, t: Info): Float32Array {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data || data.memoryOffset == null) throw new Error(`native backend: tensor ${t.shape} has no heap memory`);
  if (t.dtype !== "float32") throw new Error(`native backend: expected a float32 tensor, got ${t.dtype}`);
  return new Float32Array(
    (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer,
    data.memoryOffset,
    tf.util.sizeFromShape(t.shape),
  );
}

/**
 * The 18 conv parameters of the addon from tfjs's conv info. Throws when oneDNN's output-size rule cannot
 * reproduce tfjs's (only possible with dimRoundingMode 'ceil' / 'round').
 */
export function convParams(info: Conv2DInfo, groups: number): ConvParams {
  const { padInfo: pad } = info;
  const check = (size: number, p0: number, p1: number, k: number, s: number, out: number, what: string) => {
    if (Math.floor((size + p0 + p1 - k) / s) + 1 !== out) {
      throw new Error(`native backend: ${what} size ${size} with padding ${p0},${p1} cannot give ${out} outputs`);
    }
  };
  check(info.inHeight, pad.top, pad.bottom, info.effectiveFilterHeight, info.strideHeight, info.outHeight, "height");
  check(info.inWidth, pad.left, pad.right, info.effectiveFilterWidth, info.strideWidth, info.outWidth, "width");
  return Int32Array.from([
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    pad.top,
    pad.left,
    pad.bottom,
    pad.right,
    groups,
  ]);
}

interface ConvAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: [number, number] | number | null;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** tfjs-layers passes `dilations: null` for 1. */
function dil(d: ConvAttrs["dilations"]): [number, number] | number {
  return d ?? 1;
}

function info2d(xShape: number[], fShape: number[], a: ConvAttrs, depthwise: boolean): Conv2DInfo {
  if (a.dataFormat === "NCHW") throw new Error("native backend: only NHWC (channelsLast) convolutions are supported");
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    fShape as [number, number, number, number],
    a.strides,
    dil(a.dilations),
    a.pad,
    a.dimRoundingMode,
    depthwise,
  );
}

function empty(shape: number[]): boolean {
  return tf.util.sizeFromShape(shape) === 0;
}

/** Kernel configs of the oneDNN kernels for `backendName`; `fallback` resolves the wasm kernel of the same name. */
export function nativeKernelConfigs(
  addon: NativeAddon,
  backendName: string,
  fallback: (name: string) => tf.KernelConfig | undefined,
): tf.KernelConfig[] {
  const conv = (depthwise: boolean): tf.KernelFunc =>
    (({ inputs, attrs, backend }) => {
      const b = backend as BackendWasm;
      const { x, filter } = inputs as { x: Info; filter: Info };
      const info = info2d(x.shape, filter.shape, attrs as unknown as ConvAttrs, depthwise);
      const p = convParams(info, depthwise ? info.inChannels : 1);
      const out = b.makeOutput(info.outShape, "float32");
      if (!empty(info.outShape)) {
        addon.convForward(heapView(b, x), heapView(b, filter), null, heapView(b, out), p, 0, 0);
      }
      return out;
    }) as tf.KernelFunc;

  const backpropInput = (depthwise: boolean): tf.KernelFunc =>
    (({ inputs, attrs, backend }) => {
      const b = backend as BackendWasm;
      const { dy, filter } = inputs as { dy: Info; filter: Info };
      const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
      const info = info2d(a.inputShape, filter.shape, a, depthwise);
      const p = convParams(info, depthwise ? info.inChannels : 1);
      const out = b.makeOutput(a.inputShape, "float32");
      if (!empty(a.inputShape)) addon.convBackwardData(heapView(b, dy), heapView(b, filter), heapView(b, out), p);
      return out;
    }) as tf.KernelFunc;

  const backpropFilter = (depthwise: boolean): tf.KernelFunc =>
    (({ inputs, attrs, backend }) => {
      const b = backend as BackendWasm;
      const { x, dy } = inputs as { x: Info; dy: Info };
      const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
      const info = info2d(x.shape, a.filterShape, a, depthwise);
      const p = convParams(info, depthwise ? info.inChannels : 1);
      const out = b.makeOutput(a.filterShape, "float32");
      if (!empty(a.filterShape)) addon.convBackwardWeights(heapView(b, x), heapView(b, dy), heapView(b, out), p);
      return out;
    }) as tf.KernelFunc;

  const fused = (kernelName: string, depthwise: boolean): tf.KernelFunc =>
    ((args) => {
      const b = args.backend as BackendWasm;
      const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, Info | undefined>;
      const a = args.attrs as unknown as ConvAttrs & { activation: string; leakyreluAlpha?: number };
      const act = ACTIVATION_CODES[a.activation ?? "linear"];
      const info = info2d(x!.shape, filter!.shape, a, depthwise);
      if (
        act === undefined || preluActivationWeights != null ||
        (bias != null && tf.util.sizeFromShape(bias.shape) !== info.outChannels) || a.dataFormat === "NCHW"
      ) {
        const k = fallback(kernelName);
        if (!k) throw new Error(`native backend: ${kernelName} with activation ${a.activation} is not supported`);
        return k.kernelFunc(args);
      }
      const p = convParams(info, depthwise ? info.inChannels : 1);
      const out = b.makeOutput(info.outShape, "float32");
      if (!empty(info.outShape)) {
        const alpha = a.activation === "leakyrelu" ? a.leakyreluAlpha ?? 0.2 : 0;
        addon.convForward(
          heapView(b, x!),
          heapView(b, filter!),
          bias ? heapView(b, bias) : null,
          heapView(b, out),
          p,
          act,
          alpha,
        );
      }
      return out;
    }) as tf.KernelFunc;

  // Saved tensors reach the gradient through Identity (engine clones them); sharing the buffer avoids a full copy.
  const identity: tf.KernelFunc = (args) => {
    const { x } = args.inputs as { x: Info };
    if (x.dtype === "string") return fallback(tf.Identity)!.kernelFunc(args);
    (args.backend as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };

  // wasm's MaxPoolGrad was most of a training step of the max-pooling (aizoo) trunk.
  const maxPoolGrad: tf.KernelFunc = ({ inputs, attrs, backend }) => {
    const b = backend as BackendWasm;
    const { dy, input } = inputs as { dy: Info; input: Info };
    const a = attrs as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: "valid" | "same" | number;
      dimRoundingMode?: "floor" | "round" | "ceil";
    };
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const dx = b.makeOutput(input.shape, "float32");
    if (empty(input.shape)) return dx;
    addon.maxPoolBackward(heapView(b, input), heapView(b, dy), heapView(b, dx), convParams(info, 1));
    return dx;
  };

  // SplitV and Concat as runs of contiguous floats (rows = the product of the dimensions before the axis).
  const splitV: tf.KernelFunc = (args) => {
    const b = args.backend as BackendWasm;
    const { x } = args.inputs as { x: Info };
    const a = args.attrs as unknown as { numOrSizeSplits: number[] | number; axis: number };
    if (x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) === 0) return fallback(tf.SplitV)!.kernelFunc(args);
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axis));
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const outs = sizes.map((n) => b.makeOutput(x.shape.map((d, i) => (i === axis ? n : d)), "float32"));
    const src = heapView(b, x);
    let offset = 0;
    outs.forEach((o, i) => {
      // An empty piece has no heap memory to view.
      if (sizes[i] > 0) {
        addon.blockCopy(
          src,
          heapView(b, o),
          rows,
          sizes[i] * inner,
          x.shape[axis] * inner,
          offset,
          sizes[i] * inner,
          0,
        );
      }
      offset += sizes[i] * inner;
    });
    return outs;
  };
  const concat: tf.KernelFunc = (args) => {
    const b = args.backend as BackendWasm;
    const inputs = (args.inputs as unknown as Info[]).filter((t) => tf.util.sizeFromShape(t.shape) > 0);
    const a = args.attrs as unknown as { axis: number };
    if (inputs.length < 2 || inputs.some((t) => t.dtype !== "float32")) return fallback(tf.Concat)!.kernelFunc(args);
    const axis = tf.util.parseAxisParam(a.axis, inputs[0].shape)[0];
    const outShape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
    const out = b.makeOutput(outShape, "float32");
    const dst = heapView(b, out);
    const rows = tf.util.sizeFromShape(outShape.slice(0, axis));
    const inner = tf.util.sizeFromShape(outShape.slice(axis + 1));
    let offset = 0;
    for (const t of inputs) {
      const len = t.shape[axis] * inner;
      addon.blockCopy(heapView(b, t), dst, rows, len, len, 0, outShape[axis] * inner, offset);
      offset += len;
    }
    return out;
  };

  const k = (kernelName: string, kernelFunc: tf.KernelFunc): tf.KernelConfig => ({
    kernelName,
    backendName,
    kernelFunc,
  });
  return [
    k(tf.Conv2D, conv(false)),
    k(tf.Conv2DBackpropInput, backpropInput(false)),
    k(tf.Conv2DBackpropFilter, backpropFilter(false)),
    k(tf.DepthwiseConv2dNative, conv(true)),
    k(tf.DepthwiseConv2dNativeBackpropInput, backpropInput(true)),
    k(tf.DepthwiseConv2dNativeBackpropFilter, backpropFilter(true)),
    k(tf.FusedConv2D, fused(tf.FusedConv2D, false)),
    k(tf.FusedDepthwiseConv2D, fused(tf.FusedDepthwiseConv2D, true)),
    k(tf.Identity, identity),
    k(tf.MaxPoolGrad, maxPoolGrad),
    k(tf.SplitV, splitV),
    k(tf.Concat, concat),
  ];
}
