/**
 * Which run folders a notebook shows, and the tables it builds from them: the SSDv2 (4-branch) run of notebooks 03,
 * 04 and 07, the run grids of 05 (branches) and 06 (trunks). Under `smoke` the runs are trained on the spot
 * ({@link trainSmokeRun}); under `full` they are picked among the evaluated real-data runs of the results folder,
 * and what is missing is said, never invented.
 * @module
 */

import type { ResultTable, RunSummary } from "../reporting/mod.ts";
import { summarizeRun } from "../reporting/summary.ts";
import type { NotebookContext } from "./context.ts";
import { show, tableBundle } from "./display.ts";
import { frameTable } from "../reporting/html.ts";
import { displayPath } from "./paths.ts";
import { pickRun, type RunQuery, SSDV2_RUN_EXPERIMENTS } from "../reporting/runs.ts";
import { type ListedRun, listRuns } from "../runs/read.ts";
import { type SmokeRunOptions, trainSmokeRun } from "./smoke.ts";

/**
 * The folder of the SSDv2 (4-branch) run a notebook shows: under `smoke` a freshly trained tiny run (`epochs`
 * default 2), under `full` the best evaluated real-data run of {@link SSDV2_RUN_EXPERIMENTS}; `null` when there is
 * none.
 */
export async function ssdv2RunDir(ctx: NotebookContext, options: { epochs?: number } = {}): Promise<string | null> {
  if (ctx.profile === "smoke") {
    const scratch = await Deno.makeTempDir({ prefix: "notebook_runs_" });
    return await trainSmokeRun(ctx, scratch, {
      name: "ssdv2-b4",
      model: { trunk: "ssdv2", branches: 4 },
      ...(options.epochs === undefined ? {} : { epochs: options.epochs }),
    });
  }
  const run = pickRun(await listRuns(ctx.resultsDir), {
    trunk: "ssdv2",
    branches: 4,
    experiments: [...SSDV2_RUN_EXPERIMENTS],
  });
  return run?.dir ?? null;
}

/** The one-line note a notebook prints when {@link ssdv2RunDir} found no run. */
export function ssdv2MissingNote(resultsDir: string): string {
  return `MISSING: no evaluated SSDv2 (4 branches) run on real data in ${displayPath(resultsDir)}; train one with ` +
    "`deno task train experiments/ablation/branches-4.json`. Nothing below is shown.";
}

/** A grid of runs (one per key: branch count, trunk) as notebooks 05 and 06 show it. */
export interface RunGrid<K> {
  /** One run per key, in this order. */
  keys: readonly K[];
  /** The run query of one key (trunk, branches); experiments and `generated` are set by the profile. */
  query: (key: K) => RunQuery;
  /** The smoke run of one key. */
  smoke: (key: K) => SmokeRunOptions;
  /** The `deno task` command that trains the grid, e.g. `ablation`; its paper runs live in `results/<command>/`. */
  command: string;
  /** The missing keys in words, e.g. `with 1, 2 branch(es)`. */
  missing: (keys: K[]) => string;
  /** Appended to the note that shorter-schedule runs are shown, e.g. `, which say little about Table 2`. */
  quickCaveat: string;
  /** The grid's profiles besides `paper`, best first (default `["quick"]`); their runs live in `<command>/<profile>/`. */
  profiles?: readonly string[];
  /**
   * Other experiments whose runs stand in for this grid's under a profile (`paper` included): a grid reuses a
   * finished run of an identical config wherever it lives (lib/experiments/grid.ts), so the SSDv2 row of the short
   * backbone grid is the 4-branch run in `ablation/short/`.
   */
  shared?: (profile: string) => readonly string[];
}

/** How a note names the runs of each shorter profile. */
export const PROFILE_WORDS: Readonly<Record<string, string>> = {
  short: "SHORT-schedule runs (12 epochs on all training images, not the paper's 100)",
  quick: "QUICK runs (3 epochs on 1,536 training images)",
};

/**
 * Picks the grid's runs among `found`: the complete set of paper-schedule runs (`<command>/`), else the first
 * complete set of a shorter profile (`<command>/<profile>/`, in the grid's order), else the (incomplete) last set.
 * `notes` say what is missing and when shorter-schedule runs stand in.
 */
export function pickGridRuns<K>(
  found: readonly ListedRun[],
  grid: RunGrid<K>,
): { runs: (ListedRun | null)[]; notes: string[] } {
  const notes: string[] = [];
  let runs: (ListedRun | null)[] = [];
  for (const profile of ["paper", ...(grid.profiles ?? ["quick"])]) {
    const experiment = profile === "paper" ? grid.command : `${grid.command}/${profile}`;
    const experiments = [experiment, ...(grid.shared?.(profile) ?? [])];
    runs = grid.keys.map((k) => pickRun(found, { ...grid.query(k), experiments }));
    const missing = grid.keys.filter((_, i) => runs[i] === null);
    if (missing.length === 0) {
      if (profile !== "paper") {
        notes.push(
          `NOTE: no complete set of paper-schedule runs in results/${grid.command}/; showing the ` +
            `${PROFILE_WORDS[profile] ?? `${profile} runs`}${grid.quickCaveat}.`,
        );
      }
      break;
    }
    notes.push(
      `MISSING in results/${experiment}/: evaluated real-data runs ${grid.missing(missing)} ` +
        `(train them with \`deno task ${grid.command} --profile ${profile}\`)`,
    );
  }
  return { runs, notes };
}

/**
 * The grid's runs for the notebook's profile (one per key, `null` where missing): under `smoke` it trains one tiny
 * run per key; under `full` it picks them with {@link pickGridRuns} and prints its notes.
 */
export async function gridRuns<K>(ctx: NotebookContext, grid: RunGrid<K>): Promise<(ListedRun | null)[]> {
  if (ctx.profile === "smoke") {
    const scratch = await Deno.makeTempDir({ prefix: "notebook_runs_" });
    for (const k of grid.keys) await trainSmokeRun(ctx, scratch, grid.smoke(k));
    const found = await listRuns(scratch);
    return grid.keys.map((k) => pickRun(found, { ...grid.query(k), generated: true }));
  }
  const { runs, notes } = pickGridRuns(await listRuns(ctx.resultsDir), grid);
  for (const note of notes) console.log(note);
  return runs;
}

/** Shows a lib/reporting table with its caption, then prints its notes (data provenance, caveats). */
export async function showTable(table: ResultTable): Promise<void> {
  await show(tableBundle(frameTable(table.frame, { caption: table.title })));
  for (const note of table.notes) console.log(note);
}

/**
 * Summarises `runs` (lib/reporting `summarizeRun`, named by their config) and shows the table `build` makes of
 * them; with no runs it prints `empty` instead.
 * Returns the summaries (`[]` when there are none) for the charts that follow.
 */
export async function showRunsTable(
  runs: readonly ListedRun[],
  options: { build: (summaries: RunSummary[]) => ResultTable | Promise<ResultTable>; empty: string },
): Promise<RunSummary[]> {
  if (runs.length === 0) {
    console.log(options.empty);
    return [];
  }
  const summaries = runs.map((r) => summarizeRun(r));
  await showTable(await options.build(summaries));
  return summaries;
}
