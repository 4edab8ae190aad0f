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
 * - `Conv2DBackpropInput` (tfjs-wasm has one, but it runs at 1-2.5 GFLOP/s, 4-16% of the forward conv, and
 *   dominated training time): replaced by wasm's own forward Conv2D of dy with the filter rotated 180 degrees and
 *   its channels swapped, one stride-1 conv per stride phase with the sub-filter of the taps that reach it (padding
 *   K-1-p at stride 1; 'same' asymmetric pads exact; dy cropped where a pad exceeds K-1), interleaved into dx.
 *   1x1 layers go through the same path: XNNPACK runs a 1x1 Conv2D as the same GEMM as BatchMatMul (measured
 *   equal), and BatchMatMul with transposeB runs 10x slower. The original config is kept in
 *   {@link ORIGINAL_WASM_KERNELS}; {@link wasmConvInputGrad} switches the override off or picks the strategy.
 *
 * All of them handle 'same', 'valid' and explicit numeric padding, any stride, and (depthwise) dilation; NHWC only
 * (the Conv2DBackpropInput override hands NCHW to the original kernel).
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

// ---------------------------------------------------------------------------------------------------------------
// Conv2DBackpropInput override
// ---------------------------------------------------------------------------------------------------------------

/**
 * How the fast `Conv2DBackpropInput` computes the input gradient (see {@link wasmConvInputGrad}):
 * - "phases": one stride-1 wasm Conv2D of dy per stride phase with the sub-filter of the taps that reach it (rotated
 *   180 degrees, in/out channels swapped), interleaved into dx. At stride 1 that is a single Conv2D with padding
 *   K-1-p, written straight into dx. Same arithmetic as the forward conv.
 * - "dilate": dy spread onto a zero grid (s-1 zeros between samples, padding built in), then one Conv2D; stride^2
 *   times the arithmetic of "phases" at stride > 1.
 * - "auto": "phases" (the faster on every SSDv2 layer measured by `deno task bench:kernels`).
 */
export type ConvInputGradStrategy = "auto" | "phases" | "dilate";

/**
 * Switches of the `Conv2DBackpropInput` override: `strategy` picks the algorithm; `enabled: false` routes calls
 * to tfjs-wasm's own kernel (slow, but independent of this module) without re-registering anything.
 */
export const wasmConvInputGrad: { enabled: boolean; strategy: ConvInputGradStrategy } = {
  enabled: true,
  strategy: "auto",
};

/** tfjs-wasm's own kernel configs that this module replaced, by name (kept to compare against and to fall back). */
export const ORIGINAL_WASM_KERNELS: Map<string, tf.KernelConfig> = new Map();

interface WasmKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

