/**
 * One run end to end, wired to the real modules: backend, data (lib/data), model (lib/model), matching
 * (lib/detect), loss (lib/loss), trainer, evaluation and the run-folder contract (config.json, metrics.json,
 * pr_<class>.json, model/ weights, train_log.csv, train.log, provenance.json).
 *
 * A caller (or a test) may pass its own {@link DetectorFactory} in place of lib/model's.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { OBJECT_CLASSES } from "../types.ts";
import { Rng } from "../util/rng.ts";
import { matchBatch } from "../detect/mod.ts";
import { multiboxLoss } from "../loss/mod.ts";
import { metricsSummary, thinPrCurve } from "../metrics/mod.ts";
import { dataLabelOf } from "../data/label.ts";
import { batches } from "../data/loader.ts";
import { cacheBytesFromEnv, DecodedImageCache } from "../data/image_cache.ts";
import {
  dataChecksum,
  type DataRecord,
  type DataSource,
  GENERATED_DEFAULTS,
  resolveData,
  type ResolveOptions,
  scanSplit,
} from "../data/dataset.ts";
import { type DataProblem, formatProblem } from "../data/problems.ts";
import { nativeBatchPreparer, setupBackend } from "../backend/mod.ts";
import { summarizeModel } from "../model/mod.ts";
import { defaultDetectorFactory, type DetectorFactory } from "../inference/mod.ts";
import { loadConfig, readRunConfig, type RunConfig } from "../runs/config.ts";
import { evalOptionsOf, evaluateModel, type ModelEvaluation } from "../evaluation/evaluate.ts";
import { exists, writeJsonAtomic } from "../runs/files.ts";
import { Progress } from "../train/progress.ts";
import {
  acquireRunLock,
  cpuInfo,
  createRunDir,
  type DataProvenance,
  gitState,
  hostInfo,
  type Provenance,
  readProvenance,
  type ResumedSession,
  writeProvenance,
} from "../runs/run.ts";
import { type LossFn, type TrainBatch, trainModel, type TrainResult } from "../train/trainer.ts";

/** `p` with one more resumed session recorded (its start in `resumed`, its code and backend in `resumedSessions`). */
export function withResumedSession(p: Provenance, session: ResumedSession): Provenance {
  return {
    ...p,
    resumed: [...p.resumed, session.start],
    resumedSessions: [...(p.resumedSessions ?? []), session],
    end: null,
  };
}

/** The loaded backend, as recorded in provenance. */
export interface BackendRecord {
  name: string;
  threads: number | null;
  detail?: unknown;
}

/** Sets up the tfjs backend through lib/backend's `setupBackend`; the result goes into provenance. */
export async function setupBackendFor(
  config: RunConfig["backend"],
  options: { log?: (line: string) => void } = {},
): Promise<BackendRecord> {
  const info = await setupBackend({
    backend: config.name,
    threads: config.threads || undefined,
    log: options.log,
  });
  return { name: info.name, threads: info.threads, detail: info };
}

/** Data of a run: where it is, what it is, and its records. */
export interface RunData {
  provenance: DataProvenance;
  train: DataRecord[];
  val: DataRecord[];
  /** What scanning the splits found; samples with an error are already left out of `train` and `val`. */
  problems: DataProblem[];
}

/** Whether a folder holds lib/data's generated scenes (marked in every XML). */
async function looksGenerated(records: DataRecord[]): Promise<boolean> {
  if (records.length === 0) return false;
  const xml = await Deno.readTextFile(records[0].xmlPath);
  return /<folder>\s*generated\s*<\/folder>/.test(xml);
}

/**
 * Where a run's data is: `--data`, else the config's `data.root`, else FACEMASK_DATA, else data/aizoo-facemask,
 * else the generated set the config sizes.
 */
export async function resolveRunDataSource(
  config: RunConfig,
  options: { data?: string; resolve?: ResolveOptions } = {},
): Promise<DataSource> {
  return await resolveData({
    generatedCounts: {
      seed: GENERATED_DEFAULTS.seed,
      train: config.data.generatedTrain,
      val: config.data.generatedVal,
    },
    ...options.resolve,
    data: options.data ?? options.resolve?.data ?? config.data.root ?? undefined,
  });
}

