/**
 * Evaluating a finished run on any data: its own validation split (the run's `metrics.json`) or another folder and
 * split, which go into `<run>/eval/<data-name>-<split>/` so that the run's own record is never overwritten by an
 * evaluation on other data. Only the split that is evaluated needs to exist (an evaluation-only set such as
 * aizoo-val1497 has no `train/`).
 * @module
 */
import { dataChecksum, type ResolveOptions, scanSplit } from "../data/dataset.ts";
import { formatProblem } from "../data/problems.ts";
import { readRunConfig, type RunConfig } from "../runs/config.ts";
import { exists, readJson } from "../runs/files.ts";
import { type DataProvenance, readProvenance, writeProvenance } from "../runs/run.ts";
import { evalOptionsOf, evaluateModel, type ModelEvaluation } from "../evaluation/evaluate.ts";
import { modelCost, resolveRunDataSource, setupBackendFor, writeEvaluation } from "./pipeline.ts";
import { type DetectorFactory, loadRunModel } from "../inference/mod.ts";

/** Options of {@link evaluateRunOn}. */
export interface RunEvaluationOptions {
  /** Data folder; default the run's own (its config's `data.root`, else FACEMASK_DATA, ...). */
  data?: string;
  /** Split folder; default the run's validation split. */
  split?: string;
  /** Passed to lib/data's resolveData (tests point it at temporary folders). */
  resolve?: ResolveOptions;
  /** Where messages go. */
  log?: (line: string) => void;
  /** Write the metrics (default true); `false` only computes them (the reproducibility check). */
  write?: boolean;
  /** Builds the network in place of lib/model's (tests with small models). */
  buildDetector?: DetectorFactory;
}

/** What {@link evaluateRunOn} did. */
export interface RunEvaluation {
  /** Folder the metrics were written to: the run folder itself, or `<run>/eval/<name>-<split>`. */
  dir: string;
  /** Whether this was the run's own data and validation split (then the run's metrics.json was rewritten). */
  own: boolean;
  /** `<data-name>-<split>`, e.g. `aizoo-val1497-val`; the folder name under `<run>/eval/`. */
  label: string;
  /** The split folder evaluated. */
  split: string;
  data: DataProvenance;
  evaluation: ModelEvaluation;
  /** The tfjs backend that ran it. */
  backend: string;
  /** Parameters and MACs of the evaluated model. */
  cost: { params: number | null; macs: number | null };
}

/** The name of a data folder as evaluation folders use it: its last path component, or `generated`. */
export function dataNameOf(root: string, generated: boolean): string {
  if (generated) return "generated";
  const name = root.replace(/\/+$/, "").split("/").pop() ?? "data";
  return name.replace(/[^A-Za-z0-9._-]+/g, "_") || "data";
}

async function realPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/**
 * Whether `root`/`split` is the data and validation split the run was trained and recorded on: the same folder, or
 * (a clone elsewhere, data at another path) the same files, by the checksum provenance recorded.
 */
async function isOwnData(runDir: string, root: string, split: string, config: RunConfig): Promise<boolean> {
  if (split !== config.data.valSplit || !(await exists(`${runDir}/provenance.json`))) return false;
  const p = await readProvenance(runDir);
  if ((await realPath(p.data.root)) === (await realPath(root))) return true;
  if (!(await exists(`${root}/${config.data.trainSplit}`))) return false;
  const sum = await dataChecksum(root, { splits: [config.data.trainSplit, config.data.valSplit] });
  return sum === p.data.checksum;
}

/**
 * Evaluates a run's kept weights (`model/`) on a data folder's split. On the run's own data and validation split it
 * rewrites the run's metrics.json and P-R files (as training did); on anything else it writes them into
 * `<run>/eval/<data-name>-<split>/` and leaves the run's own files as they were.
 *
 * ```ts
 * import { evaluateRunOn } from "ssdv2";
 * const run = "results/ablation/branches-4-20261129-122037";
 * const other = await evaluateRunOn(run, { data: "../aizoo-val1497", split: "val" }); // the run's own files stay
 * console.log(other.dir, other.evaluation.result.map); // <run>/eval/aizoo-val1497-val, the mAP there
 * const own = await evaluateRunOn(run, { write: false }); // its own val split (FACEMASK_DATA), nothing written
 * console.log(own.own, own.evaluation.result.map); // true 0.8415..., as its metrics.json records
 * ```
 */