function runWasmKernel(name: string, backend: WasmBackend, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) {
  const kernel = tf.getKernel(name, "wasm");
  if (!kernel) throw new Error(`wasm_kernels: the wasm backend has no ${name} kernel`);
  return kernel.kernelFunc({ inputs, backend: backend as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo;
}

/** One dimension of a stride phase: output positions `a, a+s, ...` (count `n`), their taps and dy window. */
interface PhaseDim {
  /** Number of dx positions in this phase. */
  n: number;
  /** First tap `r` and tap count `m` (taps r, r+s, ..., r+s*(m-1)). */
  r: number;
  m: number;
  /** Padding of dy before/after (negative: crop) so a stride-1 'valid' correlation yields `n` outputs. */
  before: number;
  after: number;
}

function phaseDim(a: number, s: number, k: number, padBefore: number, size: number, dySize: number): PhaseDim {
  const n = Math.max(0, Math.ceil((size - a) / s));
  const r = (((a + padBefore) % s) + s) % s;
  const m = r < k ? Math.ceil((k - r) / s) : 0;
  const q = Math.floor((a + padBefore) / s);
  // dx[s*t + a] = sum_j dy[t + q - j] * w[r + s*j]: a correlation of dy with the reversed sub-filter starting at
  // dy row t + q - (m - 1), so dy needs m-1-q rows of padding before and n+q-dySize after.
  return { n, r, m, before: m - 1 - q, after: n + q - dySize };
}

/**
 * Copies `dy[:, h0:h1, w0:w1, :]` (indices may run outside dy: zeros there) into a new wasm buffer, so that a conv
 * with the remaining (non-negative) padding reads it. Only needed when the padding exceeds K-1 somewhere.
 */
function cropPad(backend: WasmBackend, dy: tf.TensorInfo, h0: number, h1: number, w0: number, w1: number) {
  const [N, OH, OW, C] = dy.shape;
  const out = backend.makeOutput([N, h1 - h0, w1 - w0, C], "float32");
  const heap = backend.wasm.HEAPF32;
  const src = offsetOf(backend, dy) / 4;
  const dst = offsetOf(backend, out) / 4;
  const rowLen = (w1 - w0) * C;
  heap.fill(0, dst, dst + N * (h1 - h0) * rowLen);
  const c0 = Math.max(0, w0);
  const c1 = Math.min(OW, w1);
  for (let n = 0; n < N; n++) {
    for (let h = Math.max(0, h0); h < Math.min(OH, h1); h++) {
      if (c1 <= c0) break;
      const from = src + ((n * OH + h) * OW + c0) * C;
      heap.copyWithin(dst + ((n * (h1 - h0) + h - h0) * (w1 - w0) + c0 - w0) * C, from, from + (c1 - c0) * C);
    }
  }
  return out;
}

/**
 * The sub-filter of one phase for wasm's Conv2D: `[mh, mw, Cout, Cin]`, taps `rh + sh*j` (resp. w) reversed, with
 * input and output channels swapped.
 */
function subFilter(
  backend: WasmBackend,
  filter: tf.TensorInfo,
  ph: PhaseDim,
  pw: PhaseDim,
  sh: number,
  sw: number,
): tf.TensorInfo {
  const [, KW, Ci, Co] = filter.shape;
  const out = backend.makeOutput([ph.m, pw.m, Co, Ci], "float32");
  const heap = backend.wasm.HEAPF32;
  const src = offsetOf(backend, filter) / 4;
  let dst = offsetOf(backend, out) / 4;
  for (let i = 0; i < ph.m; i++) {
    const kh = ph.r + sh * (ph.m - 1 - i);
    for (let j = 0; j < pw.m; j++) {
      const kw = pw.r + sw * (pw.m - 1 - j);
      const tap = src + (kh * KW + kw) * Ci * Co;
      for (let co = 0; co < Co; co++) {
        for (let ci = 0, p = tap + co; ci < Ci; ci++, p += Co) heap[dst++] = heap[p];
      }
    }
  }
  return out;
}

/** Stride-1 'valid'-or-padded Conv2D of dy (cropped first where a pad is negative) on wasm. */
function phaseConv(backend: WasmBackend, dy: tf.TensorInfo, w: tf.TensorInfo, ph: PhaseDim, pw: PhaseDim) {
  const [, OH, OW] = dy.shape;
  const crop = ph.before < 0 || ph.after < 0 || pw.before < 0 || pw.after < 0;
  const x = crop ? cropPad(backend, dy, -ph.before, OH + ph.after, -pw.before, OW + pw.after) : dy;
  try {
    const pad = crop ? "valid" : [[0, 0], [ph.before, ph.after], [pw.before, pw.after], [0, 0]];
    const attrs = { strides: [1, 1], pad, dilations: [1, 1], dataFormat: "NHWC" } as unknown as tf.NamedAttrMap;
    return runWasmKernel("Conv2D", backend, { x, filter: w }, attrs);
  } finally {
    if (crop) backend.disposeData(x.dataId);
  }
}

/** Writes phase output `src` ([N, ph.n, pw.n, C]) into dx at rows `a + sh*t`, columns `b + sw*u`. */
function interleave(
  heap: Float32Array,
  src: number,
  dst: number,
  dims: { N: number; H: number; W: number; C: number; sh: number; sw: number; a: number; b: number },
  ph: PhaseDim,
  pw: PhaseDim,
): void {
  const { N, H, W, C, sh, sw, a, b } = dims;
  const step = sw * C;
  for (let n = 0; n < N; n++) {
    for (let t = 0; t < ph.n; t++) {
      let d = dst + ((n * H + a + sh * t) * W + b) * C;
      if (C >= 32) {
        for (let u = 0; u < pw.n; u++, d += step, src += C) heap.copyWithin(d, src, src + C);
      } else {
        for (let u = 0; u < pw.n; u++, d += step - C) {
          for (let c = 0; c < C; c++) heap[d++] = heap[src++];
        }
      }
    }
  }
}

/** Input gradient by stride phases (see {@link ConvInputGradStrategy}). */
function inputGradPhases(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  if (sh === 1 && sw === 1) {
    const ph = phaseDim(0, 1, KH, top, H, OH);
    const pw = phaseDim(0, 1, KW, left, W, OW);
    const w = subFilter(backend, filter, ph, pw, 1, 1);
    try {
      return phaseConv(backend, dy, w, ph, pw);
    } finally {
      backend.disposeData(w.dataId);
    }
  }
  const out = backend.makeOutput([N, H, W, C], "float32");
  const phases: [number, number, PhaseDim, PhaseDim][] = [];
  for (let a = 0; a < sh; a++) {
    for (let b = 0; b < sw; b++) phases.push([a, b, phaseDim(a, sh, KH, top, H, OH), phaseDim(b, sw, KW, left, W, OW)]);
  }
  if (phases.some(([, , ph, pw]) => ph.n * pw.n > 0 && ph.m * pw.m === 0)) {
    const base = offsetOf(backend, out) / 4;
    backend.wasm.HEAPF32.fill(0, base, base + N * H * W * C);
  }
  for (const [a, b, ph, pw] of phases) {
    if (ph.n * pw.n === 0 || ph.m * pw.m === 0) continue;
    const w = subFilter(backend, filter, ph, pw, sh, sw);
    let part: tf.TensorInfo;
    try {
      part = phaseConv(backend, dy, w, ph, pw);
    } finally {
      backend.disposeData(w.dataId);
    }
    const heap = backend.wasm.HEAPF32;
    interleave(heap, offsetOf(backend, part) / 4, offsetOf(backend, out) / 4, { N, H, W, C, sh, sw, a, b }, ph, pw);
    backend.disposeData(part.dataId);
  }
  return out;
}

/** Input gradient by a zero-dilated, padded copy of dy and one stride-1 Conv2D with the rotated filter. */
function inputGradDilate(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: N, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, outChannels: Co } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  // grid row u holds dy row o at u = o*s + K-1-p; a 'valid' correlation of H+K-1 rows gives H rows of dx
  const GH = H + KH - 1;
  const GW = W + KW - 1;
  const grid = backend.makeOutput([N, GH, GW, Co], "float32");
  const full = (k: number) => ({ n: 1, r: 0, m: k, before: 0, after: 0 });
  let w: tf.TensorInfo | null = null;
  try {
    w = subFilter(backend, filter, full(KH), full(KW), 1, 1);
    const heap = backend.wasm.HEAPF32;
    const g = offsetOf(backend, grid) / 4;
    const src = offsetOf(backend, dy) / 4;
    heap.fill(0, g, g + N * GH * GW * Co);
    const [ow0, ow1] = validRange(KW - 1 - left, sw, GW, OW);
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < OH; o++) {
        const u = o * sh + KH - 1 - top;
        if (u < 0 || u >= GH) continue;
        for (let ow = ow0; ow < ow1; ow++) {
          const from = src + ((n * OH + o) * OW + ow) * Co;
          heap.copyWithin(g + ((n * GH + u) * GW + ow * sw + KW - 1 - left) * Co, from, from + Co);
        }
      }
    }
    const attrs = {
      strides: [1, 1],
      pad: "valid",
      dilations: [1, 1],
      dataFormat: "NHWC",
    } as unknown as tf.NamedAttrMap;
    return runWasmKernel("Conv2D", backend, { x: grid, filter: w }, attrs);
  } finally {
    backend.disposeData(grid.dataId);
    if (w) backend.disposeData(w.dataId);
  }
}