/**
 * Finds and scans the run's data: `--data`, else the config's `data.root`, else FACEMASK_DATA, else
 * data/aizoo-facemask, else generated data. Applies `limitTrain` (seeded choice) and `limitVal` (first N).
 */
export async function loadRunData(
  config: RunConfig,
  options: { data?: string; resolve?: ResolveOptions; checksum?: boolean } = {},
): Promise<RunData> {
  const source = await resolveRunDataSource(config, options);
  const train = await scanSplit(source.root, config.data.trainSplit);
  const val = await scanSplit(source.root, config.data.valSplit);
  if (train.records.length === 0) {
    throw new Error(`${source.root}/${config.data.trainSplit}: no usable training images`);
  }
  if (val.records.length === 0) throw new Error(`${source.root}/${config.data.valSplit}: no usable validation images`);
  let trainRecords = train.records;
  if (config.data.limitTrain > 0) {
    trainRecords = new Rng(config.seed ^ 0x5eed).shuffle(trainRecords.slice()).slice(0, config.data.limitTrain);
  }
  const valRecords = config.data.limitVal > 0 ? val.records.slice(0, config.data.limitVal) : val.records;
  const generated = source.generated || await looksGenerated(train.records);
  const checksum = options.checksum === false
    ? "not computed"
    : await dataChecksum(source.root, { splits: [config.data.trainSplit, config.data.valSplit] });
  return {
    provenance: {
      root: source.root,
      source: source.source,
      label: generated ? "generated" : "real",
      checksum,
      description: generated && !source.generated ? `GENERATED synthetic scenes at ${source.root}` : source.description,
      trainImages: trainRecords.length,
      valImages: valRecords.length,
      problems: [...train.problems, ...val.problems].map(formatProblem),
    },
    train: trainRecords,
    val: valRecords,
    problems: [...train.problems, ...val.problems],
  };
}

/** Options of {@link runExperiment}. */
export interface RunOptions {
  /** `--data`: wins over the config and the environment. */
  data?: string;
  /** Passed to lib/data's resolveData (tests point it at temporary folders). */
  resolve?: ResolveOptions;
  /** Results root; default `results`. */
  resultsDir?: string;
  /** Continue this run folder from its last checkpoint instead of starting a new one. */
  resume?: string;
  /** Run id of a new run (default `<name>-<UTC time>`). */
  runId?: string;
  buildDetector?: DetectorFactory;
  progress?: Progress;
  /** Stop after this epoch, as if killed (tests of resume). */
  stopAfterEpoch?: number;
  onLog?: (line: string) => void;
  /** Skip the data checksum (tests on throw-away data). */
  checksum?: boolean;
}

/** What {@link runExperiment} returns. */
export interface RunOutcome {
  runDir: string;
  train: TrainResult;
  /** Final evaluation of the kept weights (absent when stopped early). */
  evaluation: ModelEvaluation | null;
  provenance: Provenance;
}

/** Builds the multibox loss closure the trainer calls. */
const LOSS: LossFn = (pred, target) =>
  multiboxLoss(
    { logits: pred.logits as tf.Tensor3D, offsets: pred.offsets as tf.Tensor3D },
    { labels: target.labels as tf.Tensor2D, offsets: target.offsets as tf.Tensor3D },
  );

/** Parameters and MACs per image (lib/model's summary), or nulls when the model cannot be summarised. */
export function modelCost(model: tf.LayersModel): { params: number | null; macs: number | null } {
  try {
    const s = summarizeModel(model);
    return { params: s.totalParams, macs: s.totalMacs };
  } catch {
    return { params: null, macs: null };
  }
}

/** Writes metrics.json and pr_<class>.json of an evaluation into `runDir`. */
export async function writeEvaluation(
  runDir: string,
  evaluation: ModelEvaluation,
  info: { split: string; data: DataProvenance; weights: string; extra?: Record<string, unknown> },
): Promise<void> {
  const { result, speed } = evaluation;
  await writeJsonAtomic(`${runDir}/metrics.json`, {
    split: info.split,
    data: { label: info.data.label, root: info.data.root, checksum: info.data.checksum, images: speed.images },
    note: info.data.label === "generated"
      ? "GENERATED synthetic data: these numbers say nothing about real face-mask detection"
      : dataLabelOf("real", speed.images, info.data.trainImages),
    weights: info.weights,
    ...metricsSummary(result),
    cocoInput: result.cocoInput,
    iouThreshold: result.iouThreshold,
    numDetections: result.numDetections,
    skippedImages: evaluation.skippedIds,
    speed,
    ...info.extra,
  });
  for (const name of OBJECT_CLASSES) {
    await writeJsonAtomic(`${runDir}/pr_${name}.json`, {
      class: name,
      split: info.split,
      data: info.data.label,
      // The corner ranks keep both APs exact; the full ranking would be tens of MB per class.
      ...thinPrCurve(result.pr[name]),
    });
  }
}

