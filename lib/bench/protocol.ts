/**
 * The timing protocol that `deno task bench` and its peers share, so each figure of ours and of a peer is measured
 * the same way: warm-up calls, then the median of `repeats` timed windows splitting `minSeconds` between them
 * (lib/backend/native/model_bench.ts `timeIt`; {@link timeItAsync} is its twin for asynchronous calls such as an
 * ONNX Runtime session's `run`), at the same batch sizes.
 * @module
 */
import type { Timing, TimingOptions } from "./model.ts";

/** Batch sizes, windows and warm-up calls of every figure of the benchmark. */
export interface BenchProtocol {
  /** Training batch. */
  batch: number;
  /** Inference batch of the throughput figure (the other inference figure is batch 1). */
  inferBatch: number;
  /** Seconds of timed work per figure, split over the windows. */
  minSeconds: number;
  /** Timed windows per figure; the figure is their median. */
  repeats: number;
  /** At most this many timed calls per window. */
  maxIters: number;
  /** Untimed calls before each figure's windows. */
  warmup: { train: number; infer: number; inferBatch: number };
}

/** The protocol of `deno task bench` without options. */
export const DEFAULT_PROTOCOL: Readonly<BenchProtocol> = {
  batch: 16,
  inferBatch: 32,
  minSeconds: 3,
  repeats: 5,
  maxIters: 1000,
  // Batch 1 gets two warm-up calls: its first calls also create the primitives of the new shapes.
  warmup: { train: 1, infer: 2, inferBatch: 1 },
};

/** `--quick`: the smallest settings that still run every figure (CI smoke use; the numbers mean nothing). */
export const QUICK_PROTOCOL: Readonly<BenchProtocol> = {
  batch: 2,
  inferBatch: 2,
  minSeconds: 0.2,
  repeats: 1,
  maxIters: 1000,
  warmup: { train: 1, infer: 1, inferBatch: 1 },
};

/** Throws, naming the field, unless the protocol's sizes are positive integers and `minSeconds` is >= 0. */
export function checkProtocol(p: BenchProtocol): BenchProtocol {
  const ints: [string, number][] = [
    ["batch", p.batch],
    ["inferBatch", p.inferBatch],
    ["repeats", p.repeats],
    ["maxIters", p.maxIters],
  ];
  for (const [k, v] of ints) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`lib/bench/protocol.ts: ${k} must be a positive integer, got ${v}`);
    }
  }
  for (const [k, v] of Object.entries(p.warmup)) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`lib/bench/protocol.ts: warmup.${k} must be an integer >= 0`);
  }
  if (!(p.minSeconds >= 0) || !Number.isFinite(p.minSeconds)) {
    throw new Error(`lib/bench/protocol.ts: minSeconds must be a finite number >= 0, got ${p.minSeconds}`);
  }
  return p;
}

/** The {@link TimingOptions} of one figure of the protocol. */
export function timingOf(p: BenchProtocol, figure: keyof BenchProtocol["warmup"]): TimingOptions {
  return { minSeconds: p.minSeconds, repeats: p.repeats, maxIters: p.maxIters, warmup: p.warmup[figure] };
}

/** The command-line arguments that hand the protocol to a peer script (bench/peers/torch_ssdv2.py reads them). */
export function protocolArgs(p: BenchProtocol): string[] {
  return [
    "--batch",
    String(p.batch),
    "--infer-batch",
    String(p.inferBatch),
    "--min-seconds",
    String(p.minSeconds),
    "--repeats",
    String(p.repeats),
    "--max-iters",
    String(p.maxIters),
    "--warmup-train",
    String(p.warmup.train),
    "--warmup-infer",
    String(p.warmup.infer),
    "--warmup-batch",
    String(p.warmup.inferBatch),
  ];
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  if (values.length === 0) throw new Error("lib/bench/protocol.ts: median of an empty list");
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `timeIt` for an asynchronous call: the same warm-up, windows and median, each call awaited before the next. */
export async function timeItAsync(fn: () => Promise<unknown>, options: TimingOptions = {}): Promise<Timing> {
  const { minSeconds = 2, maxIters = 1000, warmup = 1, repeats = 1 } = options;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`timeItAsync: repeats must be a positive integer`);
  for (let i = 0; i < warmup; i++) await fn();
  const windows: number[] = [];
  let total = 0;
  for (let r = 0; r < repeats; r++) {
    let iters = 0;
    const t0 = performance.now();
    while (iters < maxIters && (iters === 0 || performance.now() - t0 < (minSeconds / repeats) * 1000)) {
      await fn();
      iters++;
    }
    windows.push((performance.now() - t0) / 1000 / iters);
    total += iters;
  }
  const sorted = windows.slice().sort((a, b) => a - b);
  return { seconds: median(windows), iters: total, range: [sorted[0], sorted[sorted.length - 1]] };
}