/**
 * Conv2DBackpropInput on wasm from wasm's own forward Conv2D (see {@link wasmConvInputGrad}); NCHW input and calls
 * made while the override is disabled go to tfjs-wasm's original kernel.
 */
function conv2DBackpropInput(args: WasmKernelArgs) {
  const name = "Conv2DBackpropInput";
  const original = ORIGINAL_WASM_KERNELS.get(name);
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const nchw = attrs.dataFormat === "NCHW" || (attrs.dataFormat as string) === "channelsFirst";
  if (original && (!wasmConvInputGrad.enabled || nchw)) {
    return original.kernelFunc(args as unknown as Parameters<tf.KernelFunc>[0]);
  }
  const backend = args.backend as WasmBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  checkFloat(name, ["dy", dy], ["filter", filter]);
  channelsLast(name, attrs.dataFormat);
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, { ...attrs, dilations: 1 }, false);
  if (dy.shape[0] !== info.batchSize || dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth) {
    throw new Error(`${name}: dy shape [${dy.shape}] does not match the conv output [${info.outShape}]`);
  }
  if (dy.shape[3] !== filter.shape[3]) {
    throw new Error(`${name}: dy has ${dy.shape[3]} channels but the filter [${filter.shape}] has ${filter.shape[3]}`);
  }
  if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0 || dy.shape.includes(0)) {
    return zeroOutput(backend, inputShape).out;
  }
  return wasmConvInputGrad.strategy === "dilate"
    ? inputGradDilate(backend, dy, filter, info)
    : inputGradPhases(backend, dy, filter, info);
}