/**
 * Trains one config into a run folder (or resumes one: then `config` may be null, the run's config.json rules), then
 * evaluates the kept weights on the validation split and writes every file of the run-folder contract.
 *
 * ```ts
 * import { loadConfig, runExperiment } from "ssdv2";
 * const run = await runExperiment(await loadConfig("experiments/ablation/carry-1.json")); // data: FACEMASK_DATA, ...
 * console.log(run.runDir, run.evaluation?.result.map); // results/ablation/carry-1-<UTC time>, its val mAP
 * // A run that was stopped goes on from its last checkpoint, under the config in its config.json:
 * await runExperiment(null, { resume: "results/ablation/carry-1-20261201-202018" });
 * ```
 */
export async function runExperiment(config: RunConfig | null, options: RunOptions = {}): Promise<RunOutcome> {
  const started = new Date();
  let runDir: string;
  let provenance: Provenance | null = null;
  if (options.resume) {
    runDir = options.resume.replace(/\/+$/, "");
    config = await readRunConfig(runDir);
    if (await exists(`${runDir}/provenance.json`)) provenance = await readProvenance(runDir);
  } else {
    if (!config) throw new Error("runExperiment: a config is needed unless resuming");
    runDir = await createRunDir(config, { resultsDir: options.resultsDir, runId: options.runId, date: started });
  }
  const progress = options.progress ?? new Progress();
  const say = (line: string) => {
    progress.line(line);
    options.onLog?.(line);
  };
  const lock = await acquireRunLock(runDir);
  if (lock.tookOverFrom) {
    say(`took over the lock of pid ${lock.tookOverFrom.pid} (since ${lock.tookOverFrom.start}), which no longer runs`);
  }
  try {
    return await trainLocked(config, runDir, provenance, started, say, progress, options);
  } finally {
    await lock.release();
  }
}

