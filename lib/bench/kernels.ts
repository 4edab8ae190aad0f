/**
 * Timing of the convolution kernels (forward and both gradients) over the SSDv2 layer shapes at 240x320, used by
 * `deno task bench:kernels`. Speed is reported, never asserted.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { wasmConvInputGrad } from "../backend/wasm_kernels.ts";

/** One convolution layer of the model, as the benchmark runs it (input size before padding). */
export interface ConvLayer {
  name: string;
  kind: "conv" | "depthwise";
  /** Input height and width. */
  h: number;
  w: number;
  cin: number;
  /** Output channels (depthwise: equal to cin, multiplier 1). */
  cout: number;
  k: 1 | 3;
  stride: 1 | 2;
}

/**
 * The distinct conv shapes of SSDv2 (c = 16) at 240x320, from docs/design.md: 3x3 convs are ZP (one pixel of
 * zeros each side) + 'valid', so explicit padding 1; 1x1 convs have none.
 */
export const SSDV2_LAYERS: readonly ConvLayer[] = [
  { name: "CB1 3->16 s2", kind: "conv", h: 240, w: 320, cin: 3, cout: 16, k: 3, stride: 2 },
  { name: "CB2 16->32", kind: "conv", h: 120, w: 160, cin: 16, cout: 32, k: 3, stride: 1 },
  { name: "CB3 32->32 s2", kind: "conv", h: 120, w: 160, cin: 32, cout: 32, k: 3, stride: 2 },
  { name: "CB4 32->32", kind: "conv", h: 60, w: 80, cin: 32, cout: 32, k: 3, stride: 1 },
  { name: "CB5 32->64 s2", kind: "conv", h: 60, w: 80, cin: 32, cout: 64, k: 3, stride: 2 },
  { name: "CB6 64->64", kind: "conv", h: 30, w: 40, cin: 64, cout: 64, k: 3, stride: 1 },
  { name: "CB9 64->128 s2", kind: "conv", h: 30, w: 40, cin: 64, cout: 128, k: 3, stride: 2 },
  { name: "CB10 128->128", kind: "conv", h: 15, w: 20, cin: 128, cout: 128, k: 3, stride: 1 },
  { name: "DCB1 dw 128 s2", kind: "depthwise", h: 15, w: 20, cin: 128, cout: 128, k: 3, stride: 2 },
  { name: "DCB1 pw 128->256", kind: "conv", h: 8, w: 10, cin: 128, cout: 256, k: 1, stride: 1 },
  { name: "DCB2 dw 256", kind: "depthwise", h: 8, w: 10, cin: 256, cout: 256, k: 3, stride: 1 },
  { name: "DCB2 pw 256->256", kind: "conv", h: 8, w: 10, cin: 256, cout: 256, k: 1, stride: 1 },
  { name: "DCB3 dw 256 s2", kind: "depthwise", h: 8, w: 10, cin: 256, cout: 256, k: 3, stride: 2 },
  { name: "DCB3 pw 256->256", kind: "conv", h: 4, w: 5, cin: 256, cout: 256, k: 1, stride: 1 },
];

/** Output height and width of `layer` (padding 1 for 3x3, none for 1x1). */
export function outputSize(layer: ConvLayer): [number, number] {
  const pad = layer.k === 3 ? 2 : 0;
  return [
    Math.floor((layer.h + pad - layer.k) / layer.stride) + 1,
    Math.floor((layer.w + pad - layer.k) / layer.stride) + 1,
  ];
}

/** Floating-point operations (2 per multiply-add) of the forward pass, which each gradient also performs. */
export function layerFlops(layer: ConvLayer, batch: number): number {
  const [oh, ow] = outputSize(layer);
  const perOutput = layer.k * layer.k * (layer.kind === "conv" ? layer.cin : 1);
  return 2 * batch * oh * ow * layer.cout * perOutput;
}

/** Timing of one kernel: the median of the repetitions, in milliseconds, and the rate it implies. */
export interface KernelTiming {
  kernel: string;
  ms: number;
  gflops: number;
  reps: number;
}

/** Timings of one layer; `ratio*` is gradient GFLOP/s over forward GFLOP/s (target >= 1/3). */
export interface LayerBench {
  layer: ConvLayer;
  batch: number;
  flops: number;
  forward: KernelTiming;
  filterGrad: KernelTiming;
  inputGrad: KernelTiming;
  ratioFilter: number;
  ratioInput: number;
  /**
   * Conv layers with `compareBuiltin`: tfjs-wasm's own Conv2DBackpropInput (which ours replaces) and its ratio to
   * forward.
   */
  inputGradBuiltin?: KernelTiming;
  ratioInputBuiltin?: number;
}

