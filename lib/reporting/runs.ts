/**
 * Finds and reads run folders (`results/<experiment>/<run-id>/`, docs/design.md) for the notebooks and the
 * report. A run folder is any folder holding a `config.json`; the experiment is its parent path below `results/`
 * (it may contain `/`, e.g. `ablation/quick`). Missing files are recorded, never invented.
 * @module
 */

import { finiteNumber, getPath as get, type RunSummary, summarizeRun, usesGeneratedData } from "./summary.ts";

/** One run folder as found on disk. */
export interface RunFolder {
  /** Parent path below the results folder, e.g. `ablation/quick`. */
  experiment: string;
  /** Folder name of the run. */
  runId: string;
  /** Path relative to the results folder (`<experiment>/<runId>`), usable as a link from `results/index.html`. */
  relPath: string;
  /** Absolute or caller-relative path of the folder. */
  path: string;
  /** Parsed `config.json`. */
  config: Record<string, unknown>;
  /** Parsed `metrics.json`, or `undefined` when the run has not been evaluated (yet). */
  metrics?: Record<string, unknown>;
  /** Parsed `provenance.json`, when present. */
  provenance?: Record<string, unknown>;
  /** Names of the files in the folder, sorted. */
  files: string[];
}

async function readJsonFile(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  try {
    const value = JSON.parse(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("expected a JSON object");
    return value as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: not a valid JSON object: ${(e as Error).message}`);
  }
}

/** Reads one run folder; `resultsDir` is the root its experiment path is measured from. */
export async function readRunFolder(path: string, resultsDir: string): Promise<RunFolder> {
  const clean = (p: string) => p.replace(/\/+$/, "");
  const root = clean(resultsDir);
  const dir = clean(path);
  if (!dir.startsWith(root + "/")) throw new Error(`readRunFolder: ${path} is not inside ${resultsDir}`);
  const relPath = dir.slice(root.length + 1);
  const slash = relPath.lastIndexOf("/");
  const config = await readJsonFile(`${dir}/config.json`);
  if (!config) throw new Error(`${dir}: not a run folder (no config.json)`);
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile) files.push(e.name);
  files.sort();
  return {
    experiment: slash >= 0 ? relPath.slice(0, slash) : "",
    runId: slash >= 0 ? relPath.slice(slash + 1) : relPath,
    relPath,
    path: dir,
    config,
    metrics: await readJsonFile(`${dir}/metrics.json`),
    provenance: await readJsonFile(`${dir}/provenance.json`),
    files,
  };
}

/**
 * Every run folder below `resultsDir` (depth-first, sorted by path), or `[]` when the folder does not exist.
 * Folders whose name starts with `.` or `_` (scratch space, e.g. `results/_tmp`) or that are named `node_modules`
 * are skipped.
 */
export async function listRuns(resultsDir: string): Promise<RunFolder[]> {
  const runs: RunFolder[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) entries.push(e);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    if (entries.some((e) => e.isFile && e.name === "config.json")) {
      runs.push(await readRunFolder(dir, resultsDir));
      return;
    }
    const subdirs = entries.filter((e) => e.isDirectory && !/^[._]/.test(e.name) && e.name !== "node_modules");
    for (const e of subdirs.sort((a, b) => a.name.localeCompare(b.name))) await walk(`${dir}/${e.name}`);
  };
  await walk(resultsDir.replace(/\/+$/, ""));
  return runs;
}

export { type RunScores, runScores, usesGeneratedData } from "./summary.ts";

/** lib/report's `RunSummary`, as a run folder provides it (see {@link runSummary}); one type, defined there. */
export type RunSummaryFields = RunSummary;

/** The run as lib/report's `RunSummary` ({@link summarizeRun}, shared with the notebooks and per-run reports). */
export function runSummary(run: RunFolder): RunSummaryFields {
  return summarizeRun(run, run.experiment ? `${run.experiment}/${run.runId}` : run.runId);
}

/**
 * The ablation experiment whose 4-branch run is also the ssdv2 run of a backbone experiment, or null: the grids reuse
 * a finished run of an identical config (lib/experiments/grid.ts), and only the short and paper configs are identical
 * (pinned by lib/experiments/grid_test.ts; the quick backbone runs use another batch size).
 */
export function sharedSsdv2Experiment(backboneExperiment: string): string | null {
  const shared: Record<string, string> = { backbones: "ablation", "backbones/short": "ablation/short" };
  return shared[backboneExperiment] ?? null;
}

/** What {@link pickRun} looks for. */
export interface RunQuery {
  trunk?: string;
  branches?: number;
  /** Experiments to accept, best first (e.g. `["ablation", "ablation/quick"]`); default any. */
  experiments?: string[];
  /** Accept runs on generated data (default false: a `full` notebook must not show them as real). */
  generated?: boolean;
}

/**
 * The run that best answers a query among evaluated runs (those with `metrics.json`): the first matching
 * experiment in `experiments`, then the most epochs configured, then the latest run id (ids end in a UTC time).
 * `null` when none matches, so a notebook can say so instead of inventing numbers.
 */
export function pickRun(runs: readonly RunFolder[], query: RunQuery = {}): RunFolder | null {
  const rank = (r: RunFolder) => query.experiments ? query.experiments.indexOf(r.experiment) : 0;
  const epochs = (r: RunFolder) => finiteNumber(get(r.config, ["train", "epochs"])) ?? 0;
  const candidates = runs.filter((r) =>
    r.metrics !== undefined &&
    (query.trunk === undefined || get(r.config, ["model", "trunk"]) === query.trunk) &&
    (query.branches === undefined || get(r.config, ["model", "branches"]) === query.branches) &&
    rank(r) >= 0 &&
    (query.generated || !usesGeneratedData(r))
  );
  candidates.sort((a, b) => rank(a) - rank(b) || epochs(b) - epochs(a) || b.runId.localeCompare(a.runId));
  return candidates[0] ?? null;
}

/** Experiments searched for the SSDv2 (4-branch) run, best first: paper schedules, the short one, the quick runs. */
export const SSDV2_RUN_EXPERIMENTS: readonly string[] = Object.freeze([
  "ablation",
  "backbones",
  "default",
  "ablation/short",
  "ablation/quick",
  "backbones/quick",
]);
