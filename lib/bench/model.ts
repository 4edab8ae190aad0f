/**
 * Measuring the detector on a backend: training images/s (momentum-SGD step including the multibox loss),
 * inference frames/s (as detection runs it: the native plan on the native backend; and through `model.predict`),
 * the machine's attainable peak from a large matmul, and a per-kernel profile of one step.
 * Used by `deno task bench`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { matchBatch } from "../detect/mod.ts";
import { multiboxLoss } from "../loss/mod.ts";
import type { Detector } from "../model/mod.ts";
import type { Box } from "../types.ts";
import { Rng } from "../util/rng.ts";
import type { NativeAddon } from "../backend/native/addon.ts";
import { nativePlanFor } from "../inference/native_plan.ts";

/** A synthetic training batch: images in [-0.5, 0.5] and matched targets. */
export interface SyntheticBatch {
  x: tf.Tensor4D;
  labels: tf.Tensor2D;
  offsets: tf.Tensor3D;
}

/** Random images and 1-3 random boxes per image, matched against the detector's priors (seeded). */
export function syntheticBatch(detector: Detector, options: { batch: number; seed?: number }): SyntheticBatch {
  const { batch } = options;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`model_bench: batch must be a positive integer`);
  const rng = new Rng(options.seed ?? 0);
  const [, h, w, c] = detector.model.inputs[0].shape as number[];
  const boxes: Box[][] = [];
  const labels: number[][] = [];
  for (let i = 0; i < batch; i++) {
    const n = rng.int(1, 3);
    const bs: Box[] = [];
    for (let j = 0; j < n; j++) {
      const bw = 0.05 + 0.3 * rng.next(), bh = 0.05 + 0.3 * rng.next();
      const x1 = rng.next() * (1 - bw), y1 = rng.next() * (1 - bh);
      bs.push([x1, y1, x1 + bw, y1 + bh]);
    }
    boxes.push(bs);
    labels.push(bs.map(() => rng.int(1, 2)));
  }
  const m = matchBatch(boxes, labels, { priors: detector.priors });
  const P = detector.priors.length / 4;
  const pixels = new Float32Array(batch * h * w * c);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.next() - 0.5;
  return {
    x: tf.tensor4d(pixels, [batch, h, w, c]),
    labels: tf.tensor2d(m.labels, [batch, P], "int32"),
    offsets: tf.tensor3d(m.offsets, [batch, P, 4]),
  };
}

/** One momentum-SGD step on the batch; returns the loss. */
export function trainStep(detector: Detector, data: SyntheticBatch, optimizer: tf.Optimizer): number {
  const cost = optimizer.minimize(() => {
    const [logits, offsets] = detector.model.apply(data.x, { training: true }) as tf.Tensor3D[];
    return multiboxLoss({ logits, offsets }, { labels: data.labels, offsets: data.offsets }).total;
  }, true);
  const v = cost!.dataSync()[0];
  cost!.dispose();
  return v;
}

/**
 * Timing options: `repeats` timed windows (default 1), each of at least `minSeconds / repeats` of work and at least
 * one and at most `maxIters` calls.
 */
export interface TimingOptions {
  minSeconds?: number;
  maxIters?: number;
  warmup?: number;
  repeats?: number;
}

/** What {@link timeIt} measured: the median window's seconds per call, the calls timed, and the windows' range. */
export interface Timing {
  seconds: number;
  iters: number;
  /** Fastest and slowest window, seconds per call. */
  range: [number, number];
}

/**
 * Runs `fn` `warmup` times, then times it in `repeats` windows and reports the median window: on a shared machine
 * one disturbed window moves a mean, not a median.
 */
export function timeIt(fn: () => void, options: TimingOptions = {}): Timing {
  const { minSeconds = 2, maxIters = 1000, warmup = 1, repeats = 1 } = options;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`timeIt: repeats must be a positive integer`);
  for (let i = 0; i < warmup; i++) fn();
  const windows: number[] = [];
  let total = 0;
  for (let r = 0; r < repeats; r++) {
    let iters = 0;
    const t0 = performance.now();
    while (iters < maxIters && (iters === 0 || performance.now() - t0 < (minSeconds / repeats) * 1000)) {
      fn();
      iters++;
    }
    windows.push((performance.now() - t0) / 1000 / iters);
    total += iters;
  }
  return { seconds: median(windows), iters: total, range: [Math.min(...windows), Math.max(...windows)] };
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Training images/s at the batch of `data`, on the active backend. Uses `options.optimizer` when given (tfjs's
 * momentum optimizer leaves one tensor behind per construction, so callers that loop should pass one); otherwise a
 * Nesterov momentum-SGD optimizer (lr 1e-2, momentum 0.9) made and disposed here.
 */
export function benchTraining(
  detector: Detector,
  data: SyntheticBatch,
  options: TimingOptions & { optimizer?: tf.Optimizer } = {},
): number {
  const { seconds } = withOptimizer(options.optimizer, (opt) => timeIt(() => trainStep(detector, data, opt), options));
  return data.x.shape[0] / seconds;
}

/** The bench's optimizer: Nesterov momentum-SGD, lr 1e-2, momentum 0.9 (the caller disposes it). */
export function benchOptimizer(): tf.Optimizer {
  return tf.train.momentum(1e-2, 0.9, true);
}

/** Runs `fn` with `given`, or with a {@link benchOptimizer} made for the call and disposed after it. */
function withOptimizer<T>(given: tf.Optimizer | undefined, fn: (opt: tf.Optimizer) => T): T {
  const opt = given ?? benchOptimizer();
  try {
    return fn(opt);
  } finally {
    if (!given) opt.dispose();
  }
}

