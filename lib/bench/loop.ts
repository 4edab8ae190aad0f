/**
 * `deno task bench --loop`: the throughput of the real training loop, as a run trains. lib/train's `trainModel`
 * runs on the data `loadRunData` finds, fed by lib/data's `batches` (decoding, augmentation and matching included)
 * with the run config's batch (the paper's 32 as 4 micro-batches of 8), for warm-up steps and then timed windows of
 * steps in one epoch, into a temporary run folder that is removed afterwards.
 *
 * The windows are read from the trainer's progress calls (one after every micro-batch): a window runs from the end
 * of one optimizer step to the end of the step `steps` later, so it holds the waits for the loader, the forward and
 * backward passes, gradient accumulation and the SGD updates, but no checkpoint writing.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batches } from "../data/loader.ts";
import type { ResolveOptions } from "../data/dataset.ts";
import { matchBatch } from "../detect/mod.ts";
import { defaultDetectorFactory } from "../inference/mod.ts";
import { multiboxLoss } from "../loss/mod.ts";
import { mergeConfig, type RunConfig, validateConfig } from "../runs/config.ts";
import { Progress, type ProgressFields } from "../train/progress.ts";
import { cacheBytesFromEnv, DecodedImageCache } from "../data/image_cache.ts";
import { nativeBatchPreparer } from "../backend/mod.ts";
import { loadRunData } from "../experiments/pipeline.ts";
import { type TrainBatch, trainModel } from "../train/trainer.ts";
import { median } from "./protocol.ts";

/** Options of {@link benchLoop}. */
export interface LoopBenchOptions {
  /** The run config whose data, augmentation, batch and model are used (the paper's, usually). */
  config: RunConfig;
  /** Data folder (`--data`); else the config's, FACEMASK_DATA, data/aizoo-facemask, or generated data. */
  data?: string;
  /** Passed to lib/data's resolveData (tests). */
  resolve?: ResolveOptions;
  /** Untimed optimizer steps first (at least 1: a window starts at the end of a step). */
  warmupSteps: number;
  /** Optimizer steps per timed window. */
  steps: number;
  /** Timed windows; the figure is their median. */
  repeats: number;
  log?: (line: string) => void;
}

/** What {@link benchLoop} measured. */
export interface LoopBench {
  /** Median of the windows, training images per second. */
  loop_img_s: number;
  /** Every window's images per second, in order. */
  windows_img_s: number[];
  batchSize: number;
  microBatch: number;
  warmupSteps: number;
  steps: number;
  augment: boolean;
  /** What cropped, resized and distorted the images: "native" (lib/backend/native/prep.ts) or "sharp". */
  prep: string;
  data: { root: string; label: string; trainImages: number };
  backend: string;
}

/** Progress that records when each optimizer step ends instead of printing. */
class StepClock extends Progress {
  /** `ends[k]`: performance.now() when step k + 1 ended. */
  readonly ends: number[] = [];
  constructor(private readonly say: (line: string) => void) {
    super({ tty: false, write: () => {} });
  }
  override update(f: ProgressFields): void {
    if (f.step > this.ends.length) this.ends.push(performance.now());
  }
  override line(text: string): void {
    this.say(text);
  }
}

const LOSS = (
  pred: { logits: tf.Tensor; offsets: tf.Tensor },
  target: { labels: tf.Tensor; offsets: tf.Tensor },
) =>
  multiboxLoss(
    { logits: pred.logits as tf.Tensor3D, offsets: pred.offsets as tf.Tensor3D },
    { labels: target.labels as tf.Tensor2D, offsets: target.offsets as tf.Tensor3D },
  );

/**
 * Trains `warmupSteps + repeats * steps` optimizer steps of `options.config` on the active backend and returns the
 * median window's images/s. Throws when the training split holds fewer images than that needs.
 */
export async function benchLoop(options: LoopBenchOptions): Promise<LoopBench> {
  const where = "lib/bench/loop.ts";
  const { warmupSteps, steps, repeats } = options;
  for (const [k, v, min] of [["warmupSteps", warmupSteps, 1], ["steps", steps, 1], ["repeats", repeats, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${where}: ${k} must be an integer >= ${min}, got ${v}`);
  }
  const say = options.log ?? (() => {});
  const total = warmupSteps + repeats * steps;
  // One epoch of exactly the steps measured; no validation, and the schedule's warm-up does not change the work.
  const config = validateConfig(
    mergeConfig(options.config, { train: { epochs: 1, stepsPerEpoch: total, decayEpochs: [] } }),
    { file: `${where} (loop config)` },
  );
  const t = config.train;
  const data = await loadRunData(config, { data: options.data, resolve: options.resolve, checksum: false });
  const need = total * t.batchSize;
  if (data.train.length < need) {
    throw new Error(
      `${where}: ${data.provenance.root}/${config.data.trainSplit} has ${data.train.length} usable training images; ` +
        `${total} steps of ${t.batchSize} need ${need}`,
    );
  }
  say(
    `loop: ${total} steps of ${t.batchSize} (${t.batchSize / t.microBatch} x ${t.microBatch}) on ` +
      `${data.provenance.description}, backend ${tf.getBackend()}`,
  );
  const { model, priors } = await defaultDetectorFactory(config.model, { seed: config.seed });
  const runDir = await Deno.makeTempDir({ prefix: "bench_loop_" });
  const clock = new StepClock(say);
  // As runExperiment trains: decoded images kept between epochs (lib/data/image_cache.ts).
  const cache = new DecodedImageCache(cacheBytesFromEnv());
  const prepare = cache.maxBytes > 0 ? nativeBatchPreparer() ?? undefined : undefined;
  // A run's first epoch decodes every file; from the second on (99 of 100 epochs) the images come from the cache.
  // The loop is measured as from the second epoch on, so the cache is filled before the clock starts.
  const warmStart = performance.now();
  const kept = await cache.warm(data.train.map((r) => r.imagePath));
  say(`loop: sample preparation ${prepare?.name ?? "sharp"} (FACEMASK_NATIVE_PREP=0: sharp)`);
  say(
    `loop: ${kept} of ${data.train.length} training images decoded into the cache in ` +
      `${
        ((performance.now() - warmStart) / 1000).toFixed(1)
      } s (before timing; FACEMASK_DECODE_CACHE_MB=0 turns it off)`,
  );
  try {
    await trainModel({
      model,
      priors,
      numTrain: data.train.length,
      batches: (rng) =>
        batches(data.train, {
          batchSize: t.microBatch,
          shuffle: true,
          augment: config.data.augment ? config.data.augmentation : false,
          rng,
          prefetch: config.data.prefetch,
          cache,
          prepare,
        }) as AsyncIterable<TrainBatch>,
      loss: LOSS,
      match: matchBatch,
    }, { config, runDir, progress: clock });
  } finally {
    model.dispose();
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  }
  if (clock.ends.length < total) {
    throw new Error(`${where}: the trainer ran ${clock.ends.length} steps, ${total} were asked (images skipped?)`);
  }
  const windows: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const a = clock.ends[warmupSteps - 1 + r * steps], b = clock.ends[warmupSteps - 1 + (r + 1) * steps];
    windows.push((steps * t.batchSize) / ((b - a) / 1000));
  }
  return {
    loop_img_s: median(windows),
    windows_img_s: windows,
    batchSize: t.batchSize,
    microBatch: t.microBatch,
    warmupSteps,
    steps,
    augment: config.data.augment,
    prep: prepare?.name ?? "sharp",
    data: { root: data.provenance.root, label: data.provenance.label, trainImages: data.train.length },
    backend: tf.getBackend(),
  };
}
