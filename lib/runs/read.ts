/**
 * A run folder read back typed, one way for every reader (the per-run tables, Table 2, the report page, the
 * notebooks, the grids): `config.json` through {@link readRunConfig}, `provenance.json` through
 * {@link parseProvenance}, `metrics.json` (and each `eval/<data>-<split>/metrics.json`) through
 * {@link parseRunMetrics}, `train_log.csv` through {@link readEpochLog}. Older layouts of metrics.json are upgraded on
 * read ({@link upgradeRunMetrics}), as config.json's are; a file that does not fit its schema is an error naming the
 * file and the field. Every JSON file goes through files.ts `readJson`.
 * @module
 */
import type {
  BySizeResult,
  CocoSummary,
  ConfusionMatrix,
  OperatingSummary,
  PrCurve,
  VocClassAp,
} from "../metrics/types.ts";
import { OBJECT_CLASSES } from "../types.ts";
import { readRunConfig, type RunConfig } from "./config.ts";
import { exists, readJsonIfPresent } from "./files.ts";
import { parseProvenance, type Provenance } from "./run.ts";
import { checkShape, type Shape, shape as S } from "./shape.ts";
import { type EpochLogRow, readEpochLog } from "./train_log.ts";

/** What data an evaluation ran on (metrics.json `data`). */
export interface MetricsData {
  label: "generated" | "real";
  root: string | null;
  checksum: string | null;
  /** Images evaluated. */
  images: number | null;
}

/** Timing of the evaluation (lib/evaluation's `EvalSpeed`); `null` where an older file lacks a figure. */
export interface MetricsSpeed {
  images: number | null;
  seconds: number | null;
  forwardSeconds: number | null;
  decodeSeconds: number | null;
  evalImgPerSec: number | null;
  forwardImgPerSec: number | null;
  overheadRatio: number | null;
}

/** Size and cost of the evaluated model. */
export interface ModelCost {
  /** Trainable parameters. */
  params: number | null;
  /** Multiply-accumulates per 240x320 image. */
  macs: number | null;
}

/**
 * Contents of a run's `metrics.json` (lib/experiments `writeEvaluation`: the split and data, lib/metrics
 * `metricsSummary`, speeds, the model's cost and, after training, the epochs). Fractions in [0, 1]. What an older
 * file lacks is `null` (`[]` for `skippedImages`).
 */
export interface RunMetrics {
  /** Split folder evaluated, e.g. `val`. */
  split: string | null;
  data: MetricsData | null;
  /** The data label in words (generated data says so). */
  note: string | null;
  /** Which weights were evaluated, e.g. `model/ (the last epoch, 100)`. */
  weights: string | null;
  /** All-point and 11-point VOC AP per class name. */
  voc: Record<string, VocClassAp>;
  map: number | null;
  map11: number | null;
  coco: CocoSummary | null;
  /** COCO AP with the size split at the model input. */
  cocoInput: CocoSummary | null;
  operating: OperatingSummary | null;
  confusion: ConfusionMatrix | null;
  bySize: BySizeResult | null;
  iouThreshold: number | null;
  numDetections: number | null;
  /** Images the loader could not read. */
  skippedImages: string[];
  speed: MetricsSpeed | null;
  model: ModelCost | null;
  /** Training images per second (written after training). */
  trainImgPerSec: number | null;
  /** Epochs trained. */
  epochs: number | null;
  /** Epoch of the evaluated weights (runs since the last epoch is what a run reports). */
  weightsEpoch: number | null;
  /** Epoch with the best validation mAP. */
  bestEpoch: number | null;
  /** The run folder (evaluations under `eval/`). */
  run: string | null;
  /** Data folder name (evaluations under `eval/`). */
  dataName: string | null;
  /** tfjs backend (evaluations under `eval/`). */
  backend: string | null;
}

const num = S.nullable(S.number());
const optNum = S.optional(num, null);
const optCount = S.optional(S.nullable(S.integer(0)), null);
const optText = S.optional(S.nullable(S.string()), null);
const COCO_SHAPE = S.object({ ap: optNum, ap50: optNum, ap75: optNum, small: optNum, medium: optNum, large: optNum });
const POINT_SHAPE = S.object({
  threshold: S.number(),
  tp: S.integer(0),
  fp: S.integer(0),
  fn: S.integer(0),
  precision: num,
  recall: num,
  f1: num,
});

/** The shape of lib/metrics' `BySizeResult` (metrics.json `bySize`, and reproduce.json's evaluations). */
export const BY_SIZE_SHAPE: Shape = S.object({
  sizeDefinition: S.string(),
  displayThreshold: S.number(),
  iouThreshold: S.number(),
  buckets: S.array(S.object({
    name: S.string(),
    lo: S.number(),
    hi: num,
    numGt: S.integer(0),
    perClass: S.record(S.object({ numGt: S.integer(0), ap: num, recall: num })),
  })),
});

