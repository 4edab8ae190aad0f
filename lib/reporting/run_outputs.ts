/**
 * Tables and charts of run folders: the per-run tables (`deno task evaluate`) and the Table 2 / backbone
 * comparisons over several runs (`deno task ablation`, `deno task backbones`), built with lib/reporting.
 * @module
 */
import { bySizeTable, confusionTable, operatingTable } from "./tables.ts";
import { bySizeChartSpec, confusionChartSpec, epochChartRows } from "./charts.ts";
import {
  backboneChartSpec,
  backboneTable,
  perClassTable,
  prChartSpec,
  saveChart,
  trainingChartSpec,
  writeTable,
} from "./mod.ts";
import { summarizeRun } from "./summary.ts";
import {
  coverageTable,
  plainCsv,
  plainMarkdown,
  table2ChartSpec,
  table2Files,
  table2Rows,
  type Table2Run,
} from "./table2.ts";
import { priorCoverageTable } from "../detect/coverage.ts";
import { scanSplit } from "../data/dataset.ts";
import { dataLabelOf } from "../data/label.ts";
import { exists } from "../runs/files.ts";
import { readPrCurves, readRun, type Run } from "../runs/read.ts";
import type { GridOutputs } from "../experiments/grid.ts";

/**
 * Writes a run's per-class table, P-R chart, training curves and, when its metrics.json has them, the operating
 * points, confusion matrix and by-size tables into the run folder; returns the files. The run must be evaluated.
 */
export async function writeRunTables(runDir: string): Promise<string[]> {
  const run = await readRun(runDir);
  if (!run.metrics) throw new Error(`${run.dir}: no metrics.json: the run has not been evaluated yet`);
  const summary = summarizeRun(run);
  const dir = run.dir;
  const files: string[] = [];
  const t = await writeTable(await perClassTable(summary), `${dir}/table_per_class`);
  files.push(t.csv, t.md);
  const curves = await readPrCurves(dir);
  if (curves.length) {
    const pr = await saveChart(prChartSpec(curves, { dataLabel: summary.dataLabel }), `${dir}/pr_curves`);
    files.push(pr.svg, pr.png);
  }
  // The deployer's view, when the run's metrics.json has it (evaluations since these fields exist).
  const { operating, confusion, bySize } = run.metrics;
  const opts = { dataLabel: summary.dataLabel };
  if (operating) {
    const t = await writeTable(await operatingTable(operating, opts), `${dir}/operating`);
    files.push(t.csv, t.md);
  }
  if (confusion) {
    const t = await writeTable(await confusionTable(confusion, opts), `${dir}/confusion`);
    const c = await saveChart(confusionChartSpec(confusion, opts), `${dir}/confusion`);
    files.push(t.csv, t.md, c.svg, c.png);
  }
  if (bySize) {
    const t = await writeTable(await bySizeTable(bySize, opts), `${dir}/by_size`);
    const c = await saveChart(bySizeChartSpec(bySize, opts), `${dir}/by_size`);
    files.push(t.csv, t.md, c.svg, c.png);
  }
  if (run.files.includes("train_log.csv")) {
    const spec = trainingChartSpec(epochChartRows(run.log), { dataLabel: summary.dataLabel });
    const tr = await saveChart(spec, `${dir}/training`);
    files.push(tr.svg, tr.png);
  }
  return files;
}

/** The evaluation folder (`<run>/eval/<name>`) whose mAP Table 2 shows as `map_val1497`. */
export const VAL1497_EVALUATION = "aizoo-val1497-val";

/**
 * A run as Table 2 sees it: its reading, branches, seed, progress and the numbers it reports. `relativeTo` is cut
 * from the front of the run's folder in `run`.
 */
export function table2RunOf(run: Run, options: { relativeTo?: string } = {}): Table2Run {
  const { config, provenance, metrics } = run;
  const epochs = run.log.reduce((m, r) => Math.max(m, r.epoch ?? 0), 0);
  const finished = Boolean(provenance?.end) && metrics !== null && epochs >= config.train.epochs;
  const weightsEpoch = metrics?.weightsEpoch ?? (config.checkpoint.keepBest ? metrics?.bestEpoch ?? null : null);
  const base = options.relativeTo ? options.relativeTo.replace(/\/+$/, "") + "/" : null;
  return {
    run: base && run.dir.startsWith(base) ? run.dir.slice(base.length) : run.dir,
    reading: config.model.branches === 4 ? "own" : config.model.priors,
    branches: config.model.branches,
    seed: config.seed,
    epochs,
    totalEpochs: config.train.epochs,
    finished,
    // Older runs kept (and reported) their best validation epoch; a run reports its last epoch only when it says so.
    valSelected: finished && weightsEpoch !== config.train.epochs,
    weightsEpoch,
    map: metrics?.map ?? null,
    apFaceMask: metrics?.voc.face_mask?.ap ?? null,
    apFace: metrics?.voc.face?.ap ?? null,
    mapVal1497: run.evaluations.find((e) => e.name === VAL1497_EVALUATION)?.metrics.map ?? null,
  };
}

