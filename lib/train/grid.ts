/**
 * Grids of runs: the Table 2 ablation (1..4 branches) and the backbone comparison, each in a `quick` profile
 * (sized for 2 CPU cores), a `short` one (the ablation only: all data, 12 epochs) and a `paper` profile (the paper's schedule); every config is trained in turn, then the
 * comparison table and chart are written beside the runs.
 * @module
 */
import { runConfigFile } from "./pipeline.ts";
import { writeAblationReport, writeBackboneReport, writeRunReports } from "./reports.ts";
import { writeJsonAtomic } from "./files.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Config files of each grid and profile, relative to the repository root. */
export const GRIDS: Readonly<Record<"ablation" | "backbones", Readonly<Record<string, readonly string[]>>>> = {
  ablation: {
    quick: [1, 2, 3, 4].map((k) => `experiments/quick/branches-${k}.json`),
    short: [1, 2, 3, 4].map((k) => `experiments/short/branches-${k}.json`),
    paper: [1, 2, 3, 4].map((k) => `experiments/ablation/branches-${k}.json`),
  },
  backbones: {
    quick: ["ssdv2", "slim", "rfb", "aizoo"].map((t) => `experiments/quick/backbone-${t}.json`),
    paper: ["ssdv2", "slim", "rfb", "aizoo"].map((t) => `experiments/backbones/${t}.json`),
  },
};

/** Options of {@link runGrid}. */
export interface GridOptions {
  profile: string;
  data?: string;
  resultsDir: string;
  /** Where messages go; default console.log. */
  log?: (line: string) => void;
}

/** What {@link runGrid} produced. */
export interface GridOutcome {
  runDirs: string[];
  /** Table and chart files of the comparison. */
  files: string[];
  /** `generated` or `real`. */
  dataLabel: string;
}

/**
 * Trains every config of a grid, then writes the comparison into `<resultsDir>/<kind>/` (profile paper) or
 * `<resultsDir>/<kind>/<profile>/` (the shorter profiles).
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
  for (const [i, rel] of configs.entries()) {
    log(`[${kind} ${options.profile}] ${i + 1}/${configs.length}: ${rel}`);
    const outcome = await runConfigFile(`${REPO}/${rel}`, { data: options.data, resultsDir: options.resultsDir });
    labels.add(outcome.provenance.data.label);
    await writeRunReports(outcome.runDir);
    runDirs.push(outcome.runDir);
  }
  // The paper profile owns results/<kind>/; shorter profiles write beside their own runs so a quick run never
  // overwrites a longer one's table.
  const outDir = options.profile === "paper"
    ? `${options.resultsDir}/${kind}`
    : `${options.resultsDir}/${kind}/${options.profile}`;
  const files = kind === "ablation"
    ? await writeAblationReport(runDirs, outDir)
    : await writeBackboneReport(runDirs, outDir);
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
