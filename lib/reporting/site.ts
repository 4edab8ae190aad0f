/**
 * Gathers what `results/` holds into the report's sections, in the order a reader wants them: the published
 * numbers, Table 2 on the paper's schedule (lib/reporting/table2.ts over lib/experiments/grid.ts `collectRuns`, its pending
 * and val-selected runs listed below it), the backbone comparison, the P-R and training curves of every run in those
 * tables, example detections drawn by the SSDv2 model, AP by face size / operating points / confusion matrices, the
 * speed of each run with the CPU it was measured on, every run folder, and the quick pipeline checks folded away at
 * the end. Tables and chart specs come from lib/reporting; this module only decides what goes where and says where each
 * number comes from. Paths are shown relative to the results folder's parent: never a path of the machine.
 * @module
 */

import sharp from "sharp";
import {
  ablationChartSpec,
  ablationTable,
  backboneChartSpec,
  backboneTable,
  bySizeChartSpec,
  bySizeTable,
  confusionChartSpec,
  confusionTable,
  epochChartRows,
  operatingTable,
  prChartSpec,
  type ResultTable,
  type RunSummary,
  trainingChartSpec,
} from "./mod.ts";
import {
  pendingNotes,
  type PlainTable,
  table2ChartSpec,
  table2DisplayTable,
  table2Pending,
  table2Rows,
  type Table2Run,
  table2RunList,
} from "./table2.ts";
import type { BySizeResult, ConfusionMatrix, OperatingSummary } from "../metrics/types.ts";
import { collectRuns } from "../experiments/grid.ts";
import { table2RunOf } from "./run_outputs.ts";
import { readReproduceRecord } from "./reproduce.ts";
import { summarizeRun, usesGeneratedData } from "./summary.ts";
import { type ListedRun, listRuns, readPrCurves, readRun } from "../runs/read.ts";
import { describeIsa, type Provenance } from "../runs/run.ts";
import { type Picture, pictureGrid } from "./draw.ts";
import { frameTable, type Report, type SiteChart, type SitePicture, type SiteSection, type SiteTable } from "./html.ts";
import { pickRun, sharedSsdv2Experiment, SSDV2_RUN_EXPERIMENTS } from "./runs.ts";

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

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** ISO time written in the footer (default: now). */
  generatedAt?: string;
  /**
   * The data folder (`<root>/val/*.jpg + *.xml`) the example detections are drawn on; without it (FACEMASK_DATA
   * unset, say) the section says so and draws nothing.
   */
  data?: string | null;
  /** Example images (default 6): val images holding both classes, in file order. */
  exampleImages?: number;
  /** tfjs backend of the example detections (lib/backend choice; default `auto`). */
  backend?: "auto" | "tensorflow" | "native" | "wasm" | "cpu";
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

/** Whether a run belongs to the quick pipeline checks, which the main page leaves out. */
function isQuick(run: ListedRun): boolean {
  return run.experiment.split("/").includes("quick");
}

/** A lib/reporting/table2.ts plain table as a site table. */
function plainSiteTable(t: PlainTable, caption = t.title): SiteTable {
  return { caption, columns: t.columns, rows: t.rows };
}

const pct = (x: number | null) => (x === null ? null : x * 100);

/** A lib/reporting table as a site table, its notes joined below the caption. */
function siteTable(t: ResultTable, caption = t.title): SiteTable {
  return frameTable(t.frame, { caption, digits: 2 });
}

/** One evaluation of a run that carries the by-size, operating-point or confusion results. */
interface EvalRecord {
  /** The run, as shown (`results/ablation/...`). */
  run: string;
  /** Which evaluation: the run's own val split or a folder of `eval/`. */
  label: string;
  images: number | null;
  bySize?: BySizeResult;
  operating?: OperatingSummary;
  confusion?: ConfusionMatrix;
}

