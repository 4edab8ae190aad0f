/**
 * Training kernels that tfjs-backend-wasm 4.22.0 lacks, registered on the "wasm" backend.
 *
 * Without them `tf.grad` of a conv2d or depthwiseConv2d fails on wasm. They are built so that the arithmetic runs
 * in fast wasm code, never in JavaScript loops (which run at 1-2 GFLOP/s here):
 * - `Conv2DBackpropFilter`: the filter gradient is one matrix product, `dW[K, Cout] = P^T[K, M] @ dY[M, Cout]`, where
 *   `P^T` holds the input patches (im2col, written transposed so that wasm's fast non-transposed BatchMatMul applies;
 *   its transposed variants run 8x slower) with `K = kh*kw*Cin` and `M = N*OH*OW`. Large batches are split into
 *   chunks of images so the patch buffer stays under {@link wasmKernelLimits}.
 * - `DepthwiseConv2dNativeBackpropFilter` / `...BackpropInput`: per-channel multiply-accumulates with no shared
 *   operand, so no matrix product fits; each (image, output row, tap) is one call of a small SIMD routine
 *   ({@link maccRows}) that works in place on the backend's heap. A channel multiplier above 1 (unused by our
 *   models) takes an exact but slower JavaScript path.
 *
 * All three handle 'same', 'valid' and explicit numeric padding, any stride, and (depthwise) dilation; NHWC only.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type MaccRows, maccRowsFor } from "./simd.ts";

/** The kernels this module adds to the wasm backend. */
export const WASM_TRAINING_KERNELS = [
  "Conv2DBackpropFilter",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
] as const;

/**
 * Tunables. `maxPatchFloats` bounds the im2col buffer of one Conv2DBackpropFilter chunk (default 16 Mi floats,
 * 64 MiB): a batch of 32 images at 120x160 would otherwise need 350 MiB of wasm heap for one layer.
 */
export const wasmKernelLimits = { maxPatchFloats: 16 * 1024 * 1024 };

/** The parts of tfjs-backend-wasm's BackendWasm that the kernels use (it does not export the class's type). */
interface WasmBackend {
  wasm: { HEAPF32: Float32Array; asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
}

type Pad = "same" | "valid" | number | tf.backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;

/** Byte offset of a tensor's data in the wasm heap. */
function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (!data) throw new Error("wasm_kernels: tensor is not on the wasm backend");
  return data.memoryOffset;
}

function checkFloat(kernel: string, ...tensors: [string, tf.TensorInfo][]) {
  for (const [name, t] of tensors) {
    if (t.dtype !== "float32") throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
    if (t.shape.length !== 4) throw new Error(`${kernel}: ${name} must be rank 4, got shape [${t.shape}]`);
  }
}

function channelsLast(kernel: string, dataFormat: string | undefined): "channelsLast" {
  if (dataFormat !== undefined && dataFormat !== "NHWC" && dataFormat !== "channelsLast") {
    throw new Error(`${kernel}: only NHWC is supported on wasm, got dataFormat '${dataFormat}'`);
  }
  return "channelsLast";
}

/** Output positions `[lo, hi)` whose input index `o * stride + offset` lies in `[0, limit)`. */
function validRange(offset: number, stride: number, limit: number, count: number): [number, number] {
  const lo = Math.max(0, Math.ceil(-offset / stride));
  const hi = Math.min(count, Math.floor((limit - 1 - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  attrs: { strides: number | [number, number]; pad: Pad; dimRoundingMode?: Rounding; dilations?: number | number[] },
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  const dilations = (attrs.dilations ?? 1) as number | [number, number];
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    "channelsLast",
  );
}

function runBatchMatMul(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const kernel = tf.getKernel("BatchMatMul", "wasm");
  if (!kernel) throw new Error("wasm_kernels: the wasm backend has no BatchMatMul kernel");
  return kernel.kernelFunc({
    inputs: { a, b },
    backend: backend as unknown as tf.KernelBackend,
    attrs: { transposeA: false, transposeB: false },
  }) as tf.TensorInfo;
}

/**
 * Writes the transposed patch matrix for images `[n0, n1)`: row `(kh, kw, ci)`, column `(n - n0, oh, ow)`,
 * zero where the tap falls in the padding.
 */
function fillPatchesT(
  heap: Float32Array,
  xBase: number,
  outBase: number,
  info: tf.backend_util.Conv2DInfo,
  n0: number,
  n1: number,
): void {
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const cols = (n1 - n0) * OH * OW;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const offW = kw * dw - left;
      const [lo, hi] = validRange(offW, sw, W, OW);
      for (let n = n0; n < n1; n++) {
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * sh + kh * dh - top;
          const col0 = ((n - n0) * OH + oh) * OW;
          for (let ci = 0; ci < C; ci++) {
            const row = outBase + ((kh * KW + kw) * C + ci) * cols + col0;
            if (ih < 0 || ih >= H) {
              heap.fill(0, row, row + OW);
              continue;
            }
            if (lo > 0) heap.fill(0, row, row + lo);
            if (hi < OW) heap.fill(0, row + hi, row + OW);
            let src = xBase + ((n * H + ih) * W + lo * sw + offW) * C + ci;
            const step = sw * C;
            for (let ow = lo; ow < hi; ow++, src += step) heap[row + ow] = heap[src];
          }
        }
      }
    }
  }
}

