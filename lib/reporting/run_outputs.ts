/**
 * Tables and charts of run folders: the per-run tables (`deno task evaluate`) and the Table 2 / backbone
 * comparisons over several runs (`deno task ablation`, `deno task backbones`), built with lib/report.
 * @module
 */
import type { BySizeResult, ConfusionMatrix, OperatingSummary, PrCurve } from "../metrics/mod.ts";
import { bySizeTable, confusionTable, operatingTable } from "./tables.ts";
import { bySizeChartSpec, confusionChartSpec } from "./charts.ts";
import {
  backboneChartSpec,
  backboneTable,
  perClassTable,
  prChartSpec,
  type RunSummary,
  saveChart,
  summarizeRun,
  trainingChartSpec,
  writeTable,
} from "./mod.ts";
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
import { readRunConfig } from "../runs/config.ts";
import { readProvenance } from "../runs/run.ts";
import { OBJECT_CLASSES } from "../types.ts";
import { exists, readJson } from "../runs/files.ts";
import { parseEpochCsv } from "../runs/train_log.ts";
import type { GridOutputs } from "../experiments/grid.ts";

/** Reads a finished run folder into lib/report's {@link RunSummary} ({@link summarizeRun}, named by config.name). */
export async function runSummaryOf(runDir: string): Promise<RunSummary> {
  const config = await readJson<Record<string, unknown>>(`${runDir}/config.json`);
  const metrics = await readJson<Record<string, unknown>>(`${runDir}/metrics.json`);
  const provenance = (await exists(`${runDir}/provenance.json`))
    ? await readJson<Record<string, unknown>>(`${runDir}/provenance.json`)
    : undefined;
  return summarizeRun({ config, metrics, provenance }, String(config.name ?? runDir));
}

/** Writes a run's per-class table, P-R chart and training curves into the run folder; returns the files. */
export async function writeRunTables(runDir: string): Promise<string[]> {
  const summary = await runSummaryOf(runDir);
  const files: string[] = [];
  const t = await writeTable(await perClassTable(summary), `${runDir}/table_per_class`);
  files.push(t.csv, t.md);
  const curves: PrCurve[] = [];
  for (const c of OBJECT_CLASSES) curves.push(await readJson<PrCurve>(`${runDir}/pr_${c}.json`));
  const pr = await saveChart(prChartSpec(curves, { dataLabel: summary.dataLabel }), `${runDir}/pr_curves`);
  files.push(pr.svg, pr.png);
  // The deployer's view, when the run's metrics.json has it (evaluations since these fields exist).
  const metrics = await readJson<Record<string, unknown>>(`${runDir}/metrics.json`);
  const opts = { dataLabel: summary.dataLabel };
  if (metrics.operating) {
    const t = await writeTable(
      await operatingTable(metrics.operating as OperatingSummary, opts),
      `${runDir}/operating`,
    );
    files.push(t.csv, t.md);
  }
  if (metrics.confusion) {
    const m = metrics.confusion as ConfusionMatrix;
    const t = await writeTable(await confusionTable(m, opts), `${runDir}/confusion`);
    const c = await saveChart(confusionChartSpec(m, opts), `${runDir}/confusion`);
    files.push(t.csv, t.md, c.svg, c.png);
  }
  if (metrics.bySize) {
    const b = metrics.bySize as BySizeResult;
    const t = await writeTable(await bySizeTable(b, opts), `${runDir}/by_size`);
    const c = await saveChart(bySizeChartSpec(b, opts), `${runDir}/by_size`);
    files.push(t.csv, t.md, c.svg, c.png);
  }
  if (await exists(`${runDir}/train_log.csv`)) {
    const rows = parseEpochCsv(await Deno.readTextFile(`${runDir}/train_log.csv`), {
      source: `${runDir}/train_log.csv`,
    })
      .filter((r) => r.loss !== null)
      .map((r) => ({ epoch: r.epoch!, loss: r.loss!, cls: r.loss_cls!, loc: r.loss_loc!, map: r.val_map }));
    const tr = await saveChart(trainingChartSpec(rows, { dataLabel: summary.dataLabel }), `${runDir}/training`);
    files.push(tr.svg, tr.png);
  }
  return files;
}