/**
 * Reads a run folder as Table 2 sees it ({@link table2RunOf}).
 *
 * ```ts
 * import { readTable2Run } from "ssdv2";
 * const row = await readTable2Run("results/ablation/branches-4-20261129-122037");
 * console.log(row.reading, row.branches, row.finished, row.valSelected, row.map); // own 4 true true 0.8415...
 * // Finished, but its weights were picked on validation (epoch 70): listed below Table 2, never a row of it.
 * ```
 */
export async function readTable2Run(runDir: string, options: { relativeTo?: string } = {}): Promise<Table2Run> {
  return table2RunOf(await readRun(runDir), options);
}

/** Writes `<outDir>/prior_coverage.{csv,md}` for a data folder's split; returns the two paths. */
export async function writeCoverageTable(root: string, split: string, outDir: string): Promise<string[]> {
  const { records } = await scanSplit(root, split);
  const boxes = records.flatMap((r) => r.boxes.filter((_, i) => !r.difficult[i]));
  const t = coverageTable(priorCoverageTable(boxes), `${root.split("/").pop()}/${split} (${boxes.length} faces)`);
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(`${outDir}/prior_coverage.csv`, plainCsv(t));
  await Deno.writeTextFile(`${outDir}/prior_coverage.md`, plainMarkdown(t));
  return [`${outDir}/prior_coverage.csv`, `${outDir}/prior_coverage.md`];
}

/**
 * Writes `<outDir>/table2.{csv,md}` and its chart from ablation run folders: only finished runs that report their
 * last epoch are rows; the others are listed below the table.
 */
export async function writeAblationTable(
  runDirs: string[],
  outDir: string,
  options: { relativeTo?: string; notes?: string[] } = {},
): Promise<string[]> {
  const read = await Promise.all(runDirs.map(readRun));
  const runs = read.map((r) => table2RunOf(r, options));
  const labels = new Set<string>();
  for (const { provenance: p } of read) {
    if (p) labels.add(dataLabelOf(p.data.label, p.data.valImages, p.data.trainImages));
  }
  const dataLabel = [...labels].join("; ");
  await Deno.mkdir(outDir, { recursive: true });
  const files = table2Files(runs, [`Data: ${dataLabel || "n/a"}.`, ...(options.notes ?? [])]);
  await Deno.writeTextFile(`${outDir}/table2.csv`, files.csv);
  await Deno.writeTextFile(`${outDir}/table2.md`, files.md);
  const c = await saveChart(table2ChartSpec(table2Rows(runs), { dataLabel }), `${outDir}/table2_chart`);
  const written = [`${outDir}/table2.csv`, `${outDir}/table2.md`, c.svg, c.png];
  // The coverage of the data the runs were trained on: the same whether a run is finished or not.
  for (const r of read) {
    const p = r.provenance;
    if (p?.data.label === "real" && (await exists(p.data.root))) {
      written.push(...await writeCoverageTable(p.data.root, r.config.data.valSplit, outDir));
      break;
    }
  }
  return written;
}

/** Writes `<outDir>/backbones.{csv,md}` and its chart for backbone runs. */
export async function writeBackboneTable(runDirs: string[], outDir: string): Promise<string[]> {
  const runs = await Promise.all(runDirs.map(async (d) => summarizeRun(await readRun(d))));
  await Deno.mkdir(outDir, { recursive: true });
  const t = await writeTable(await backboneTable(runs), `${outDir}/backbones`);
  const c = await saveChart(backboneChartSpec(runs, { dataLabel: runs[0]?.dataLabel }), `${outDir}/backbones_chart`);
  return [t.csv, t.md, c.svg, c.png];
}

/**
 * The tables and charts a grid of lib/experiments writes (`runGrid`'s `outputs`): each finished run's own, then
 * Table 2 (ablation) or the backbone table over the grid.
 *
 * ```ts
 * import { GRID_OUTPUTS, runGrid } from "ssdv2";
 * const grid = await runGrid("backbones", { profile: "quick", resultsDir: "results", outputs: GRID_OUTPUTS });
 * console.log(grid.files); // results/backbones/quick/backbones.csv, backbones.md and the mAP-vs-FPS chart
 * ```
 */
export const GRID_OUTPUTS: GridOutputs = {
  run: writeRunTables,
  grid: (kind, runs) =>
    kind === "ablation"
      ? writeAblationTable(runs.collected, runs.outDir, { relativeTo: runs.repo })
      : writeBackboneTable(runs.runDirs, runs.outDir),
};
