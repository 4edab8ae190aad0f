/**
 * Grids of runs: the Table 2 ablation (1..4 branches) and the backbone comparison, each in a `quick` profile
 * (sized for 2 CPU cores), a `short` one (all data, 12 epochs) and a `paper` profile (the paper's schedule); every
 * config is trained in turn, then the comparison table and chart are written beside the runs.
 *
 * A grid never trains twice what it already has: a finished run folder anywhere under the results root with the
 * same config (labels aside) and the same data checksum is reused, and an unfinished one is resumed from its last
 * checkpoint. So a multi-hour profile can be stopped and started again, and the SSDv2 row of the backbone grid is
 * the 4-branch run of the ablation grid of the same profile.
 * @module
 */
import { applyOverrides, loadConfig, readRunConfig, type RunConfig } from "../runs/config.ts";
import { loadRunData, runExperiment } from "./pipeline.ts";
import { exists, writeJsonAtomic } from "../runs/files.ts";
import { missingRunFiles, type Provenance, readProvenance } from "../runs/run.ts";
import { dataNameOf, evaluateRunOn } from "./run_evaluation.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Table 2's configs in training order: the `carry` reading (the one that can reach the paper's numbers) for
 * k = 1, 2, 3, then the 4-branch model both readings share, then the `own` reading for k = 3, 2, 1.
 */
function ablationConfigs(dir: string): string[] {
  return [
    ...[1, 2, 3].map((k) => `${dir}/carry-${k}.json`),
    `${dir}/branches-4.json`,
    ...[3, 2, 1].map((k) => `${dir}/own-${k}.json`),
  ];
}

/** Config files of each grid and profile, relative to the repository root. */
export const GRIDS: Readonly<Record<"ablation" | "backbones", Readonly<Record<string, readonly string[]>>>> = {
  ablation: {
    quick: ablationConfigs("experiments/quick"),
    short: ablationConfigs("experiments/short"),
    paper: ablationConfigs("experiments/ablation"),
  },
  backbones: {
    quick: ["ssdv2", "slim", "rfb", "aizoo"].map((t) => `experiments/quick/backbone-${t}.json`),
    short: ["ssdv2", "slim", "rfb", "aizoo"].map((t) => `experiments/short/backbone-${t}.json`),
    paper: ["ssdv2", "slim", "rfb", "aizoo"].map((t) => `experiments/backbones/${t}.json`),
  },
};

/**
 * What a grid writes besides its run folders. The tables and charts come from lib/reporting (its `GRID_OUTPUTS`),
 * handed in by the caller so that experiments never import the reporting built on them.
 */
export interface GridOutputs {
  /** Per-run tables and charts, written into a run folder once its training has finished; returns the files. */
  run(runDir: string): Promise<string[]>;
  /**
   * The comparison over a grid: Table 2 from every run folder `collected` under `outDir` (ablation), or the
   * backbone table from the runs of this grid (`runDirs`); paths in it relative to `repo`. Returns the files.
   */
  grid(
    kind: "ablation" | "backbones",
    runs: { collected: string[]; runDirs: string[]; outDir: string; repo: string },
  ): Promise<string[]>;
}

/** Options of {@link runGrid}. */
export interface GridOptions {
  profile: string;
  /** The tables and charts to write (lib/reporting's `GRID_OUTPUTS`). */
  outputs: GridOutputs;
  data?: string;
  resultsDir: string;
  /** Train every config anew instead of reusing or resuming matching run folders. */
  fresh?: boolean;
  /** Where messages go; default console.log. */
  log?: (line: string) => void;
  /**
   * An evaluation-only data folder (e.g. aizoo-val1497, the paper's test split as far as it is public): every
   * finished run is evaluated on its `val` split once, into `<run>/eval/<name>-val/`, as soon as the grid reaches it
   * finished (reused, or just trained), so a grid that spans sessions fills it in as it goes. Never used to pick
   * weights.
   */
  evalData?: string;
  /** How a finished run is evaluated on `evalData` (tests); default: once, into `<run>/eval/` (skipped when there). */
  evaluate?: (runDir: string, evalData: string, log: (line: string) => void) => Promise<void>;
  /**
   * `--set key.path=value` overrides, applied to every config of the grid after it is read (lib/runs/config's
   * `applyOverrides`): they are part of each run's config, so of its config.json and of the identity that decides
   * which run folders are reused.
   */
  set?: string[];
  /**
   * Train nothing: print through `log` one line per config of the grid, in order, each a self-contained shell command
   * (see {@link gridCommand}), so that the runs can be spread over many machines; then `tableOnly` collects them.
   */
  print?: boolean;
  /** Train nothing: write the comparison from the finished run folders already under the results root. */
  tableOnly?: boolean;
}