/** {@link runExperiment} once the run folder is locked. */
async function trainLocked(
  config: RunConfig,
  runDir: string,
  provenance: Provenance | null,
  started: Date,
  say: (line: string) => void,
  progress: Progress,
  options: RunOptions,
): Promise<RunOutcome> {
  const backend = await setupBackendFor(config.backend, { log: say });
  const data = await loadRunData(config, { data: options.data, resolve: options.resolve, checksum: options.checksum });
  say(`run folder ${runDir}; backend ${backend.name}; ${data.provenance.description}`);
  if (data.provenance.label === "generated") say("NOTE: training on GENERATED data; results are for testing only");
  if (data.problems.length > 0) {
    const left = data.problems.filter((p) => p.severity === "error").length;
    say(`data: ${left} bad sample(s) left out, ${data.problems.length - left} warning(s):`);
    for (const p of data.problems) say(`  ${formatProblem(p)}`);
  }
  if (provenance && provenance.data.checksum !== data.provenance.checksum) {
    throw new Error(`${runDir}: --resume with other data than the run started with (checksum differs)`);
  }
  const git = await gitState();
  provenance = provenance
    ? withResumedSession(provenance, {
      start: started.toISOString(),
      ...git,
      backend: backend.name,
      cpu: cpuInfo(),
    })
    : {
      commit: git.commit,
      dirty: git.dirty,
      data: data.provenance,
      backend,
      seed: config.seed,
      host: hostInfo(),
      start: started.toISOString(),
      end: null,
      durationSeconds: null,
      resumed: [],
      trainImgPerSec: null,
      evalImgPerSec: null,
      forwardImgPerSec: null,
      command: ["deno", ...Deno.args].join(" "),
    };
  await writeProvenance(runDir, provenance);
  const before = provenance;
  // Seconds of training recorded for this run so far: earlier sessions plus this one up to now.
  const durationNow = () => (before.durationSeconds ?? 0) + (Date.now() - started.getTime()) / 1000;

  const build = options.buildDetector ?? defaultDetectorFactory;
  const { model, priors } = await build(config.model, { seed: config.seed });
  const evalOptions = evalOptionsOf(config, priors);
  const skipped = new Set<string>();
  // The training images stay decoded between epochs: the same bytes, a third of the decoding cost.
  const cache = new DecodedImageCache(cacheBytesFromEnv());
  say(`decoded-image cache: up to ${Math.round(cache.maxBytes / 2 ** 20)} MB (FACEMASK_DECODE_CACHE_MB; 0 = off)`);
  // Same bytes either way; the native one keeps the resize and distortion off the model's threads.
  const prepare = cache.maxBytes > 0 ? nativeBatchPreparer() ?? undefined : undefined;
  say(`sample preparation: ${prepare ? "native (FACEMASK_NATIVE_PREP=0: sharp)" : "sharp"}`);
  try {
    const train = await trainModel({
      model,
      priors,
      numTrain: data.train.length,
      batches: (rng) =>
        batches(data.train, {
          batchSize: config.train.microBatch,
          shuffle: true,
          augment: config.data.augment ? config.data.augmentation : false,
          rng,
          prefetch: config.data.prefetch,
          cache,
          prepare,
          onSkip: (s) => {
            if (!skipped.has(s.id)) say(`skipped ${s.file}: ${s.problem}`);
            skipped.add(s.id);
          },
        }) as AsyncIterable<TrainBatch>,
      loss: LOSS,
      match: matchBatch,
      validate: async () => {
        const e = await evaluateModel(model, data.val, evalOptions);
        return { map: e.result.map, ap: Object.fromEntries(OBJECT_CLASSES.map((c) => [c, e.result.voc[c].ap])) };
      },
      modelMetadata: {
        model: config.model,
        experiment: config.experiment,
        name: config.name,
        data: data.provenance.label,
      },
    }, {
      config,
      runDir,
      resume: Boolean(options.resume),
      progress,
      stopAfterEpoch: options.stopAfterEpoch,
      onLog: options.onLog,
      // Each checkpoint brings the recorded duration up to date, so a session that is killed (the usual end of a
      // long run's session) still counts up to its last checkpoint.
      onCheckpoint: () => writeProvenance(runDir, { ...before, durationSeconds: durationNow() }),
    });

    if (skipped.size > 0) say(`skipped ${skipped.size} training sample(s) that failed to load (listed above)`);
    let evaluation: ModelEvaluation | null = null;
    if (train.finished) {
      evaluation = await evaluateModel(model, data.val, evalOptions);
      await writeEvaluation(runDir, evaluation, {
        split: config.data.valSplit,
        data: data.provenance,
        weights: `model/ (the last epoch, ${train.epochs})`,
        extra: {
          trainImgPerSec: train.trainImgPerSec,
          epochs: train.epochs,
          weightsEpoch: train.epochs,
          bestEpoch: train.bestEpoch,
          model: modelCost(model),
        },
      });
      say(
        `val mAP ${evaluation.result.map?.toFixed(4) ?? "n/a"} on ${evaluation.speed.images} images ` +
          `(${data.provenance.label} data); eval ${evaluation.speed.evalImgPerSec.toFixed(1)} img/s, forward ` +
          `${evaluation.speed.forwardImgPerSec.toFixed(1)} img/s`,
      );
    }
    provenance = {
      ...before,
      end: train.finished ? new Date().toISOString() : null,
      durationSeconds: durationNow(),
      trainImgPerSec: train.trainImgPerSec ?? before.trainImgPerSec,
      evalImgPerSec: evaluation?.speed.evalImgPerSec ?? before.evalImgPerSec,
      forwardImgPerSec: evaluation?.speed.forwardImgPerSec ?? before.forwardImgPerSec,
    };
    await writeProvenance(runDir, provenance);
    // A finished run keeps only its final weights (model/): the checkpoints served resuming, and now that the
    // run is recorded as finished nothing resumes it.
    if (train.finished) await Deno.remove(`${runDir}/checkpoints`, { recursive: true }).catch(() => {});
    return { runDir, train, evaluation, provenance };
  } finally {
    model.dispose();
  }
}

/** Loads a config file and runs it (`deno task train <config>`). */
export async function runConfigFile(path: string, options: RunOptions = {}): Promise<RunOutcome> {
  return await runExperiment(await loadConfig(path), options);
}
