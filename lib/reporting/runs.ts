/**
 * Which run folders the report and the notebooks show: {@link pickRun} among the runs lib/runs `listRuns` found, the
 * experiments searched for the SSDv2 run, and the ablation run that stands in for a backbone grid's ssdv2 run.
 * @module
 */

import type { ListedRun } from "../runs/read.ts";
import { usesGeneratedData } from "./summary.ts";

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
export function pickRun<R extends ListedRun>(runs: readonly R[], query: RunQuery = {}): R | null {
  const rank = (r: R) => query.experiments ? query.experiments.indexOf(r.experiment) : 0;
  const epochs = (r: R) => r.config.train.epochs;
  const candidates = runs.filter((r) =>
    r.metrics !== null &&
    (query.trunk === undefined || r.config.model.trunk === query.trunk) &&
    (query.branches === undefined || r.config.model.branches === query.branches) &&
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