/** Quotes `word` for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The `--print` line of one config of a grid: `deno task train <config> [--data DIR] [--results DIR] [--set ...]`
 * when it has no run yet, `deno task train --resume <run> [--data DIR]` when it has an unfinished one, and the
 * comment `# done: <run>` when it has a finished one. Commands run from the repository root, as `deno task` does.
 */
export function gridCommand(
  rel: string,
  found: ReusableRun | null,
  options: Pick<GridOptions, "data" | "resultsDir" | "set">,
): string {
  if (found?.finished) return `# done: ${found.runDir}`;
  const data = options.data ? ["--data", options.data] : [];
  const words = found ? ["deno", "task", "train", "--resume", found.runDir, ...data] : [
    "deno",
    "task",
    "train",
    rel,
    ...data,
    ...(options.resultsDir.replace(/\/+$/, "") === "results" ? [] : ["--results", options.resultsDir]),
    ...(options.set ?? []).flatMap((o) => ["--set", o]),
  ];
  return words.map(shellQuote).join(" ");
}

/**
 * What decides the numbers a run produces: its config without the labels (`name`, `experiment`, `description`),
 * as JSON with sorted keys.
 */
export function runIdentity(config: RunConfig): string {
  const { name: _n, experiment: _e, description: _d, ...rest } = config;
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v !== null && typeof v === "object"
      ? Object.fromEntries(
        Object.keys(v as Record<string, unknown>).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      )
      : v;
  return JSON.stringify(sorted(rest));
}

/** A run folder {@link findReusableRun} found. */
export interface ReusableRun {
  runDir: string;
  /** Trained to the end with every contract file present (else it has a checkpoint to resume from). */
  finished: boolean;
}

/** Run folders under `root` (folders holding config.json and provenance.json), depth-first, at most `depth` deep. */
async function runFolders(root: string, depth = 4): Promise<string[]> {
  const found: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(root)];
  } catch {
    return found;
  }
  if (entries.some((e) => e.name === "config.json") && entries.some((e) => e.name === "provenance.json")) {
    return [root];
  }
  if (depth === 0) return found;
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isDirectory && !e.name.startsWith(".") && !e.name.startsWith("_")) {
      found.push(...await runFolders(`${root}/${e.name}`, depth - 1));
    }
  }
  return found;
}

/**
 * Finds a run folder under `resultsDir` that computed (or was computing) `config` on data with `checksum`: the
 * newest finished one, else the newest unfinished one that has a checkpoint; null when there is none. Folders
 * whose config or provenance cannot be read are passed over. A checksum that was not computed never matches.
 */
export async function findReusableRun(
  resultsDir: string,
  config: RunConfig,
  checksum: string,
): Promise<ReusableRun | null> {
  if (!/^[0-9a-f]{16,}$/.test(checksum)) return null;
  const want = runIdentity(config);
  const finished: string[] = [];
  const unfinished: string[] = [];
  for (const dir of await runFolders(resultsDir)) {
    let provenance: Provenance;
    try {
      const c = await readRunConfig(dir);
      if (runIdentity(c) !== want) continue;
      provenance = await readProvenance(dir);
    } catch {
      continue;
    }
    if (provenance.data?.checksum !== checksum) continue;
    if (provenance.end && (await missingRunFiles(dir)).length === 0) finished.push(dir);
    else if (await exists(`${dir}/checkpoints`) && [...Deno.readDirSync(`${dir}/checkpoints`)].length > 0) {
      unfinished.push(dir);
    }
  }
  // Run ids end in a UTC time stamp, so within one experiment the name order is the time order.
  const newest = (dirs: string[]) => dirs.sort((a, b) => runStamp(a).localeCompare(runStamp(b))).at(-1)!;
  if (finished.length > 0) return { runDir: newest(finished), finished: true };
  if (unfinished.length > 0) return { runDir: newest(unfinished), finished: false };
  return null;
}

