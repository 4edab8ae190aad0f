/**
 * The training loop: micro-batches accumulated into optimizer steps, the warm-up/step-decay schedule, SGD with
 * Nesterov momentum and weight decay, a checkpoint every epoch (with optimizer and RNG state), validation every N
 * epochs, the per-epoch CSV log, progress, and a clean stop on a NaN/inf loss.
 *
 * The loop receives the model, the data and the loss as {@link TrainerParts}, so it can be tested on a toy model
 * and wired to the real ones in lib/experiments/pipeline.ts.
 *
 * Determinism: one master {@link Rng} (seeded from the config) is forked once per epoch for the data order and
 * augmentation; its state is saved with every checkpoint, so a resumed run sees the same batches as an
 * uninterrupted one.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Box } from "../types.ts";
import { Rng } from "../util/rng.ts";
import { loadCheckpoint, type LoopState, saveCheckpoint } from "./checkpoint.ts";
import { modelWeights, setModelWeights } from "../model/weights.ts";
import type { RunConfig } from "../runs/config.ts";
import { writeWeights } from "../runs/files.ts";
import { EpochLog, type EpochLogRow } from "../runs/train_log.ts";
import { Progress } from "./progress.ts";
import { SgdOptimizer } from "./optimizer.ts";
import { learningRate } from "./schedule.ts";

/** One micro-batch as the trainer consumes it (lib/data's Batch has these fields). */
export interface TrainBatch {
  ids: string[];
  /** `[B, 240, 320, 3]` (or the model's input shape), values in [-0.5, 0.5]. */
  images: Float32Array;
  /** Normalised corner boxes per image. */
  boxes: Box[][];
  /** Class ids per box. */
  labels: number[][];
}

/** The three parts of the multibox loss (tf scalars). */
export interface LossParts {
  total: tf.Scalar;
  cls: tf.Scalar;
  loc: tf.Scalar;
}

/** Loss of predictions `{logits [B,P,C], offsets [B,P,4]}` against targets `{labels [B,P] int32, offsets}`. */
export type LossFn = (
  pred: { logits: tf.Tensor; offsets: tf.Tensor },
  target: { labels: tf.Tensor; offsets: tf.Tensor },
) => LossParts;

/** Prior matching of a batch (lib/detect's matchBatch). */
export type MatchFn = (
  boxes: readonly (readonly Box[])[],
  labels: readonly (readonly number[])[],
  options: { priors: Float32Array; iouThreshold?: number },
) => { labels: Int32Array; offsets: Float32Array };

/** What a validation pass reports to the loop. */
export interface ValidationOutcome {
  /** mAP (VOC all-point, IoU 0.5), `null` when undefined (no ground truth). */
  map: number | null;
  /** AP per class name. */
  ap: Record<string, number | null>;
}

/** Everything the loop trains with. */
export interface TrainerParts {
  /** Model with two outputs: logits `[B, P, C]` and offsets `[B, P, 4]`. */
  model: tf.LayersModel;
  /** Priors of the model, normalised centre form, `P * 4`. */
  priors: Float32Array;
  /** Training images per epoch (sets the steps per epoch when the config does not). */
  numTrain: number;
  /** Micro-batches of one epoch, drawn with `rng` (order and augmentation). */
  batches: (rng: Rng, epoch: number) => AsyncIterable<TrainBatch>;
  loss: LossFn;
  match: MatchFn;
  /** Validation pass on the current weights. */
  validate?: (epoch: number) => Promise<ValidationOutcome>;
  /** Saved with the weights so the network can be rebuilt (trunk, branches, width...). */
  modelMetadata?: Record<string, unknown>;
}

/** Options of {@link trainModel}. */
export interface TrainOptions {
  config: RunConfig;
  /** Run folder (created, with config.json, by the caller). */
  runDir: string;
  /** Continue from the run folder's last checkpoint. */
  resume?: boolean;
  progress?: Progress;
  /** Stop (as if killed) after this epoch's checkpoint is written. */
  stopAfterEpoch?: number;
  /** Extra sink for log lines (besides `train.log`). */
  onLog?: (line: string) => void;
  /** Called after each epoch's checkpoint is written (the run's records can be brought up to date there). */
  onCheckpoint?: (epoch: number) => Promise<void>;
}