/** Registers the Conv2DBackpropInput override once, keeping the original config (setup included). */
function overrideConvInputGrad(): boolean {
  const name = "Conv2DBackpropInput";
  const current = tf.getKernel(name, "wasm");
  if (current?.kernelFunc === (conv2DBackpropInput as unknown as tf.KernelFunc)) return false;
  if (current) {
    ORIGINAL_WASM_KERNELS.set(name, current);
    tf.unregisterKernel(name, "wasm");
  }
  // keep the original's setupFunc: it binds the wasm entry point that the fallback path calls
  tf.registerKernel({
    kernelName: name,
    backendName: "wasm",
    setupFunc: current?.setupFunc,
    kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
  });
  return true;
}

/**
 * Registers on the "wasm" backend each kernel of {@link WASM_TRAINING_KERNELS} that it does not have yet, and
 * replaces tfjs-wasm's slow `Conv2DBackpropInput` with a fast one built on wasm's forward Conv2D (the original
 * config is kept in {@link ORIGINAL_WASM_KERNELS}; `wasmConvInputGrad.enabled = false` routes calls back to it).
 * Returns the names it registered. Idempotent: a second call registers nothing, and a missing kernel that a
 * future tfjs-backend-wasm provides itself is left alone. Call it before or after `tf.setBackend("wasm")`.
 */
export function registerWasmTrainingKernels(): string[] {
  const added: string[] = [];
  for (const kernelName of WASM_TRAINING_KERNELS) {
    if (tf.getKernel(kernelName, "wasm")) continue;
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: KERNEL_FUNCS[kernelName] });
    added.push(kernelName);
  }
  if (overrideConvInputGrad()) added.push("Conv2DBackpropInput");
  return added;
}
