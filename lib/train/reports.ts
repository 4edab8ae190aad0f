/**
 * Tables and charts of run folders: the per-run report (`deno task evaluate`) and the Table 2 / backbone
 * comparisons over several runs (`deno task ablation`, `deno task backbones`), built with lib/report.
 * @module
 */
import type { PrCurve } from "../metrics/mod.ts";
import {
  ablationChartSpec,
  ablationTable,
  backboneChartSpec,
  backboneTable,
  perClassTable,
  prChartSpec,
  type RunSummary,
  saveChart,
  summarizeRun,
  trainingChartSpec,
  writeTable,
} from "../report/mod.ts";
import { OBJECT_CLASSES } from "../types.ts";
import { exists, readJson } from "../runs/files.ts";
import { parseEpochCsv } from "./log.ts";

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
export async function writeRunReports(runDir: string): Promise<string[]> {
  const summary = await runSummaryOf(runDir);
  const files: string[] = [];
  const t = await writeTable(perClassTable(summary), `${runDir}/table_per_class`);
  files.push(t.csv, t.md);
  const curves: PrCurve[] = [];
  for (const c of OBJECT_CLASSES) curves.push(await readJson<PrCurve>(`${runDir}/pr_${c}.json`));
  const pr = await saveChart(prChartSpec(curves, { dataLabel: summary.dataLabel }), `${runDir}/pr_curves`);
  files.push(pr.svg, pr.png);
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

/** Writes `<outDir>/table2.{csv,md}` and the bar chart (ours beside the paper) for ablation runs. */
export async function writeAblationReport(runDirs: string[], outDir: string): Promise<string[]> {
  const runs = await Promise.all(runDirs.map(runSummaryOf));
  await Deno.mkdir(outDir, { recursive: true });
  const t = await writeTable(ablationTable(runs), `${outDir}/table2`);
  const c = await saveChart(ablationChartSpec(runs, { dataLabel: runs[0]?.dataLabel }), `${outDir}/table2_chart`);
  return [t.csv, t.md, c.svg, c.png];
}

/** Writes `<outDir>/backbones.{csv,md}` and its chart for backbone runs. */
export async function writeBackboneReport(runDirs: string[], outDir: string): Promise<string[]> {
  const runs = await Promise.all(runDirs.map(runSummaryOf));
  await Deno.mkdir(outDir, { recursive: true });
  const t = await writeTable(backboneTable(runs), `${outDir}/backbones`);
  const c = await saveChart(backboneChartSpec(runs, { dataLabel: runs[0]?.dataLabel }), `${outDir}/backbones_chart`);
  return [t.csv, t.md, c.svg, c.png];
}