/** Conv2DBackpropFilter on wasm: im2col (transposed) + BatchMatMul, chunked over the batch. */
function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) {
  const name = "Conv2DBackpropFilter";
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  checkFloat(name, ["x", x], ["dy", dy]);
  channelsLast(name, attrs.dataFormat);
  const info = convInfo(x.shape, attrs.filterShape, attrs, false);
  const { batchSize: N, outHeight: OH, outWidth: OW, outChannels: Co } = info;
  if (dy.shape[0] !== N || dy.shape[1] !== OH || dy.shape[2] !== OW || dy.shape[3] !== Co) {
    throw new Error(`${name}: dy shape [${dy.shape}] does not match the conv output [${info.outShape}]`);
  }
  const K = info.filterHeight * info.filterWidth * info.inChannels;
  const perImage = OH * OW;
  const imagesPerChunk = Math.max(1, Math.floor(wasmKernelLimits.maxPatchFloats / Math.max(1, K * perImage)));
  const filterShape = attrs.filterShape as number[];
  if (N * perImage === 0) {
    const zero = backend.makeOutput(filterShape, "float32");
    const base = offsetOf(backend, zero) / 4;
    backend.wasm.HEAPF32.fill(0, base, base + K * Co);
    return zero;
  }
  let total: tf.TensorInfo | null = null;
  for (let n0 = 0; n0 < N; n0 += imagesPerChunk) {
    const n1 = Math.min(N, n0 + imagesPerChunk);
    const cols = (n1 - n0) * perImage;
    const patches = backend.makeOutput([1, K, cols], "float32");
    const whole = n0 === 0 && n1 === N;
    const dyChunk = whole
      ? { dataId: dy.dataId, shape: [1, cols, Co], dtype: "float32" as const }
      : backend.makeOutput([1, cols, Co], "float32");
    let prod: tf.TensorInfo;
    try {
      const heap = backend.wasm.HEAPF32; // fetched after the allocations above: memory growth replaces the view
      fillPatchesT(heap, offsetOf(backend, x) / 4, offsetOf(backend, patches) / 4, info, n0, n1);
      if (!whole) {
        const src = offsetOf(backend, dy) / 4 + n0 * perImage * Co;
        heap.copyWithin(offsetOf(backend, dyChunk) / 4, src, src + cols * Co);
      }
      prod = runBatchMatMul(backend, patches, dyChunk);
    } finally {
      backend.disposeData(patches.dataId);
      if (!whole) backend.disposeData(dyChunk.dataId);
    }
    if (total === null) {
      total = prod;
    } else {
      const heap = backend.wasm.HEAPF32;
      const t = offsetOf(backend, total) / 4;
      const p = offsetOf(backend, prod) / 4;
      for (let i = 0; i < K * Co; i++) heap[t + i] += heap[p + i];
      backend.disposeData(prod.dataId);
    }
  }
  const out = total as tf.TensorInfo;
  return { dataId: out.dataId, shape: filterShape, dtype: out.dtype };
}

interface DepthwisePlan {
  info: tf.backend_util.Conv2DInfo;
  multiplier: number;
}

function depthwisePlan(
  name: string,
  xShape: number[],
  filterShape: number[],
  dyShape: number[],
  attrs: tf.DepthwiseConv2dNativeBackpropFilterAttrs | tf.DepthwiseConv2dNativeBackpropInputAttrs,
): DepthwisePlan {
  const info = convInfo(xShape, filterShape, attrs, true);
  if (
    dyShape[0] !== info.batchSize || dyShape[1] !== info.outHeight || dyShape[2] !== info.outWidth ||
    dyShape[3] !== info.outChannels
  ) {
    throw new Error(`${name}: dy shape [${dyShape}] does not match the conv output [${info.outShape}]`);
  }
  return { info, multiplier: filterShape[3] };
}

/**
 * Calls `visit(n, oh, ih, kh, kw, lo, rows, iw0)` for every (image, output row, tap) whose input row is inside
 * the image, with the output columns `[lo, lo + rows)` whose input column (from `iw0`, step strideWidth) is too.
 */
function forEachTapRow(
  info: tf.backend_util.Conv2DInfo,
  visit: (n: number, oh: number, ih: number, kh: number, kw: number, lo: number, rows: number, iw0: number) => void,
): void {
  const { batchSize: N, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const ranges = Array.from({ length: KW }, (_, kw) => validRange(kw * dw - left, sw, W, OW));
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * sh + kh * dh - top;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const [lo, hi] = ranges[kw];
          if (hi > lo) visit(n, oh, ih, kh, kw, lo, hi - lo, lo * sw + kw * dw - left);
        }
      }
    }
  }
}