/** The evaluations of a run folder that hold by-size, operating or confusion results: metrics.json, eval/NAME/. */
function runEvaluations(run: ListedRun, shown: string): EvalRecord[] {
  const sources = [
    ...(run.metrics ? [{ label: "its own val split", metrics: run.metrics }] : []),
    ...run.evaluations.map((e) => ({ label: e.name, metrics: e.metrics })),
  ];
  return sources.filter((s) => s.metrics.bySize || s.metrics.operating || s.metrics.confusion).map((s) => ({
    run: shown,
    label: s.label,
    images: s.metrics.data?.images ?? null,
    bySize: s.metrics.bySize ?? undefined,
    operating: s.metrics.operating ?? undefined,
    confusion: s.metrics.confusion ?? undefined,
  }));
}

/** `model (isa)` of a provenance's `host.cpu`, or the words for a run that did not record it. */
export function cpuText(provenance: { host: Pick<Provenance["host"], "cpu"> } | null | undefined): string {
  const cpu = provenance?.host.cpu;
  if (!cpu?.model || cpu.model === "unknown") return "CPU not recorded";
  return cpu.isa && cpu.isa !== "unknown" ? `${cpu.model} (${describeIsa(cpu)})` : cpu.model;
}

/**
 * Val images holding both classes (at most 8 boxes, so the boxes stay readable), in file order: the examples the
 * report draws detections on.
 */
export async function exampleImages(
  root: string,
  count: number,
): Promise<
  { id: string; imagePath: string; width: number; height: number; boxes: Picture["boxes"]; labels: number[] }[]
> {
  const { scanSplit } = await import("../data/dataset.ts");
  const { records } = await scanSplit(root, "val");
  if (records.length === 0) throw new Error(`${root}/val: no annotated images`);
  return records.filter((r) => r.labels.includes(1) && r.labels.includes(2) && r.boxes.length <= 8).slice(0, count);
}

/**
 * Draws the detections of the run's model (lib/inference `loadDetector(...).detect`, display threshold 0.5) over
 * the ground truth on a few val images: detections solid with class and score, ground truth dashed, in the class
 * colours. Images are scaled down to 600 px wide first so that the page stays light.
 */
export async function detectionPicture(
  runDir: string,
  dataRoot: string,
  options: { count?: number; backend?: ReportOptions["backend"] } = {},
): Promise<{ svg: string; images: number; detections: number }> {
  const { loadDetector } = await import("../inference/mod.ts");
  const examples = await exampleImages(dataRoot, options.count ?? 6);
  if (examples.length === 0) throw new Error(`${dataRoot}/val: no image holds both classes`);
  const detector = await loadDetector(runDir, { backend: options.backend ?? "auto", log: () => {} });
  const pictures: Picture[] = [];
  let detections = 0;
  try {
    for (const r of examples) {
      const original = await Deno.readFile(r.imagePath);
      const found = await detector.detect(original, { minScore: 0.5 });
      detections += found.length;
      const { data, info } = await sharp(original).resize({ width: 600, withoutEnlargement: true })
        .jpeg({ quality: 82 }).toBuffer({ resolveWithObject: true });
      pictures.push({
        bytes: new Uint8Array(data),
        width: info.width,
        height: info.height,
        boxes: [
          ...r.boxes,
          ...found.map((d) => [d.box[0] / r.width, d.box[1] / r.height, d.box[2] / r.width, d.box[3] / r.height]),
        ] as Picture["boxes"],
        labels: [...r.labels, ...found.map((d) => d.label)],
        dashed: [...r.boxes.map(() => true), ...found.map(() => false)],
        texts: [...r.boxes.map(() => ""), ...found.map((d) => `${d.class} ${d.score.toFixed(2)}`)],
        caption: `${r.id}: ${r.boxes.length} faces, ${found.length} detections`,
      });
    }
  } finally {
    detector.dispose();
  }
  return { svg: pictureGrid(pictures, { columns: 3, cellWidth: 320 }), images: pictures.length, detections };
}