/** Evaluates a finished run on `data`'s val split unless `<run>/eval/<name>-val/metrics.json` exists already. */
async function evaluateOnceOn(runDir: string, data: string, log: (line: string) => void): Promise<void> {
  const provenance = await readProvenance(runDir);
  if (!provenance.end) return;
  const root = data.replace(/\/+$/, "");
  const target = `${runDir}/eval/${dataNameOf(root, false)}-val/metrics.json`;
  if (await exists(target)) return;
  const e = await evaluateRunOn(runDir, { data: root, split: "val" });
  log(
    `evaluated ${runDir} on ${e.label}: mAP ${
      e.evaluation.result.map === null ? "n/a" : (e.evaluation.result.map * 100).toFixed(2)
    }`,
  );
}

/** The `experiment` of a grid's config file (the folder its runs go to under the results root). */
async function experimentOf(rel: string): Promise<string> {
  return (await loadConfig(`${REPO}/${rel}`)).experiment;
}

/**
 * Every run folder directly inside `dir` whose config names `experiment`, finished or not: the table step reads what
 * is there, so runs trained elsewhere and copied back count. Of several folders for one (model, priors, seed,
 * schedule), the newest finished one is taken, else the newest.
 */
export async function collectRuns(dir: string, experiment: string): Promise<string[]> {
  const byKey = new Map<string, { dir: string; finished: boolean }>();
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return [];
  }
  for (const e of entries) {
    const run = `${dir}/${e.name}`;
    if (!(await exists(`${run}/config.json`))) continue;
    let key: string;
    let finished = false;
    try {
      const c = await readRunConfig(run);
      if (c.experiment !== experiment) continue;
      key = runIdentity(c);
      finished = (await exists(`${run}/provenance.json`)) && Boolean((await readProvenance(run)).end);
    } catch {
      continue;
    }
    const had = byKey.get(key);
    if (!had || finished || !had.finished) byKey.set(key, { dir: run, finished });
  }
  return [...byKey.values()].map((v) => v.dir);
}

/** The `YYYYMMDD-HHMMSS` stamp at the end of a run id ("" when there is none). */
function runStamp(dir: string): string {
  return /(\d{8}-\d{6})$/.exec(dir)?.[1] ?? "";
}

/** What {@link runGrid} produced. */
export interface GridOutcome {
  runDirs: string[];
  /** Table and chart files of the comparison. */
  files: string[];
  /** `generated` or `real`. */
  dataLabel: string;
  /** With `print`: the lines printed, one per config. */
  commands?: string[];
}

/**
 * Trains every config of a grid, then writes the comparison into `<resultsDir>/<kind>/` (profile paper) or
 * `<resultsDir>/<kind>/<profile>/` (the shorter profiles). With `print` it only prints a command per config; with
 * `tableOnly` it only writes the comparison from the run folders that are there.
 *
 * ```ts
 * import { GRID_OUTPUTS, runGrid } from "ssdv2";
 * const options = { profile: "paper", resultsDir: "results", outputs: GRID_OUTPUTS };
 * await runGrid("ablation", { ...options, print: true }); // one shell command per config, to run anywhere
 * const grid = await runGrid("ablation", { ...options, tableOnly: true }); // then Table 2 from the run folders
 * console.log(grid.files); // results/ablation/table2.csv, table2.md, table2_chart.svg, table2_chart.png
 * ```
 */
