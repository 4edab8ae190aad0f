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
import { listRuns, type RunFolder, runSummary, sharedSsdv2Experiment, usesGeneratedData } from "./runs.ts";

/** Published numbers (docs/design.md), AP in %. */
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

/** How the report names the run sets of each profile folder (`<kind>/<profile>/`; "" is `<kind>/` itself). */
const PROFILE_LABELS: Readonly<Record<string, string>> = {
  "": "paper schedule (100 epochs)",
  short: "short schedule (12 epochs, all data)",
  quick: "quick runs (3 epochs on 1,536 images; a pipeline check)",
};

/** Sort rank of an experiment folder: the paper schedule, then short, then quick, then the rest. */
function profileRank(kind: string, experiment: string): number {
  const order = [kind, `${kind}/short`, `${kind}/quick`];
  const i = order.indexOf(experiment);
  return i < 0 ? order.length : i;
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

  // One table and chart per profile (paper schedule, short, quick, then any other experiment of the kind): runs of
  // different schedules side by side on one bar would read as one result. Within a profile the newest evaluated run
  // of each key (branch count, trunk) stands.
  const profileGroups = (kind: string, key: (s: RunSummary) => string | number) => {
    const experiments = [...new Set(runs.filter((r) => r.experiment.split("/")[0] === kind).map((r) => r.experiment))]
      .sort((a, b) => profileRank(kind, a) - profileRank(kind, b) || a.localeCompare(b));
    return experiments.map((experiment) => {
      const newest = new Map<string | number, RunFolder>();
      const inGroup = runs.filter((r) => r.experiment === experiment && r.metrics);
      // The SSDv2 row of the short and paper backbone grids is the 4-branch ablation run of that profile.
      const sharedExperiment = kind === "backbones" ? sharedSsdv2Experiment(experiment) : null;
      const shared = runs.filter((r) =>
        r.experiment === sharedExperiment && r.metrics && summaries.get(r)!.branches === 4 &&
        summaries.get(r)!.trunk === "ssdv2"
      );
      for (const r of [...shared, ...inGroup].sort((a, b) => a.runId.localeCompare(b.runId))) {
        newest.set(key(summaries.get(r)!), r);
      }
      // The paper's trunk first, then the others by name (ablationTable orders its rows by branch count itself).
      const chosen = [...newest.values()].sort((a, b) => {
        const ta = summaries.get(a)!.trunk, tb = summaries.get(b)!.trunk;
        return Number(tb === "ssdv2") - Number(ta === "ssdv2") || ta.localeCompare(tb);
      });
      return {
        experiment,
        label: PROFILE_LABELS[experiment.split("/")[1] ?? ""] ?? experiment,
        summaries: chosen.map((r) => summaries.get(r)!),
        shared: chosen.filter((r) => shared.includes(r)),
      };
    }).filter((g) => g.summaries.length > 0 && (kind !== "backbones" || g.shared.length < g.summaries.length));
  };
  const caption = (t: ReportTable, label: string) =>
    frameTable(t.frame, { caption: `${t.title}: ${label}`, digits: 2 });

  const ablation = profileGroups("ablation", (s) => s.branches);
  sections.push({
    id: "ablation",
    title: "Ablation: detection branches (paper Table 2)",
    notes: [
      "k-branch keeps branches 1..k (the smallest scales) and drops the larger-scale ones (our reading of the paper).",
      ...(ablation.length > 1 ? ["One table per schedule, the longest first; compare within a table."] : []),
    ],
    warning: ablation.length ? undefined : "No evaluated ablation runs in results/ablation/: run `deno task ablation`.",
    tables: await Promise.all(ablation.map(async (g) => caption(await ablationTable(g.summaries), g.label))),
    charts: ablation.map((g) => ({
      title: `mAP by number of branches: ${g.label}`,
      spec: ablationChartSpec(g.summaries),
    })),
  });

  const backbones = profileGroups("backbones", (s) => s.trunk);
  const sharedRuns = backbones.flatMap((g) => g.shared);
  sections.push({
    id: "backbones",
    title: "Backbones",
    notes: sharedRuns.length
      ? [
        `The ssdv2 row${sharedRuns.length > 1 ? "s" : ""} (${sharedRuns.map((r) => r.relPath).join(", ")}) come${
          sharedRuns.length > 1 ? "" : "s"
        } from the Table 2 ablation: the 4-branch run has the same config ` +
        "as the ssdv2 backbone run of that schedule.",
      ]
      : undefined,
    warning: backbones.length ? undefined : "No evaluated backbone runs in results/backbones/: run `deno task " +
      "backbones`.",
    tables: await Promise.all(backbones.map(async (g) => caption(await backboneTable(g.summaries), g.label))),
    charts: backbones.filter((g) => g.summaries.some((b) => b.fps !== undefined && b.map !== null)).map((g) => ({
      title: `mAP vs inference speed: ${g.label}`,
      spec: backboneChartSpec(g.summaries),
    })),
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
