/**
 * Gathers what `results/` holds into the report's sections: reference numbers, every run folder with a link,
 * Table 2 beside the paper's, the backbone comparison, and per-run P-R and training curves. Tables and chart specs
 * come from lib/report; this module only decides what goes where and says where each number comes from.
 * @module
 */

import {
  ablationChartSpec,
  ablationTable,
  backboneChartSpec,
  backboneTable,
  type EpochRow,
  prChartSpec,
  type ReportTable,
  type RunSummary,
  trainingChartSpec,
} from "../report/mod.ts";
import type { PrCurve } from "../metrics/types.ts";
import { parseEpochCsv } from "../train/log.ts";
import { OBJECT_CLASSES } from "../types.ts";
import { frameTable } from "./display.ts";
import type { SiteChart, SiteReport, SiteSection, SiteTable } from "./html.ts";
import { listRuns, type RunFolder, runSummary, usesGeneratedData } from "./runs.ts";

/** Published numbers (DESIGN.md section 2), AP in %. */
export const REFERENCE_RESULTS: SiteTable = {
  caption: "Published results (not ours): AP@0.5 in %",
  columns: ["source", "data", "face_mask AP", "face AP", "mAP"],
  rows: [
    ["SSDv2 paper (4 branches)", "AIZOO full, 1,839 test", 80.97, 64.61, 72.79],
    ["AIZOO's own model (260x260)", "AIZOO full test", 91.9, 89.6, 90.75],
    ["RetinaFace (paper Table 1)", "AIZOO", 87.3, 76.5, 81.9],
    ["Attention-RetinaFace (paper Table 1)", "AIZOO", 90.6, 84.7, 87.7],
    ["YOLOv3 (paper Table 1)", "AIZOO", 77.6, 80.5, 79.1],
  ],
};

/** Options of {@link buildSiteReport}. */
export interface SiteReportOptions {
  /** ISO time written in the footer (default: now). */
  generatedAt?: string;
  /** Runs whose curves are drawn, newest last by path (default 6): more makes the page heavy. */
  maxCurveRuns?: number;
}

function reportTable(t: ReportTable): SiteTable {
  return frameTable(t.frame, { caption: t.title, digits: 2 });
}

async function readPrCurves(run: RunFolder): Promise<PrCurve[]> {
  const curves: PrCurve[] = [];
  for (const c of OBJECT_CLASSES) {
    const file = `pr_${c}.json`;
    if (!run.files.includes(file)) continue;
    const path = `${run.path}/${file}`;
    const value = JSON.parse(await Deno.readTextFile(path));
    if (!value || !Array.isArray(value.recall) || !Array.isArray(value.precision)) {
      throw new Error(`${path}: expected a P-R curve with recall and precision arrays`);
    }
    curves.push({ name: c, ...value } as PrCurve);
  }
  return curves;
}

async function readEpochs(run: RunFolder): Promise<EpochRow[]> {
  if (!run.files.includes("train_log.csv")) return [];
  const path = `${run.path}/train_log.csv`;
  return parseEpochCsv(await Deno.readTextFile(path), { source: path }).map((r) => ({
    epoch: r.epoch ?? 0,
    loss: r.loss ?? NaN,
    cls: r.loss_cls ?? NaN,
    loc: r.loss_loc ?? NaN,
    map: r.val_map,
  }));
}

const pct = (x: number | null) => (x === null ? null : x * 100);