/**
 * How detection runs the forward pass of `detector` on the active backend (lib/inference/native_plan.ts): `plan`
 * (the native plan) or `predict`.
 */
export function inferencePath(detector: Detector): "plan" | "predict" {
  return nativePlanFor(detector.model) ? "plan" : "predict";
}

/**
 * Inference images/s at the batch of `x` as detection runs it: the native plan where {@link inferencePath} says
 * `plan` (built before the timing; outputs read into fresh arrays each call, as `predictOutputs` does), else
 * {@link benchPredict}.
 */
export function benchInference(detector: Detector, x: tf.Tensor4D, options: TimingOptions = {}): number {
  const plan = nativePlanFor(detector.model);
  if (!plan) return benchPredict(detector, x, options);
  const pixels = x.dataSync() as Float32Array;
  const b = x.shape[0];
  const { seconds } = timeIt(() => plan.run(pixels, b), options);
  return b / seconds;
}

/** Inference images/s at the batch of `x` through `model.predict` on the active backend, outputs read back. */
export function benchPredict(detector: Detector, x: tf.Tensor4D, options: TimingOptions = {}): number {
  const { seconds } = timeIt(() => {
    const outs = detector.model.predict(x) as tf.Tensor[];
    outs.forEach((o) => o.dataSync());
    tf.dispose(outs);
  }, options);
  return x.shape[0] / seconds;
}

/** Attainable GFLOP/s from an n x n x n single-precision matmul: oneDNN's sgemm (fastest run) when the addon is given. */
export function peakGflops(options: { addon?: NativeAddon | null; n?: number; minSeconds?: number } = {}): {
  gflops: number;
  method: string;
} {
  const n = options.n ?? 2048;
  const flops = 2 * n * n * n;
  if (options.addon) {
    const a = new Float32Array(n * n).fill(0.5), b = new Float32Array(n * n).fill(0.25), c = new Float32Array(n * n);
    const addon = options.addon;
    // Fastest of the timed runs: the machine is shared, and a peak is what the hardware attains at best.
    let seconds = Infinity;
    timeIt(() => {
      const t0 = performance.now();
      addon.sgemm(n, n, n, a, b, c);
      seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    }, { minSeconds: options.minSeconds ?? 1 });
    if (c[0] !== 0.125 * n) throw new Error(`model_bench: sgemm probe gave ${c[0]}, expected ${0.125 * n}`);
    return { gflops: flops / seconds / 1e9, method: `oneDNN sgemm ${n}^3` };
  }
  const a = tf.fill([n, n], 0.5), b = tf.fill([n, n], 0.25);
  const { seconds } = timeIt(() => tf.matMul(a, b).dispose(), { minSeconds: options.minSeconds ?? 1 });
  tf.dispose([a, b]);
  return { gflops: flops / seconds / 1e9, method: `tf.matMul ${n}^3 on ${tf.getBackend()}` };
}

/**
 * Milliseconds of the parts of one training step at the batch of `data` (median windows, the four timed in turn
 * within each window so a change of machine speed moves them together): `forward` the model in training mode,
 * `loss` what the multibox loss adds to it, `backward` what the gradients add (of the loss, every trainable weight),
 * `update` what the optimizer step adds, and `step` the whole step as {@link trainStep} runs it.
 */
export interface StepPhases {
  forward: number;
  loss: number;
  backward: number;
  update: number;
  step: number;
}

/**
 * Times the phases of a training step (see {@link StepPhases}); each differences two timed prefixes of the step, so
 * a part can read slightly negative when it is smaller than the noise. The optimizer is tfjs's Nesterov momentum
 * (as {@link benchTraining}), given or made and disposed here.
 */
export function stepPhases(
  detector: Detector,
  data: SyntheticBatch,
  options: TimingOptions & { optimizer?: tf.Optimizer } = {},
): StepPhases {
  const target = { labels: data.labels, offsets: data.offsets };
  const outputs = () => detector.model.apply(data.x, { training: true }) as tf.Tensor3D[];
  const loss = () => {
    const [logits, offsets] = outputs();
    return multiboxLoss({ logits, offsets }, target).total;
  };
  const prefixes: ((opt: tf.Optimizer) => void)[] = [
    () => tf.tidy(() => void outputs()[0].dataSync()),
    () => tf.tidy(() => void loss().dataSync()),
    () => {
      const { value, grads } = tf.variableGrads(loss);
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    },
    (opt: tf.Optimizer) => trainStep(detector, data, opt),
  ];
  const repeats = options.repeats ?? 3;
  const perWindow = { ...options, repeats: 1, minSeconds: (options.minSeconds ?? 4) / repeats / prefixes.length };
  const ms: number[][] = prefixes.map(() => []);
  withOptimizer(options.optimizer, (opt) => {
    for (let r = 0; r < repeats; r++) {
      prefixes.forEach((fn, i) =>
        ms[i].push(timeIt(() => fn(opt), { ...perWindow, warmup: r === 0 ? perWindow.warmup : 0 }).seconds * 1000)
      );
    }
  });
  const [forward, withLoss, withGrads, step] = ms.map(median);
  return { forward, loss: withLoss - forward, backward: withGrads - withLoss, update: step - withGrads, step };
}

/** Time spent in one kernel (or fused block) name over a profiled call. */
export interface KernelTime {
  name: string;
  ms: number;
  calls: number;
}

/** Per-kernel times of one call of `fn` (tfjs profiler; forward and backward kernels), largest first. */
export async function profileKernels(fn: () => void): Promise<KernelTime[]> {
  const info = await tf.profile(() => {
    fn();
  });
  const by = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : Number(await k.kernelTimeMs);
    const e = by.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
    e.ms += Number.isFinite(ms) ? ms : 0;
    e.calls++;
    by.set(k.name, e);
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}