/** A run folder as Table 2 sees it: its reading, branches, seed, progress and the numbers it reports. */
export async function readTable2Run(runDir: string, options: { relativeTo?: string } = {}): Promise<Table2Run> {
  const config = await readRunConfig(runDir);
  const provenance = (await exists(`${runDir}/provenance.json`)) ? await readProvenance(runDir) : null;
  const metrics = (await exists(`${runDir}/metrics.json`))
    ? await readJson<Record<string, unknown>>(`${runDir}/metrics.json`)
    : null;
  const rows = (await exists(`${runDir}/train_log.csv`))
    ? parseEpochCsv(await Deno.readTextFile(`${runDir}/train_log.csv`), { source: `${runDir}/train_log.csv` })
    : [];
  const epochs = rows.reduce((m, r) => Math.max(m, r.epoch ?? 0), 0);
  const finished = Boolean(provenance?.end) && metrics !== null && epochs >= config.train.epochs;
  const weightsEpoch = typeof metrics?.weightsEpoch === "number"
    ? metrics.weightsEpoch
    : typeof metrics?.bestEpoch === "number" && config.checkpoint.keepBest
    ? metrics.bestEpoch
    : null;
  const voc = (metrics?.voc ?? {}) as Record<string, { ap?: number | null }>;
  const val1497 = `${runDir}/eval/aizoo-val1497-val/metrics.json`;
  const v = (await exists(val1497)) ? await readJson<{ map?: number | null }>(val1497) : null;
  const base = options.relativeTo ? options.relativeTo.replace(/\/+$/, "") + "/" : null;
  return {
    run: base && runDir.startsWith(base) ? runDir.slice(base.length) : runDir,
    reading: config.model.branches === 4 ? "own" : config.model.priors,
    branches: config.model.branches,
    seed: config.seed,
    epochs,
    totalEpochs: config.train.epochs,
    finished,
    // Older runs kept (and reported) their best validation epoch; a run reports its last epoch only when it says so.
    valSelected: finished && weightsEpoch !== config.train.epochs,
    weightsEpoch,
    map: typeof metrics?.map === "number" ? metrics.map : null,
    apFaceMask: voc.face_mask?.ap ?? null,
    apFace: voc.face?.ap ?? null,
    mapVal1497: typeof v?.map === "number" ? v.map : null,
  };
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
  const runs = await Promise.all(runDirs.map((d) => readTable2Run(d, options)));
  const labels = new Set<string>();
  for (const d of runDirs) {
    if (await exists(`${d}/provenance.json`)) {
      const p = await readProvenance(d);
      if (p.data) labels.add(dataLabelOf(p.data.label, p.data.valImages, p.data.trainImages));
    }
  }
  const dataLabel = [...labels].join("; ");
  await Deno.mkdir(outDir, { recursive: true });
  const files = table2Files(runs, [`Data: ${dataLabel || "n/a"}.`, ...(options.notes ?? [])]);
  await Deno.writeTextFile(`${outDir}/table2.csv`, files.csv);
  await Deno.writeTextFile(`${outDir}/table2.md`, files.md);
  const c = await saveChart(table2ChartSpec(table2Rows(runs), { dataLabel }), `${outDir}/table2_chart`);
  const written = [`${outDir}/table2.csv`, `${outDir}/table2.md`, c.svg, c.png];
  // The coverage of the data the runs were trained on: the same whether a run is finished or not.
  for (const d of runDirs) {
    if (!(await exists(`${d}/provenance.json`))) continue;
    const p = await readProvenance(d);
    if (p.data?.label === "real" && (await exists(p.data.root))) {
      written.push(...await writeCoverageTable(p.data.root, (await readRunConfig(d)).data.valSplit, outDir));
      break;
    }
  }
  return written;
}

/** Writes `<outDir>/backbones.{csv,md}` and its chart for backbone runs. */
export async function writeBackboneTable(runDirs: string[], outDir: string): Promise<string[]> {
  const runs = await Promise.all(runDirs.map(runSummaryOf));
  await Deno.mkdir(outDir, { recursive: true });
  const t = await writeTable(await backboneTable(runs), `${outDir}/backbones`);
  const c = await saveChart(backboneChartSpec(runs, { dataLabel: runs[0]?.dataLabel }), `${outDir}/backbones_chart`);
  return [t.csv, t.md, c.svg, c.png];
}

/**
 * The tables and charts a grid of lib/experiments writes (`runGrid`'s `outputs`): each finished run's own, then
 * Table 2 (ablation) or the backbone table over the grid.
 */
export const GRID_OUTPUTS: GridOutputs = {
  run: writeRunTables,
  grid: (kind, runs) =>
    kind === "ablation"
      ? writeAblationTable(runs.collected, runs.outDir, { relativeTo: runs.repo })
      : writeBackboneTable(runs.runDirs, runs.outDir),
};