export async function evaluateRunOn(runDir: string, options: RunEvaluationOptions = {}): Promise<RunEvaluation> {
  runDir = runDir.replace(/\/+$/, "");
  const config = await readRunConfig(runDir);
  const source = await resolveRunDataSource(config, options);
  const split = options.split ?? config.data.valSplit;
  const scanned = await scanSplit(source.root, split);
  if (scanned.records.length === 0) throw new Error(`${source.root}/${split}: no usable images to evaluate on`);
  const own = await isOwnData(runDir, source.root, split, config);
  const records = own && config.data.limitVal > 0 ? scanned.records.slice(0, config.data.limitVal) : scanned.records;
  const name = dataNameOf(source.root, source.generated);
  const label = `${name}-${split}`;
  const data: DataProvenance = {
    root: source.root,
    source: source.source,
    label: source.generated ? "generated" : "real",
    checksum: await dataChecksum(source.root, { splits: [split] }),
    description: source.description,
    trainImages: 0,
    valImages: records.length,
    problems: scanned.problems.map(formatProblem),
  };
  for (const p of scanned.problems) options.log?.(`  ${formatProblem(p)}`);
  // The backend comes first: the model's variables live on the backend that is active when they are made.
  const backend = await setupBackendFor(config.backend);
  const { model, priors } = await loadRunModel(runDir, { buildDetector: options.buildDetector });
  try {
    const evaluation = await evaluateModel(model, records, evalOptionsOf(config, priors));
    const dir = own ? runDir : `${runDir}/eval/${label}`;
    const outcome = { dir, own, label, split, data, evaluation, backend: backend.name, cost: modelCost(model) };
    if (options.write !== false) await writeRunEvaluation(runDir, outcome);
    return outcome;
  } finally {
    model.dispose();
  }
}

/**
 * Writes an evaluation {@link evaluateRunOn} computed (with `write: false`) where it belongs: metrics.json and the
 * P-R files into `outcome.dir`, and on the run's own split the speeds into its provenance.
 */
export async function writeRunEvaluation(runDir: string, outcome: RunEvaluation): Promise<void> {
  const { dir, own, data, evaluation } = outcome;
  await Deno.mkdir(dir, { recursive: true });
  const weights = await keptWeightsLabel(runDir);
  const provenance = (await exists(`${runDir}/provenance.json`)) ? await readProvenance(runDir) : null;
  await writeEvaluation(dir, evaluation, {
    split: outcome.split,
    data: { ...data, trainImages: own && provenance ? provenance.data.trainImages : 0 },
    weights,
    extra: {
      run: runDir,
      dataName: dataNameOf(data.root, data.label === "generated"),
      backend: outcome.backend,
      model: outcome.cost,
    },
  });
  if (own && provenance) {
    await writeProvenance(runDir, {
      ...provenance,
      evalImgPerSec: evaluation.speed.evalImgPerSec,
      forwardImgPerSec: evaluation.speed.forwardImgPerSec,
    });
  }
}

/** How the run's `model/` weights were chosen, as its model.json metadata says (older runs kept the best epoch). */
async function keptWeightsLabel(runDir: string): Promise<string> {
  try {
    const json = await readJson<{ userDefinedMetadata?: Record<string, unknown>; metadata?: Record<string, unknown> }>(
      `${runDir}/model/model.json`,
    );
    const meta = json.userDefinedMetadata ?? json.metadata ?? {};
    const epoch = meta.epoch;
    if (meta.which === "best") return `model/ (epoch ${epoch}, selected on validation mAP)`;
    if (meta.which === "last") return `model/ (the last epoch, ${epoch})`;
  } catch {
    // no readable metadata: say only where the weights are
  }
  return "model/";
}