function zeroOutput(backend: WasmBackend, shape: number[]): { out: tf.TensorInfo; base: number } {
  const out = backend.makeOutput(shape, "float32");
  const base = offsetOf(backend, out) / 4;
  backend.wasm.HEAPF32.fill(0, base, base + shape.reduce((a, b) => a * b, 1));
  return { out, base };
}

function simdFor(backend: WasmBackend): MaccRows | null {
  return maccRowsFor(backend.wasm.asm.memory);
}

/** DepthwiseConv2dNativeBackpropFilter: `dW[kh,kw,c,q] = sum x[n, ih, iw, c] * dy[n, oh, ow, c*m + q]`. */
function depthwiseBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) {
  const name = "DepthwiseConv2dNativeBackpropFilter";
  const backend = args.backend as WasmBackend;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  checkFloat(name, ["x", x], ["dy", dy]);
  const { info, multiplier: m } = depthwisePlan(name, x.shape, attrs.filterShape, dy.shape, attrs);
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideWidth: sw, filterWidth: KW } =
    info;
  const { out, base: wBase } = zeroOutput(backend, attrs.filterShape as number[]);
  const xBase = offsetOf(backend, x) / 4;
  const dyBase = offsetOf(backend, dy) / 4;
  const macc = m === 1 ? simdFor(backend) : null;
  if (macc) {
    forEachTapRow(info, (n, oh, ih, kh, kw, lo, rows, iw0) => {
      const a = (xBase + ((n * H + ih) * W + iw0) * C) * 4;
      const b = (dyBase + ((n * OH + oh) * OW + lo) * C) * 4;
      macc(a, sw * C * 4, b, C * 4, (wBase + (kh * KW + kw) * C) * 4, 0, rows, C);
    });
    return out;
  }
  const heap = backend.wasm.HEAPF32;
  const Cm = C * m;
  forEachTapRow(info, (n, oh, ih, kh, kw, lo, rows, iw0) => {
    const w0 = wBase + (kh * KW + kw) * Cm;
    for (let r = 0; r < rows; r++) {
      const xr = xBase + ((n * H + ih) * W + iw0 + r * sw) * C;
      const yr = dyBase + ((n * OH + oh) * OW + lo + r) * Cm;
      for (let c = 0; c < C; c++) {
        const xv = heap[xr + c];
        for (let q = 0; q < m; q++) heap[w0 + c * m + q] += xv * heap[yr + c * m + q];
      }
    }
  });
  return out;
}

/** DepthwiseConv2dNativeBackpropInput: `dx[n, ih, iw, c] = sum w[kh, kw, c, q] * dy[n, oh, ow, c*m + q]`. */
function depthwiseBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) {
  const name = "DepthwiseConv2dNativeBackpropInput";
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  checkFloat(name, ["dy", dy], ["filter", filter]);
  const inputShape = attrs.inputShape as number[];
  const { info, multiplier: m } = depthwisePlan(name, inputShape, filter.shape, dy.shape, attrs);
  const { inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, strideWidth: sw, filterWidth: KW } =
    info;
  if (filter.shape[2] !== C) {
    throw new Error(`${name}: filter has ${filter.shape[2]} input channels, inputShape [${inputShape}] has ${C}`);
  }
  const { out, base: dxBase } = zeroOutput(backend, inputShape);
  const wBase = offsetOf(backend, filter) / 4;
  const dyBase = offsetOf(backend, dy) / 4;
  const macc = m === 1 ? simdFor(backend) : null;
  if (macc) {
    forEachTapRow(info, (n, oh, ih, kh, kw, lo, rows, iw0) => {
      const o = (dxBase + ((n * H + ih) * W + iw0) * C) * 4;
      const b = (dyBase + ((n * OH + oh) * OW + lo) * C) * 4;
      macc((wBase + (kh * KW + kw) * C) * 4, 0, b, C * 4, o, sw * C * 4, rows, C);
    });
    return out;
  }
  const heap = backend.wasm.HEAPF32;
  const Cm = C * m;
  forEachTapRow(info, (n, oh, ih, kh, kw, lo, rows, iw0) => {
    const w0 = wBase + (kh * KW + kw) * Cm;
    for (let r = 0; r < rows; r++) {
      const xr = dxBase + ((n * H + ih) * W + iw0 + r * sw) * C;
      const yr = dyBase + ((n * OH + oh) * OW + lo + r) * Cm;
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let q = 0; q < m; q++) s += heap[w0 + c * m + q] * heap[yr + c * m + q];
        heap[xr + c] += s;
      }
    }
  });
  return out;
}

const KERNEL_FUNCS: Record<(typeof WASM_TRAINING_KERNELS)[number], tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter as unknown as tf.KernelFunc,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput as unknown as tf.KernelFunc,
};

/**
 * Registers on the "wasm" backend each kernel of {@link WASM_TRAINING_KERNELS} that it does not have yet, and
 * returns the names it registered. Idempotent: a second call registers nothing, and a kernel that a future
 * tfjs-backend-wasm provides itself is left alone. Call it before or after `tf.setBackend("wasm")`.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const kernelName of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(kernelName, "wasm")) continue;
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: KERNEL_FUNCS[kernelName] });
    added.push(kernelName);
  }
  return added;
}