export async function runGrid(kind: "ablation" | "backbones", options: GridOptions): Promise<GridOutcome> {
  const log = options.log ?? console.log;
  const configs = GRIDS[kind][options.profile];
  if (!configs) {
    throw new Error(`unknown --profile "${options.profile}"; expected one of ${Object.keys(GRIDS[kind]).join(", ")}`);
  }
  const runDirs: string[] = [];
  const labels = new Set<string>();
  const started = Date.now();
  const commands: string[] = [];
  const evaluate = options.evaluate ?? evaluateOnceOn;
  const evaluateFinished = async (dir: string) => {
    if (options.evalData) await evaluate(dir, options.evalData, log);
  };
  for (const [i, rel] of configs.entries()) {
    if (!options.print) log(`[${kind} ${options.profile}] ${i + 1}/${configs.length}: ${rel}`);
    const config = applyOverrides(await loadConfig(`${REPO}/${rel}`), options.set ?? [], { source: rel });
    // The ablation table reads its folder whatever the configs say (collectRuns below).
    if (options.tableOnly && kind === "ablation") continue;
    let found: ReusableRun | null = null;
    if (!options.fresh || options.tableOnly) {
      const data = await loadRunData(config, { data: options.data });
      found = await findReusableRun(options.resultsDir, config, data.provenance.checksum);
    }
    if (options.print) {
      const line = gridCommand(rel, found, options);
      commands.push(line);
      log(line);
      continue;
    }
    if (options.tableOnly) {
      if (found?.finished) {
        labels.add((await readProvenance(found.runDir)).data.label);
        runDirs.push(found.runDir);
      } else {
        log(
          `[${kind} ${options.profile}] no finished run of ${rel} under ${options.resultsDir}: left out of the table`,
        );
      }
      continue;
    }
    if (found?.finished) {
      log(
        `[${kind} ${options.profile}] reusing ${found.runDir}: same config and data checksum, finished (--fresh retrains)`,
      );
      labels.add((await readProvenance(found.runDir)).data.label);
      runDirs.push(found.runDir);
      await evaluateFinished(found.runDir);
      continue;
    }
    if (found) log(`[${kind} ${options.profile}] resuming ${found.runDir} from its last checkpoint`);
    const outcome = found
      ? await runExperiment(null, { data: options.data, resultsDir: options.resultsDir, resume: found.runDir })
      : await runExperiment(config, { data: options.data, resultsDir: options.resultsDir });
    labels.add(outcome.provenance.data.label);
    await options.outputs.run(outcome.runDir);
    runDirs.push(outcome.runDir);
    if (outcome.train.finished) await evaluateFinished(outcome.runDir);
  }
  if (options.print) return { runDirs, files: [], dataLabel: "", commands };
  // The paper profile owns results/<kind>/; shorter profiles write beside their own runs so a quick run never
  // overwrites a longer one's table.
  const outDir = options.profile === "paper"
    ? `${options.resultsDir}/${kind}`
    : `${options.resultsDir}/${kind}/${options.profile}`;
  const collected = kind === "ablation"
    ? await collectRuns(outDir, configs.length ? await experimentOf(configs[0]) : "")
    : [];
  if (options.tableOnly && kind === "ablation") {
    for (const dir of collected) {
      if (!(await exists(`${dir}/provenance.json`))) continue;
      const p = await readProvenance(dir);
      if (p.end) runDirs.push(dir);
      if (p.end) labels.add(p.data.label);
    }
  }
  if (options.tableOnly && (kind === "ablation" ? collected : runDirs).length === 0) {
    throw new Error(`--table-only: no run folders of the ${options.profile} ${kind} grid under ${options.resultsDir}`);
  }
  // Trained and reused runs were evaluated as the grid reached them; --table-only evaluates what it collects.
  if (options.tableOnly) {
    for (const dir of runDirs) await evaluateFinished(dir);
  }
  const files = await options.outputs.grid(kind, { collected, runDirs, outDir, repo: REPO });
  const dataLabel = [...labels].join("+");
  await writeJsonAtomic(`${outDir}/${kind}_runs.json`, {
    kind,
    profile: options.profile,
    data: dataLabel,
    runs: runDirs,
    seconds: (Date.now() - started) / 1000,
  });
  log(`[${kind} ${options.profile}] data: ${dataLabel.toUpperCase()}; wrote ${files.join(", ")}`);
  return { runDirs, files, dataLabel };
}