const METRICS_SHAPE = S.object({
  split: optText,
  data: S.optional(
    S.nullable(S.object({ label: S.oneOf("generated", "real"), root: optText, checksum: optText, images: optCount })),
    null,
  ),
  note: optText,
  weights: optText,
  voc: S.record(S.object({ ap: num, ap11: optNum })),
  map: num,
  map11: optNum,
  coco: S.optional(S.nullable(COCO_SHAPE), null),
  cocoInput: S.optional(S.nullable(COCO_SHAPE), null),
  operating: S.optional(
    S.nullable(S.object({
      displayThreshold: S.number(),
      iouThreshold: S.number(),
      perClass: S.record(S.object({ npos: S.integer(0), display: POINT_SHAPE, best: S.nullable(POINT_SHAPE) })),
    })),
    null,
  ),
  confusion: S.optional(
    S.nullable(S.object({
      labels: S.array(S.string()),
      counts: S.array(S.array(S.integer(0))),
      displayThreshold: S.number(),
      iouThreshold: S.number(),
      ignoredDetections: S.integer(0),
    })),
    null,
  ),
  bySize: S.optional(S.nullable(BY_SIZE_SHAPE), null),
  iouThreshold: optNum,
  numDetections: optCount,
  skippedImages: S.optional(S.array(S.string()), []),
  speed: S.optional(
    S.nullable(S.object({
      images: optCount,
      seconds: optNum,
      forwardSeconds: optNum,
      decodeSeconds: optNum,
      evalImgPerSec: optNum,
      forwardImgPerSec: optNum,
      overheadRatio: optNum,
    })),
    null,
  ),
  model: S.optional(S.nullable(S.object({ params: optCount, macs: optCount })), null),
  trainImgPerSec: optNum,
  epochs: optCount,
  weightsEpoch: optCount,
  bestEpoch: optCount,
  run: optText,
  dataName: optText,
  backend: optText,
});

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A stored metrics.json brought to the current layout: scores kept under `final` or `val` (early readers allowed for
 * them) move to the top level, and parameters and MACs at the top level (or, failing that, at the top level of the
 * run's provenance.json) move into `model`. Anything else is left for {@link parseRunMetrics} to check.
 */
export function upgradeRunMetrics(raw: unknown, legacy: { provenance?: unknown } = {}): unknown {
  if (!isObject(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  if (!("map" in out)) {
    const nested = [out.final, out.val].find((x) => isObject(x) && "map" in x) as Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(nested ?? {})) if (!(k in out)) out[k] = v;
  }
  if (out.model === undefined) {
    const hasCost = (x: unknown): x is Record<string, unknown> =>
      isObject(x) && (typeof x.params === "number" || typeof x.macs === "number");
    const from = [out, legacy.provenance].find(hasCost);
    if (from) out.model = { params: from.params ?? null, macs: from.macs ?? null };
  }
  return out;
}

/**
 * Checks a parsed metrics.json (after {@link upgradeRunMetrics}) and returns it typed; a bad or missing field is a
 * `RunFileError` naming `file` and the field. `provenance` is the run's raw provenance.json, for the upgrade.
 */
export function parseRunMetrics(raw: unknown, options: { file?: string; provenance?: unknown } = {}): RunMetrics {
  return checkShape<RunMetrics>(
    METRICS_SHAPE,
    upgradeRunMetrics(raw, { provenance: options.provenance }),
    options.file ?? "metrics.json",
  );
}

/** Reads and checks one metrics.json ({@link parseRunMetrics}); `null` when the file does not exist. */
export async function readRunMetrics(file: string, options: { provenance?: unknown } = {}): Promise<RunMetrics | null> {
  const raw = await readJsonIfPresent(file);
  return raw === null ? null : parseRunMetrics(raw, { file, provenance: options.provenance });
}

const PR_SHAPE = S.object({
  name: S.optional(S.string()),
  npos: S.integer(0),
  scores: S.array(S.number()),
  recall: S.array(S.number()),
  precision: S.array(S.number()),
  interpolated: S.array(S.number()),
  ap: num,
  ap11: optNum,
});

/**
 * The P-R curves a run folder holds (`pr_<class>.json`, thinned to their corners), in class order; classes
 * without a file are left out. Each curve is named by its class.
 */
export async function readPrCurves(dir: string): Promise<PrCurve[]> {
  const curves: PrCurve[] = [];
  for (const c of OBJECT_CLASSES) {
    const file = `${dir}/pr_${c}.json`;
    const raw = await readJsonIfPresent(file);
    if (raw === null) continue;
    const curve = checkShape<PrCurve>(PR_SHAPE, raw, file);
    const n = curve.recall.length;
    if (curve.precision.length !== n || curve.scores.length !== n || curve.interpolated.length !== n) {
      throw new Error(`${file}: scores, recall, precision and interpolated differ in length`);
    }
    curves.push({ ...curve, name: c });
  }
  return curves;
}

/** One evaluation stored under `<run>/eval/<name>/metrics.json` (other data, or another split). */
export interface StoredEvaluation {
  /** `<data-name>-<split>`, e.g. `aizoo-val1497-val`. */
  name: string;
  metrics: RunMetrics;
}

/** A run folder, read and checked. */
export interface Run {
  /** The folder, as given (without a trailing slash). */
  dir: string;
  config: RunConfig;
  /** `null` until the run has been evaluated. */
  metrics: RunMetrics | null;
  /** `null` when the folder has no provenance.json. */
  provenance: Provenance | null;
  /** The rows of train_log.csv (`[]` when there is none yet). */
  log: EpochLogRow[];
  /** The evaluations under `eval/`, by name. */
  evaluations: StoredEvaluation[];
  /** Names of the files directly in the folder, sorted. */
  files: string[];
}

/**
 * Reads a run folder: config, provenance, metrics, the epoch log and the evaluations under `eval/`, each checked
 * against its schema (older layouts upgraded); a bad file is an error naming the file and the field.
 *
 * ```ts
 * import { readRun } from "ssdv2";
 * const run = await readRun("results/ablation/branches-4-20261129-122037");
 * console.log(run.config.model.branches, run.metrics?.map, run.log.length); // 4 0.8415... 100
 * console.log(run.evaluations.map((e) => [e.name, e.metrics.map])); // [["aizoo-val1497-val", 0.8297...]]
 * ```
 */
export async function readRun(dir: string): Promise<Run> {
  dir = dir.replace(/(.)\/+$/, "$1");
  const config = await readRunConfig(dir);
  const provenanceFile = `${dir}/provenance.json`;
  const rawProvenance = await readJsonIfPresent(provenanceFile);
  const provenance = rawProvenance === null ? null : parseProvenance(rawProvenance, { file: provenanceFile });
  const metrics = await readRunMetrics(`${dir}/metrics.json`, { provenance: rawProvenance });
  const log = await readEpochLog(`${dir}/train_log.csv`);
  const evaluations: StoredEvaluation[] = [];
  if (await exists(`${dir}/eval`)) {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${dir}/eval`)) if (e.isDirectory) names.push(e.name);
    for (const name of names.sort()) {
      // A folder without metrics.json is an evaluation still being written: not one yet.
      const m = await readRunMetrics(`${dir}/eval/${name}/metrics.json`);
      if (m) evaluations.push({ name, metrics: m });
    }
  }
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(e.name);
  files.sort();
  return { dir, config, metrics, provenance, log, evaluations, files };
}

/** A run folder found by {@link listRuns}: the {@link Run} and where it lies below the results folder. */
export interface ListedRun extends Run {
  /** Parent path below the results folder, e.g. `ablation/quick` ("" for a run directly in it). */
  experiment: string;
  /** Folder name of the run. */
  runId: string;
  /** Path relative to the results folder (`<experiment>/<runId>`), usable as a link from `results/index.html`. */
  relPath: string;
}

/**
 * Every run folder below `resultsDir`, read ({@link readRun}), depth-first and sorted by path; `[]` when the
 * folder does not exist. A run folder is a folder holding a `config.json` (its subfolders are not searched). Folders
 * whose name starts with `.` or `_` (scratch space, e.g. `results/_tmp`) or that are named `node_modules` are
 * skipped.
 */
export async function listRuns(resultsDir: string): Promise<ListedRun[]> {
  const root = resultsDir.replace(/(.)\/+$/, "$1");
  const runs: ListedRun[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) entries.push(e);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    if (entries.some((e) => e.isFile && e.name === "config.json")) {
      const relPath = dir.slice(root.length + 1);
      const slash = relPath.lastIndexOf("/");
      runs.push({
        ...await readRun(dir),
        experiment: slash >= 0 ? relPath.slice(0, slash) : "",
        runId: relPath.slice(slash + 1),
        relPath,
      });
      return;
    }
    const subdirs = entries.filter((e) => e.isDirectory && !/^[._]/.test(e.name) && e.name !== "node_modules");
    for (const e of subdirs.sort((a, b) => a.name.localeCompare(b.name))) await walk(`${dir}/${e.name}`);
  };
  await walk(root);
  return runs;
}