/** Builds the report from the run folders under `resultsDir`; links are relative to `resultsDir`. */
export async function buildSiteReport(resultsDir: string, options: SiteReportOptions = {}): Promise<SiteReport> {
  const runs = await listRuns(resultsDir);
  const summaries = new Map<RunFolder, RunSummary>(runs.map((r) => [r, runSummary(r) as RunSummary]));
  const generated = runs.filter(usesGeneratedData);
  const sections: SiteSection[] = [];

  sections.push({
    id: "reference",
    title: "Reference numbers",
    notes: [
      "The SSDv2 paper trains and tests on the full AIZOO face-mask data (6,115 train / 1,839 test images). Our copy " +
      "holds 3,069 train / 930 val images of the same split, so our numbers are on a different, smaller test set.",
    ],
    tables: [REFERENCE_RESULTS],
  });

  const runRows = runs.map((r) => {
    const s = summaries.get(r)!;
    return [
      r.experiment,
      r.runId,
      s.trunk,
      s.branches,
      pct(s.map),
      pct(s.perClassAp.face_mask ?? null),
      pct(
        s.perClassAp.face ?? null,
      ),
      s.dataLabel,
      r.metrics ? "" : "no metrics.json",
    ];
  });
  sections.push({
    id: "runs",
    title: "Run folders",
    warning: runs.length ? undefined : "No run folders were found in results/: run `deno task reproduce` (or " +
      "`deno task train <config>`) and then `deno task report` again. Nothing below is invented.",
    tables: runs.length
      ? [{
        caption: "Every run in results/ (AP@0.5 in %)",
        columns: ["experiment", "run", "trunk", "branches", "mAP", "face_mask AP", "face AP", "data", "note"],
        rows: runRows,
      }]
      : [],
    links: runs.map((r) => ({ href: `${r.relPath}/`, label: `${r.relPath} (${r.files.join(", ")})` })),
  });

  const evaluated = (prefix: string) =>
    runs.filter((r) => r.experiment.split("/")[0] === prefix && r.metrics).map((r) => summaries.get(r)!);
  const ablation = evaluated("ablation");
  sections.push({
    id: "ablation",
    title: "Ablation: detection branches (paper Table 2)",
    notes: [
      "k-branch keeps branches 1..k (the smallest scales) and drops the larger-scale ones (our reading of the paper).",
    ],
    warning: ablation.length ? undefined : "No evaluated ablation runs in results/ablation/: run `deno task ablation`.",
    tables: ablation.length ? [reportTable(ablationTable(ablation))] : [],
    charts: ablation.length ? [{ title: "mAP by number of branches", spec: ablationChartSpec(ablation) }] : [],
  });

  // The SSDv2 row of the short and paper backbone grids is the 4-branch ablation run of that profile (the grid
  // reuses a finished run of an identical config; lib/train/grid.ts).
  const sharedSsdv2 = runs.filter((r) =>
    (r.experiment === "ablation" || r.experiment === "ablation/short") && r.metrics &&
    summaries.get(r)!.branches === 4 && summaries.get(r)!.trunk === "ssdv2"
  ).map((r) => summaries.get(r)!);
  const ownBackbones = evaluated("backbones");
  const backbones = ownBackbones.length ? [...ownBackbones, ...sharedSsdv2] : [];
  sections.push({
    id: "backbones",
    title: "Backbones",
    notes: backbones.length && sharedSsdv2.length
      ? ["The ssdv2 rows from ablation/ are the 4-branch Table 2 runs: the same config as the ssdv2 backbone run."]
      : undefined,
    warning: backbones.length ? undefined : "No evaluated backbone runs in results/backbones/: run `deno task " +
      "backbones`.",
    tables: backbones.length ? [reportTable(backboneTable(backbones))] : [],
    charts: backbones.some((b) => b.fps !== undefined && b.map !== null)
      ? [{ title: "mAP vs inference speed", spec: backboneChartSpec(backbones) }]
      : [],
  });

  const curveRuns = runs.filter((r) => r.metrics || r.files.includes("train_log.csv")).slice(
    -(options.maxCurveRuns ?? 6),
  );
  const charts: SiteChart[] = [];
  for (const r of curveRuns) {
    const curves = (await readPrCurves(r)).filter((c) => c.ap !== null);
    if (curves.length) charts.push({ title: `P-R: ${r.relPath}`, spec: prChartSpec(curves) });
    const epochs = await readEpochs(r);
    if (epochs.length) charts.push({ title: `Training: ${r.relPath}`, spec: trainingChartSpec(epochs) });
  }
  sections.push({
    id: "curves",
    title: "P-R and training curves",
    warning: charts.length ? undefined : "No run has P-R data or a training log yet.",
    charts,
  });

  return {
    title: "SSDv2 face-mask detection: reproduction report",
    intro: [
      'A TypeScript (Deno, TensorFlow.js) reproduction of "Face Mask Detection Based on SSDv2 Network". Classes: ' +
      "face_mask (the paper's mask) and face (unmask); input 240x320.",
      "Data: the AIZOO face-mask subset, 3,069 train / 930 val images (the paper uses the full 6,115 / 1,839).",
    ],
    banner: generated.length
      ? `${generated.length} of ${runs.length} runs used GENERATED synthetic data (${
        generated.map((r) => r.relPath).join(", ")
      }): their numbers test the pipeline and say nothing about the paper.`
      : undefined,
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    sections,
  };
}