/** Options of {@link benchLayer}. */
export interface BenchOptions {
  batch?: number;
  /** Keep repeating a kernel until this much time has passed (after one warm-up run). */
  minMs?: number;
  /** At most this many timed repetitions. */
  maxReps?: number;
  /** Also time tfjs-wasm's original Conv2DBackpropInput on conv layers (wasm backend only; it is slow). */
  compareBuiltin?: boolean;
}

function timeKernel(kernel: string, flops: number, run: () => tf.Tensor, options: BenchOptions): KernelTiming {
  const minMs = options.minMs ?? 300;
  const maxReps = options.maxReps ?? 15;
  const warm = run();
  warm.dataSync();
  warm.dispose();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 2 || (times.length < maxReps && performance.now() - start < minMs)) {
    const t0 = performance.now();
    const y = run();
    y.dataSync();
    times.push(performance.now() - t0);
    y.dispose();
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  return { kernel, ms, gflops: flops / (ms * 1e6), reps: times.length };
}

/** Times forward, filter-gradient and input-gradient kernels of `layer` on the active backend. */
export function benchLayer(layer: ConvLayer, options: BenchOptions = {}): LayerBench {
  const batch = options.batch ?? 8;
  const [oh, ow] = outputSize(layer);
  const flops = layerFlops(layer, batch);
  const pad = layer.k === 3 ? [[0, 0], [1, 1], [1, 1], [0, 0]] : "valid";
  const depthwise = layer.kind === "depthwise";
  const filterShape = depthwise ? [layer.k, layer.k, layer.cin, 1] : [layer.k, layer.k, layer.cin, layer.cout];
  const xShape = [batch, layer.h, layer.w, layer.cin];
  const x = tf.randomUniform(xShape, -1, 1);
  const filter = tf.randomUniform(filterShape, -1, 1);
  const dy = tf.randomUniform([batch, oh, ow, layer.cout], -1, 1);
  const strides = [layer.stride, layer.stride];
  const common = { strides, pad, dilations: [1, 1], dataFormat: "NHWC" } as unknown as tf.NamedAttrMap;
  const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap) => () =>
    tf.engine().runKernel(kernel, inputs, { ...common, ...attrs }) as tf.Tensor;
  try {
    const names = depthwise
      ? ["DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput"]
      : ["Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput"];
    const forward = timeKernel(names[0], flops, run(names[0], { x, filter }, {}), options);
    const filterGrad = timeKernel(names[1], flops, run(names[1], { x, dy }, { filterShape }), options);
    const runInput = run(names[2], { dy, filter }, { inputShape: xShape });
    const inputGrad = timeKernel(names[2], flops, runInput, options);
    let inputGradBuiltin: KernelTiming | undefined;
    if (options.compareBuiltin && !depthwise) {
      const saved = wasmConvInputGrad.enabled;
      wasmConvInputGrad.enabled = false;
      try {
        inputGradBuiltin = timeKernel(`${names[2]} (tfjs-wasm)`, flops, runInput, options);
      } finally {
        wasmConvInputGrad.enabled = saved;
      }
    }
    return {
      layer,
      batch,
      flops,
      forward,
      filterGrad,
      inputGrad,
      ratioFilter: filterGrad.gflops / forward.gflops,
      ratioInput: inputGrad.gflops / forward.gflops,
      ...(inputGradBuiltin ? { inputGradBuiltin, ratioInputBuiltin: inputGradBuiltin.gflops / forward.gflops } : {}),
    };
  } finally {
    tf.dispose([x, filter, dy]);
  }
}

/**
 * A plain-text table of results, one layer a row; columns for tfjs-wasm's original input gradient appear when any
 * result has them ("-" on depthwise layers).
 */
export function formatBenchTable(results: readonly LayerBench[]): string {
  const head = ["layer", "in (HxWxC)", "MFLOP", "fwd GF/s", "dW GF/s", "dW/fwd", "dX GF/s", "dX/fwd"];
  const builtin = results.some((r) => r.inputGradBuiltin);
  if (builtin) head.push("dX orig GF/s", "orig/fwd", "speedup");
  const rows = results.map((r) => [
    r.layer.name,
    `${r.layer.h}x${r.layer.w}x${r.layer.cin}`,
    (r.flops / 1e6).toFixed(1),
    r.forward.gflops.toFixed(2),
    r.filterGrad.gflops.toFixed(2),
    r.ratioFilter.toFixed(2),
    r.inputGrad.gflops.toFixed(2),
    r.ratioInput.toFixed(2),
    ...(!builtin ? [] : r.inputGradBuiltin
      ? [
        r.inputGradBuiltin.gflops.toFixed(2),
        (r.ratioInputBuiltin as number).toFixed(2),
        `${(r.inputGradBuiltin.ms / r.inputGrad.ms).toFixed(1)}x`,
      ]
      : ["-", "-", "-"]),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