/** What a training session did. */
export interface TrainResult {
  /** Epochs completed in total (resumed ones included). */
  epochs: number;
  steps: number;
  /** Whether all configured epochs are done (false when stopped by `stopAfterEpoch`). */
  finished: boolean;
  /** Per-epoch log rows, all sessions. */
  rows: EpochLogRow[];
  /** Mean loss of the first and the last optimizer step of this session. */
  firstStepLoss: number | null;
  lastStepLoss: number | null;
  /** Training throughput of this session (images per second of pure training time). */
  trainImgPerSec: number | null;
  bestMetric: number | null;
  bestEpoch: number | null;
  /** Folder with the weights the run keeps (its last epoch's), TF.js format. */
  modelDir: string | null;
}

/** Thrown when the loss becomes NaN or infinite; the last good checkpoint stays in place. */
export class NonFiniteLossError extends Error {
  /** Creates the error; `checkpoint` is the last good checkpoint folder (or null when there is none). */
  constructor(message: string, readonly epoch: number, readonly step: number, readonly checkpoint: string | null) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** The model's trainable variables (tfjs LayerVariable.read() returns the underlying tf.Variable). */
function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Tries to serialise the topology; models with custom layers may not, and then only the weights are kept. */
function topologyOf(model: tf.LayersModel): unknown {
  try {
    return model.toJSON(undefined, false);
  } catch {
    return null;
  }
}

/** Writes a checkpoint's weights as a kept model folder, saying which epoch they are and how they were chosen. */
async function writeKeptWeights(
  dir: string,
  ckpt: { weights: { name: string; shape: number[]; data: Float32Array }[]; state: LoopState },
  which: "last" | "best",
  parts: TrainerParts,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await writeWeights(dir, ckpt.weights, {
    stem: "model",
    topology: topologyOf(parts.model),
    metadata: {
      ...parts.modelMetadata,
      epoch: ckpt.state.epoch,
      which,
      selectedOn: which === "best" ? "validation mAP (the split the run reports on)" : null,
      valMap: which === "best" ? ckpt.state.bestMetric : null,
    },
  });
}

/** Steps per epoch the schedule uses. */
export function stepsPerEpoch(config: RunConfig, numTrain: number): number {
  if (config.train.stepsPerEpoch > 0) return config.train.stepsPerEpoch;
  return Math.max(1, Math.ceil(numTrain / config.train.batchSize));
}

/** The loop's running state, shared by the step, the epoch and the finish. */
interface Session {
  config: RunConfig;
  parts: TrainerParts;
  vars: tf.Variable[];
  optimizer: SgdOptimizer;
  perEpoch: number;
  microPerStep: number;
  /** Priors P. */
  numPriors: number;
  step: number;
  bestMetric: number | null;
  bestEpoch: number | null;
  lastGood: string | null;
  firstStepLoss: number | null;
  lastStepLoss: number | null;
  sessionImages: number;
  sessionSeconds: number;
  log: (line: string) => void;
  progress: Progress;
}

/** One micro-batch's loss parts and the gradient of its loss for every trainable variable, in `vars` order. */
interface MicroBatchResult {
  total: number;
  cls: number;
  loc: number;
  grads: tf.Tensor[];
}

/** The step's first half: match the micro-batch's boxes to the priors, forward, loss and backward. */
function microBatchGradients(s: Session, batch: TrainBatch): MicroBatchResult {
  const { parts, config } = s;
  const b = batch.ids.length;
  const matched = parts.match(batch.boxes, batch.labels, {
    priors: parts.priors,
    iouThreshold: config.matching.iouThreshold,
  });
  let cls: tf.Scalar | null = null;
  let loc: tf.Scalar | null = null;
  const { value, grads } = tf.tidy(() => {
    const x = tf.tensor(batch.images, [b, ...(parts.model.inputs[0].shape.slice(1) as number[])]);
    const targetLabels = tf.tensor(matched.labels, [b, s.numPriors], "int32");
    const targetOffsets = tf.tensor(matched.offsets, [b, s.numPriors, 4]);
    return tf.variableGrads(() => {
      const [logits, offsets] = parts.model.apply(x, { training: true }) as tf.Tensor[];
      const lossParts = parts.loss({ logits, offsets }, { labels: targetLabels, offsets: targetOffsets });
      cls = tf.keep(lossParts.cls);
      loc = tf.keep(lossParts.loc);
      return lossParts.total;
    }, s.vars);
  });
  const out = {
    total: value.dataSync()[0],
    cls: (cls as tf.Scalar | null)?.dataSync()[0] ?? NaN,
    loc: (loc as tf.Scalar | null)?.dataSync()[0] ?? NaN,
    grads: s.vars.map((v) => grads[v.name]),
  };
  tf.dispose([value, cls as tf.Scalar | null, loc as tf.Scalar | null].filter((x): x is tf.Scalar => x !== null));
  return out;
}

/**
 * Gradients summed over the micro-batches of one optimizer step; {@link GradientSum.apply} takes their mean, so
 * a last partial step (fewer micro-batches than a full batch) still gets the mean of what it saw.
 */
class GradientSum {
  private acc: tf.Tensor[] | null = null;
  count = 0;
  loss = 0;
  add(grads: tf.Tensor[], loss: number): void {
    if (this.acc === null) this.acc = grads;
    else {
      const prev = this.acc;
      this.acc = tf.tidy(() => prev.map((g, i) => g.add(grads[i])));
      tf.dispose([...prev, ...grads]);
    }
    this.count++;
    this.loss += loss;
  }
  /** Applies the mean gradient at `lr`; returns the step's mean loss (null when nothing was added). */
  apply(optimizer: SgdOptimizer, lr: number): number | null {
    if (!this.acc) return null;
    const grads = this.acc;
    const n = this.count;
    const scaled = tf.tidy(() => grads.map((g) => g.div(n)));
    optimizer.applyGradients(scaled, lr);
    tf.dispose([...grads, ...scaled]);
    const mean = this.loss / n;
    this.acc = null;
    this.count = 0;
    this.loss = 0;
    return mean;
  }
  dispose(): void {
    if (this.acc) tf.dispose(this.acc);
    this.acc = null;
  }
}

/** What one epoch did, before validation. */
interface EpochOutcome {
  stepsInEpoch: number;
  sums: { total: number; cls: number; loc: number; n: number };
  images: number;
  seconds: number;
}

/** One epoch: micro-batches drawn with `epochRng`, accumulated into optimizer steps; throws on a non-finite loss. */
async function runEpoch(s: Session, epoch: number, epochRng: Rng): Promise<EpochOutcome> {
  const t = s.config.train;
  const schedule = { ...t, stepsPerEpoch: s.perEpoch };
  const sums = { total: 0, cls: 0, loc: 0, n: 0 };
  const acc = new GradientSum();
  let images = 0;
  let seconds = 0;
  let stepInEpoch = 0;
  let lr = learningRate(s.step, schedule);
  const applyStep = () => {
    const mean = acc.apply(s.optimizer, lr);
    if (mean === null) return;
    if (s.firstStepLoss === null) s.firstStepLoss = mean;
    s.lastStepLoss = mean;
    s.step++;
    stepInEpoch++;
    lr = learningRate(s.step, schedule);
  };
  try {
    let t0 = performance.now();
    for await (const batch of s.parts.batches(epochRng, epoch)) {
      const b = batch.ids.length;
      if (b === 0) continue;
      const r = microBatchGradients(s, batch);
      if (!Number.isFinite(r.total)) {
        tf.dispose(r.grads);
        const where = s.lastGood ? `the last good checkpoint is ${s.lastGood}` : "no checkpoint was written yet";
        const msg = `loss is ${r.total} at epoch ${epoch}, step ${stepInEpoch + 1}/${s.perEpoch} ` +
          `(images ${batch.ids.slice(0, 4).join(", ")}${b > 4 ? ", ..." : ""}); training stopped, ${where}`;
        s.log(msg);
        throw new NonFiniteLossError(msg, epoch, s.step, s.lastGood);
      }
      acc.add(r.grads, r.total);
      sums.total += r.total * b;
      sums.cls += r.cls * b;
      sums.loc += r.loc * b;
      sums.n += b;
      images += b;
      if (acc.count === s.microPerStep) applyStep();
      const t1 = performance.now();
      seconds += (t1 - t0) / 1000;
      s.progress.update({
        epoch,
        epochs: t.epochs,
        step: Math.min(stepInEpoch, s.perEpoch),
        steps: s.perEpoch,
        loss: r.total,
        cls: r.cls,
        loc: r.loc,
        lr,
        imgPerSec: images / Math.max(seconds, 1e-9),
      });
      if (stepInEpoch >= s.perEpoch) break;
      t0 = performance.now();
    }
    if (acc.count > 0) {
      const t1 = performance.now();
      applyStep();
      seconds += (performance.now() - t1) / 1000;
    }
  } finally {
    acc.dispose();
  }
  return { stepsInEpoch: stepInEpoch, sums, images, seconds };
}

/**
 * The finish: the run's result is its last epoch (no selection on the split it is reported on); the best epoch's
 * weights are kept beside it only when asked, labelled as chosen on validation. Returns the kept folder.
 */
async function keepFinalWeights(s: Session, runDir: string, ckptDir: string): Promise<string | null> {
  let modelDir: string | null = null;
  const last = await loadCheckpoint(ckptDir, { which: "last" });
  if (last) {
    modelDir = `${runDir}/model`;
    await writeKeptWeights(modelDir, last, "last", s.parts);
    s.log(`kept the last epoch's weights (epoch ${last.state.epoch}) in ${modelDir}`);
  }
  const best = s.config.checkpoint.keepBest && s.bestEpoch !== null
    ? await loadCheckpoint(ckptDir, { which: "best" })
    : null;
  if (best) {
    await writeKeptWeights(`${runDir}/model_best`, best, "best", s.parts);
    s.log(`kept the best-epoch weights (epoch ${best.state.epoch}, selected on validation) in ${runDir}/model_best`);
  }
  return modelDir;
}

/**
 * Trains `parts.model` as `options.config` says, writing checkpoints, `train_log.csv`, `train.log` and the kept
 * weights (`model/`) into `options.runDir`: epochs of steps ({@link runEpoch}), validation every N epochs, a
 * checkpoint after each, and the finish ({@link keepFinalWeights}).
 */
export async function trainModel(parts: TrainerParts, options: TrainOptions): Promise<TrainResult> {
  const { config, runDir } = options;
  const t = config.train;
  const ckptDir = `${runDir}/checkpoints`;
  const logFile = await Deno.open(`${runDir}/train.log`, { append: true, create: true });
  const encoder = new TextEncoder();
  const progress = options.progress ?? new Progress();
  const log = (line: string) => {
    const stamped = `${new Date().toISOString()} ${line}`;
    logFile.writeSync(encoder.encode(stamped + "\n"));
    progress.line(line);
    options.onLog?.(line);
  };
  const vars = trainableVariables(parts.model);
  const rng = new Rng(config.seed);
  const epochLog = new EpochLog(`${runDir}/train_log.csv`);
  const s: Session = {
    config,
    parts,
    vars,
    optimizer: new SgdOptimizer(vars, t),
    perEpoch: stepsPerEpoch(config, parts.numTrain),
    microPerStep: t.batchSize / t.microBatch,
    numPriors: parts.priors.length / 4,
    step: 0,
    bestMetric: null,
    bestEpoch: null,
    lastGood: null,
    firstStepLoss: null,
    lastStepLoss: null,
    sessionImages: 0,
    sessionSeconds: 0,
    log,
    progress,
  };
  let startEpoch = 1;

  try {
    if (options.resume) {
      const ckpt = await loadCheckpoint(ckptDir);
      if (!ckpt) throw new Error(`${runDir}: --resume given but there is no checkpoint in ${ckptDir}`);
      setModelWeights(parts.model, ckpt.weights, { source: `${ckpt.path}/model.json` });
      s.optimizer.setState(ckpt.optimizer);
      rng.state = ckpt.state.rngState;
      startEpoch = ckpt.state.epoch + 1;
      s.step = ckpt.state.step;
      s.bestMetric = ckpt.state.bestMetric;
      s.bestEpoch = ckpt.state.bestEpoch;
      s.lastGood = ckpt.path;
      await epochLog.load({ upToEpoch: ckpt.state.epoch });
      log(`resumed from ${ckpt.path} (epoch ${ckpt.state.epoch}, step ${s.step})`);
    } else {
      await epochLog.load({ upToEpoch: 0 });
      log(
        `training ${config.experiment}/${config.name}: ${t.epochs} epochs x ${s.perEpoch} steps of ${t.batchSize} ` +
          `images (${s.microPerStep} micro-batches of ${t.microBatch}), ${parts.numTrain} training images, seed ${config.seed}`,
      );
    }

    let epoch = startEpoch - 1;
    for (epoch = startEpoch; epoch <= t.epochs; epoch++) {
      const e = await runEpoch(s, epoch, rng.fork());
      s.sessionImages += e.images;
      s.sessionSeconds += e.seconds;

      let outcome: ValidationOutcome | null = null;
      const every = config.eval.everyEpochs;
      if (parts.validate && ((every > 0 && epoch % every === 0) || epoch === t.epochs)) {
        outcome = await parts.validate(epoch);
        const apText = Object.entries(outcome.ap).map(([k, v]) => `${k} ${v === null ? "n/a" : v.toFixed(4)}`);
        log(`epoch ${epoch}: val mAP ${outcome.map === null ? "n/a" : outcome.map.toFixed(4)} (${apText.join(", ")})`);
      }
      const isBest = outcome !== null && outcome.map !== null && (s.bestMetric === null || outcome.map > s.bestMetric);
      if (isBest) {
        s.bestMetric = outcome!.map;
        s.bestEpoch = epoch;
      }
      const { sums } = e;
      const row: EpochLogRow = {
        epoch,
        steps: e.stepsInEpoch,
        lr: learningRate(Math.max(0, s.step - 1), { ...t, stepsPerEpoch: s.perEpoch }),
        loss: sums.n ? sums.total / sums.n : null,
        loss_cls: sums.n ? sums.cls / sums.n : null,
        loss_loc: sums.n ? sums.loc / sums.n : null,
        train_img_s: e.seconds > 0 ? e.images / e.seconds : null,
        seconds: e.seconds,
        val_map: outcome?.map ?? null,
        val_ap_face_mask: outcome?.ap.face_mask ?? null,
        val_ap_face: outcome?.ap.face ?? null,
      };
      await epochLog.append(row);
      s.lastGood = await saveCheckpoint(ckptDir, {
        weights: modelWeights(parts.model),
        optimizer: s.optimizer.getState(),
        state: { epoch, step: s.step, rngState: rng.state, bestMetric: s.bestMetric, bestEpoch: s.bestEpoch },
      }, { isBest: isBest && config.checkpoint.keepBest, metric: s.bestMetric, metadata: parts.modelMetadata });
      log(
        `epoch ${epoch}/${t.epochs}: loss ${row.loss?.toFixed(4)} (cls ${row.loss_cls?.toFixed(4)} loc ` +
          `${row.loss_loc?.toFixed(4)}), ${row.train_img_s?.toFixed(1)} img/s, checkpoint ${s.lastGood}`,
      );
      await options.onCheckpoint?.(epoch);
      if (options.stopAfterEpoch !== undefined && epoch >= options.stopAfterEpoch && epoch < t.epochs) {
        log(`stopping after epoch ${epoch} as asked (resume with --resume)`);
        epoch++;
        break;
      }
    }
    const done = Math.min(epoch - 1, t.epochs);
    const finished = done >= t.epochs;
    const modelDir = finished ? await keepFinalWeights(s, runDir, ckptDir) : null;
    return {
      epochs: done,
      steps: s.step,
      finished,
      rows: epochLog.rows.slice(),
      firstStepLoss: s.firstStepLoss,
      lastStepLoss: s.lastStepLoss,
      trainImgPerSec: s.sessionSeconds > 0 ? s.sessionImages / s.sessionSeconds : null,
      bestMetric: s.bestMetric,
      bestEpoch: s.bestEpoch,
      modelDir,
    };
  } finally {
    s.optimizer.dispose();
    logFile.close();
  }
}