/** Builds the report from the run folders under `resultsDir`; links are relative to `resultsDir`. */
export async function buildReport(resultsDir: string, options: ReportOptions = {}): Promise<Report> {
  const root = resultsDir.replace(/\/+$/, "");
  const base = root.split("/").pop() || "results";
  const parent = root.slice(0, root.length - base.length).replace(/\/+$/, "") || ".";
  /** A run as shown: relative to the results folder's parent (`results/ablation/...`). */
  const shown = (relPath: string) => `${base}/${relPath}`;
  const runs = await listRuns(root);
  const byRel = new Map(runs.map((r) => [r.relPath, r]));
  // Runs named by their folder below the results folder: the report lists runs of several experiments side by side.
  const summaries = new Map<ListedRun, RunSummary>(runs.map((r) => [r, summarizeRun(r, r.relPath)]));
  const generated = runs.filter(usesGeneratedData);
  const mainRuns = runs.filter((r) => !isQuick(r));
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

  // Table 2 on the paper's schedule: lib/reporting/table2.ts over the run folders lib/experiments/grid.ts collects.
  const table2Dirs = await collectRuns(`${root}/ablation`, "ablation");
  const table2Runs: Table2Run[] = await Promise.all(
    table2Dirs.map(async (d) =>
      table2RunOf(byRel.get(d.slice(root.length + 1)) ?? await readRun(d), { relativeTo: parent })
    ),
  );
  const rows = table2Rows(table2Runs);
  const pending = table2Pending(table2Runs);
  const runOf = (t2: string) => byRel.get(t2.startsWith(`${base}/`) ? t2.slice(base.length + 1) : t2);
  const table2Folders = [...new Set([...rows.flatMap((r) => r.runs), ...pending.map((p) => p.run)])]
    .map(runOf).filter((r): r is ListedRun => r !== undefined);

  // One table per shorter profile (short, then any other but quick) of a grid: runs of different schedules side by
  // side on one bar would read as one result. Within a profile the newest evaluated run of each key stands.
  const profileGroups = (kind: string, key: (s: RunSummary) => string | number, keep: (e: string) => boolean) => {
    const experiments = [...new Set(runs.filter((r) => r.experiment.split("/")[0] === kind).map((r) => r.experiment))]
      .filter(keep).sort((a, b) => profileRank(kind, a) - profileRank(kind, b) || a.localeCompare(b));
    return experiments.map((experiment) => {
      const newest = new Map<string | number, ListedRun>();
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
        runs: chosen,
        summaries: chosen.map((r) => summaries.get(r)!),
        shared: chosen.filter((r) => shared.includes(r)),
      };
    }).filter((g) => g.summaries.length > 0 && (kind !== "backbones" || g.shared.length < g.summaries.length));
  };
  const notQuick = (e: string) => !e.split("/").includes("quick");
  const onlyQuick = (e: string) => e.split("/").includes("quick");
  const shorterAblation = profileGroups("ablation", (s) => s.branches, (e) => e !== "ablation" && notQuick(e));

  sections.push({
    id: "table2",
    title: "Table 2: detection branches, paper schedule",
    notes: [
      "A k-branch model keeps branches 1..k (the finest maps). Two readings of the dropped branches' anchors: own (each " +
      "kept branch keeps only its own anchor sizes) and carry (branch k also carries the dropped sizes); with four " +
      "branches they are the same model. A row holds finished runs only, with the mAP of their last epoch on our 930 " +
      "val images (mean and std over seeds); mAP val1497 is on 1,496 of the paper's 1,839 test images.",
      ...pendingNotes(pending),
      ...(shorterAblation.length
        ? [
          "Below: the same ablation on shorter schedules (own reading), a different experiment; compare within a table.",
        ]
        : []),
    ],
    warning: rows.length ? undefined : `No finished paper-schedule Table 2 run in ${base}/ablation/ yet` +
      (pending.length ? " (the runs under way are listed below)" : ": run `deno task ablation --profile paper`") + ".",
    tables: [
      ...(rows.length ? [plainSiteTable(table2DisplayTable(rows))] : []),
      ...(table2Runs.length ? [plainSiteTable(table2RunList(table2Runs))] : []),
      ...await Promise.all(
        shorterAblation.map(async (g) => siteTable(await ablationTable(g.summaries), `Shorter schedule: ${g.label}`)),
      ),
    ],
    charts: [
      ...(rows.length
        ? [{ title: "Table 2: ours by reading, the paper's as ticks", spec: table2ChartSpec(rows) }]
        : []),
      ...shorterAblation.map((g) => ({ title: `mAP by branches: ${g.label}`, spec: ablationChartSpec(g.summaries) })),
    ],
    links: table2Folders.map((r) => ({ href: `${r.relPath}/`, label: shown(r.relPath) })),
  });

  const backbones = profileGroups("backbones", (s) => s.trunk, notQuick);
  const sharedRuns = backbones.flatMap((g) => g.shared);
  sections.push({
    id: "backbones",
    title: "Backbones",
    notes: [
      "The same priors, heads, loss and schedule on four trunks; the paper's schedule first when it has runs.",
      ...(sharedRuns.length
        ? [
          `The ssdv2 row${sharedRuns.length > 1 ? "s" : ""} (${sharedRuns.map((r) => shown(r.relPath)).join(", ")}) ` +
          `come${sharedRuns.length > 1 ? "" : "s"} from the Table 2 ablation: the 4-branch run has the same config ` +
          "as the ssdv2 backbone run of that schedule.",
        ]
        : []),
    ],
    warning: backbones.length ? undefined : `No evaluated backbone runs in ${base}/backbones/: run \`deno task ` +
      "backbones`.",
    tables: await Promise.all(
      backbones.map(async (g) => siteTable(await backboneTable(g.summaries), `Backbones: ${g.label}`)),
    ),
    charts: backbones.filter((g) => g.summaries.some((b) => b.fps !== undefined && b.map !== null)).map((g) => ({
      title: `mAP vs inference speed: ${g.label}`,
      spec: backboneChartSpec(g.summaries),
    })),
  });

  // The curves of every run in the tables above: Table 2 first, then the backbones, then the shorter ablation.
  const tableRuns = [
    ...new Set([...table2Folders, ...backbones.flatMap((g) => g.runs), ...shorterAblation.flatMap((g) => g.runs)]),
  ];
  const charts: SiteChart[] = [];
  for (const r of tableRuns) {
    const curves = (await readPrCurves(r.dir)).filter((c) => c.ap !== null);
    if (curves.length) charts.push({ title: `P-R: ${shown(r.relPath)}`, spec: prChartSpec(curves) });
    const epochs = epochChartRows(r.log);
    if (epochs.length) charts.push({ title: `Training: ${shown(r.relPath)}`, spec: trainingChartSpec(epochs) });
  }
  sections.push({
    id: "curves",
    title: "P-R and training curves",
    notes: [
      "Every run of the tables above, in their order: P-R curves of the reported weights, loss and val mAP per " +
      "epoch (an unfinished run shows its epochs so far).",
    ],
    warning: charts.length ? undefined : "No run of the tables above has P-R data or a training log yet.",
    charts,
  });

  // Example detections by the SSDv2 (4-branch) model the notebooks show.
  const model = pickRun(mainRuns, { trunk: "ssdv2", branches: 4, experiments: [...SSDV2_RUN_EXPERIMENTS] });
  const pictures: SitePicture[] = [];
  const detectionNotes: string[] = [];
  let detectionWarning: string | undefined;
  if (!model) detectionWarning = "No evaluated SSDv2 (4 branches) run on real data: no example detections.";
  else if (!options.data) {
    detectionWarning = "No data folder given (set FACEMASK_DATA, or pass --data to `deno task report`): no example " +
      "detections drawn.";
  } else {
    const drawn = await detectionPicture(model.dir, options.data, {
      count: options.exampleImages,
      backend: options.backend,
    });
    pictures.push({ title: `Detections of ${shown(model.relPath)} on ${drawn.images} val images`, svg: drawn.svg });
    detectionNotes.push(
      `Val images holding both classes, in file order. Detections scoring at least 0.5 are solid with class and ` +
        `score (${drawn.detections} in all), the ground truth dashed; face_mask green, face red, as in every chart.`,
    );
  }
  sections.push({
    id: "detections",
    title: "Example detections",
    notes: detectionNotes,
    warning: detectionWarning,
    pictures,
  });

  // AP by face size, operating points and confusion: from the runs' metrics, else from the last reproduce.
  const evaluations: EvalRecord[] = [];
  for (const r of [...new Set([...table2Folders, ...(model ? [model] : [])])]) {
    evaluations.push(...runEvaluations(r, shown(r.relPath)));
  }
  const reproduced = await readReproduceRecord(`${root}/reproduce`);
  for (const rr of reproduced?.runs ?? []) {
    for (const e of rr.evaluations) {
      if (!e.bySize) continue;
      const own = /the run's own/.test(e.label);
      const name = e.label.split(" ")[0];
      if (evaluations.some((x) => x.run === rr.run && (own ? x.label === "its own val split" : x.label === name))) {
        continue;
      }
      evaluations.push({
        run: rr.run,
        label: `${e.label}, from reproduce.json`,
        images: e.images,
        bySize: e.bySize,
      });
    }
  }
  const evalTables: SiteTable[] = [];
  const evalCharts: SiteChart[] = [];
  for (const e of evaluations) {
    const what = `${e.run} on ${e.label}${e.images ? ` (${e.images} images)` : ""}`;
    if (e.bySize) {
      evalTables.push(siteTable(await bySizeTable(e.bySize), `AP and recall by face size: ${what}`));
      evalCharts.push({ title: `AP by face size: ${what}`, spec: bySizeChartSpec(e.bySize) });
    }
    if (e.operating) evalTables.push(siteTable(await operatingTable(e.operating), `Operating points: ${what}`));
    if (e.confusion) {
      evalTables.push(siteTable(await confusionTable(e.confusion), `Confusion matrix: ${what}`));
      evalCharts.push({ title: `Confusion: ${what}`, spec: confusionChartSpec(e.confusion) });
    }
  }
  sections.push({
    id: "evaluation",
    title: "By face size, operating points, confusion",
    notes: [
      "Face size is sqrt(w*h) at the 320x240 model input. Operating points: precision, recall and F1 per class at the " +
      "display threshold (0.5) and at the F1-best threshold. Confusion: ground truth down, prediction across, " +
      "background last.",
    ],
    warning: evaluations.length ? undefined : "No run of Table 2 has by-size, operating-point or confusion results " +
      "yet (they are written by `deno task evaluate` and `./run reproduce`).",
    tables: evalTables,
    charts: evalCharts,
  });

  // Speed, with the CPU each run was measured on.
  const speedRuns = [...new Set([...tableRuns, ...(model ? [model] : [])])];
  const cpuNames = new Set<string>();
  const speedRows = speedRuns.map((r) => {
    const s = summaries.get(r)!;
    const p = r.provenance;
    const cpu = cpuText(p);
    cpuNames.add(cpu);
    return [
      shown(r.relPath),
      s.trunk,
      s.branches,
      p?.backend.name ?? s.backend,
      p?.backend.threads ?? null,
      s.fps ?? null,
      r.metrics?.speed?.evalImgPerSec ?? null,
      s.trainImgPerSec ?? null,
      cpu,
      p?.commit?.slice(0, 7) ?? null,
    ];
  });
  sections.push({
    id: "speed",
    title: "Speed",
    notes: [
      "Images per second at 240x320: the forward pass and the whole evaluation (decoding and NMS included) at the end " +
      "of each run on its val images, and training (gradient steps, data loading and augmentation included). Speeds " +
      "depend on the CPU, the tfjs backend and the commit: compare rows of one CPU and one backend.",
      ...(cpuNames.has("CPU not recorded")
        ? ['Runs made before provenance.json recorded host.cpu say "CPU not recorded".']
        : []),
      ...(reproduced?.cpu?.model
        ? [
          `The last ./run reproduce (${reproduced.date ?? "date unknown"}) ran on ${reproduced.cpu.model}` +
          `${reproduced.cpu.isa ? ` (${describeIsa(reproduced.cpu)})` : ""}.`,
        ]
        : []),
    ],
    warning: speedRows.length ? undefined : "No run to time yet.",
    tables: speedRows.length
      ? [{
        caption: "Speed per run (images per second)",
        columns: [
          "run",
          "trunk",
          "branches",
          "backend",
          "threads",
          "forward",
          "evaluation",
          "training",
          "CPU",
          "commit",
        ],
        rows: speedRows,
        digits: 1,
      }]
      : [],
  });

  const demo = await Deno.stat(`${root}/demo/index.html`).then((s) => s.isFile, () => false);
  sections.push({
    id: "demo",
    title: "Browser demo",
    notes: demo
      ? ["The trained SSDv2 model in the browser, on your own images or camera, offline (tfjs in the page)."]
      : [],
    warning: demo ? undefined : `${base}/demo/index.html is not built yet: run \`deno task demo:build\`.`,
    links: demo ? [{ href: "demo/index.html", label: `${base}/demo/index.html` }] : [],
  });

  const runRow = (r: ListedRun) => {
    const s = summaries.get(r)!;
    return [
      r.experiment,
      r.runId,
      s.trunk,
      s.branches,
      pct(s.map),
      pct(s.perClassAp.face_mask ?? null),
      pct(s.perClassAp.face ?? null),
      s.dataLabel,
      r.metrics ? "" : "no metrics.json",
    ];
  };
  const runColumns = ["experiment", "run", "trunk", "branches", "mAP", "face_mask AP", "face AP", "data", "note"];
  sections.push({
    id: "runs",
    title: "Run folders",
    warning: runs.length ? undefined : `No run folders were found in ${base}/: run \`deno task reproduce\` (or ` +
      "`deno task train <config>`) and then `deno task report` again. Nothing below is invented.",
    tables: mainRuns.length
      ? [{
        caption: `Every run in ${base}/ but the quick checks (AP@0.5 in %)`,
        columns: runColumns,
        rows: mainRuns.map(runRow),
      }]
      : [],
    links: mainRuns.map((r) => ({ href: `${r.relPath}/`, label: `${shown(r.relPath)} (${r.files.length} files)` })),
  });

  const quickRuns = runs.filter(isQuick);
  if (quickRuns.length) {
    const quickAblation = profileGroups("ablation", (s) => s.branches, onlyQuick);
    const quickBackbones = profileGroups("backbones", (s) => s.trunk, onlyQuick);
    sections.push({
      id: "quick",
      title: `Quick runs: pipeline checks (${quickRuns.length} runs, 3 epochs on 1,536 images)`,
      collapsed: true,
      notes: ["These runs check that the pipeline works end to end; their numbers say nothing about the paper."],
      tables: [
        ...await Promise.all(quickAblation.map(async (g) => siteTable(await ablationTable(g.summaries), g.label))),
        ...await Promise.all(quickBackbones.map(async (g) => siteTable(await backboneTable(g.summaries), g.label))),
        { caption: "Quick run folders (AP@0.5 in %)", columns: runColumns, rows: quickRuns.map(runRow) },
      ],
      links: quickRuns.map((r) => ({ href: `${r.relPath}/`, label: shown(r.relPath) })),
    });
  }

  return {
    title: "SSDv2 face-mask detection: reproduction report",
    intro: [
      'A TypeScript (Deno, TensorFlow.js) reproduction of "Face Mask Detection Based on SSDv2 Network". Classes: ' +
      "face_mask (the paper's mask, green) and face (unmask, red); input 240x320.",
      "Data: the AIZOO face-mask subset, 3,069 train / 930 val images (the paper uses the full 6,115 / 1,839).",
    ],
    banner: generated.length
      ? `${generated.length} of ${runs.length} runs used GENERATED synthetic data (${
        generated.map((r) => shown(r.relPath)).join(", ")
      }): their numbers test the pipeline and say nothing about the paper.`
      : undefined,
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    sections,
  };
}
