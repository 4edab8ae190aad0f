/**
 * Vega-Lite chart specs (P-R curves, branch ablation, training curves, mAP vs FPS, AP by face size, confusion
 * matrix), validated by compiling them with vega-lite, rendered headlessly with vega to SVG and with resvg to PNG,
 * and wrapped for Jupyter display.
 * @module
 */

import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import * as vl from "vega-lite";
import type { BySizeResult, ConfusionMatrix, PrCurve } from "../metrics/types.ts";
import { prCornerIndices } from "../metrics/voc.ts";
import { isGeneratedData } from "../data/label.ts";
import { PAPER_TABLE2_MAP, type RunSummary } from "./summary.ts";
import type { EpochLogRow } from "../runs/train_log.ts";
import { isFile } from "../util/paths.ts";

/** A Vega-Lite spec as plain JSON. */
export type VlSpec = Record<string, unknown>;

/** Schema URL of the vega-lite version we compile with (pinned 6.x). */
export const VL_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Colour of each class in the charts: face_mask green, face red (ColorBrewer RdYlGn ends). */
export const CLASS_COLORS: Readonly<Record<string, string>> = { face_mask: "#1a9850", face: "#d73027" };

/** Colours of classes outside {@link CLASS_COLORS} (none of them green or red). */
const OTHER_COLORS = ["#4c78a8", "#f58518", "#b279a2", "#9d755d"];

/** Options shared by the chart builders. */
export interface ChartOptions {
  /** Chart title; each builder has a default. */
  title?: string;
  /** Where the numbers come from; generated data is flagged in the subtitle. */
  dataLabel?: string;
}

function titleOf(text: string, dataLabel?: string): Record<string, unknown> {
  if (!dataLabel) return { text };
  const subtitle = !isGeneratedData(dataLabel)
    ? `data: ${dataLabel}`
    : /generated/i.test(dataLabel)
    ? `data: ${dataLabel} (not comparable with the paper)`
    : `data: ${dataLabel} (GENERATED, not comparable with the paper)`;
  return { text, subtitle };
}

/** Keeps at most `maxPoints` points of a curve, evenly spaced in rank, always the first and the last. */
export function downsampleIndices(n: number, maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  if (maxPoints < 2) throw new Error(`downsampleIndices: maxPoints must be at least 2, got ${maxPoints}`);
  const out = new Set<number>();
  for (let i = 0; i < maxPoints; i++) out.add(Math.round((i * (n - 1)) / (maxPoints - 1)));
  return [...out];
}

/**
 * The points of a P-R curve worth drawing: its corners (lib/metrics `prCornerIndices`), evenly thinned to
 * `maxPoints` only when there are more. Thinning by rank alone would merge the few high-precision points at the head
 * of the ranking into one straight segment.
 */
export function prCurveIndices(recall: readonly number[], maxPoints: number): number[] {
  const corners = prCornerIndices(recall);
  return downsampleIndices(corners.length, maxPoints).map((k) => corners[k]);
}

/**
 * P-R curves, one line per class, AP in the legend. Classes without ground truth are left out. `envelope` plots
 * the monotone (interpolated) precision, whose area is the all-point AP, instead of the raw precision.
 *
 * ```ts
 * import { prChartSpec, saveChart } from "ssdv2";
 * const run = "results/ablation/branches-4-20261129-122037";
 * const read = async (c: string) => JSON.parse(await Deno.readTextFile(`${run}/pr_${c}.json`));
 * const spec = prChartSpec([await read("face_mask"), await read("face")], { envelope: true }); // area = the AP
 * await saveChart(spec, "/tmp/branches-4_pr_envelope"); // .vl.json, .svg and .png
 * ```
 */
export function prChartSpec(
  curves: readonly PrCurve[],
  options: ChartOptions & { maxPoints?: number; envelope?: boolean } = {},
): VlSpec {
  const maxPoints = options.maxPoints ?? 400;
  const values: { cls: string; recall: number; precision: number }[] = [];
  const legend: string[] = [], colors: string[] = [];
  for (const c of curves) {
    if (c.ap === null) continue;
    const cls = `${c.name} (AP ${(c.ap * 100).toFixed(2)}%)`;
    legend.push(cls);
    const others = colors.filter((x) => OTHER_COLORS.includes(x)).length;
    colors.push(CLASS_COLORS[c.name] ?? OTHER_COLORS[others % OTHER_COLORS.length]);
    const p = options.envelope ? c.interpolated : c.precision;
    for (const i of prCurveIndices(c.recall, maxPoints)) {
      values.push({ cls, recall: c.recall[i], precision: p[i] });
    }
  }
  return {
    $schema: VL_SCHEMA,
    title: titleOf(options.title ?? "Precision-recall per class (VOC, IoU 0.5)", options.dataLabel),
    width: 420,
    height: 320,
    data: { values },
    mark: { type: "line", strokeWidth: 2, interpolate: options.envelope ? "step-after" : "linear" },
    encoding: {
      x: { field: "recall", type: "quantitative", title: "Recall", scale: { domain: [0, 1] } },
      y: { field: "precision", type: "quantitative", title: "Precision", scale: { domain: [0, 1] } },
      color: {
        field: "cls",
        type: "nominal",
        title: "Class (AP@0.5)",
        // Each class in its one colour (CLASS_COLORS), as in the drawings of boxes.
        scale: { domain: legend, range: colors },
        legend: { orient: "right", labelLimit: 0 },
      },
    },
  };
}

/**
 * Branch ablation: our mAP as bars with value labels, the paper's Table 2 values as red ticks over them.
 */
export function ablationChartSpec(runs: readonly RunSummary[], options: ChartOptions = {}): VlSpec {
  // Short series names: the data label goes in the subtitle, where its length does not matter.
  const ours = "ours";
  const paper = "paper (AIZOO full test set)";
  const values = [...runs].sort((a, b) => a.branches - b.branches).flatMap((r) => {
    const rows = [{ branches: String(r.branches), series: ours, map: r.map === null ? null : r.map * 100 }];
    const p = PAPER_TABLE2_MAP[r.branches];
    return p === undefined ? rows : [...rows, { branches: String(r.branches), series: paper, map: p }];
  });
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: { domain: [ours, paper], range: ["#4c78a8", "#d62728"] },
    legend: { orient: "bottom", labelLimit: 0, symbolType: "square" },
  };
  const x = { field: "branches", type: "ordinal", title: "Detection branches kept", axis: { labelAngle: 0 } };
  const y = { field: "map", type: "quantitative", title: "mAP (%)", scale: { domain: [0, 100] } };
  return {
    $schema: VL_SCHEMA,
    title: titleOf(options.title ?? "Branch ablation (Table 2): mAP@0.5", options.dataLabel ?? runs[0]?.dataLabel),
    width: 360,
    height: 280,
    data: { values },
    encoding: { x, y },
    layer: [
      {
        transform: [{ filter: { field: "series", equal: ours } }],
        mark: { type: "bar", width: { band: 0.6 } },
        encoding: { color },
      },
      {
        transform: [{ filter: { field: "series", equal: ours } }],
        // At the bar's foot, so the paper's tick can never hide it.
        mark: { type: "text", baseline: "bottom", dy: -6, fontSize: 11, color: "white" },
        encoding: { y: { datum: 0 }, text: { field: "map", type: "quantitative", format: ".2f" } },
      },
      {
        transform: [{ filter: { field: "series", equal: paper } }],
        mark: { type: "tick", thickness: 3, bandSize: 40 },
        encoding: { color },
      },
    ],
  };
}

/** One epoch of training history. `map` is present on epochs that were evaluated. */
export interface EpochRow {
  epoch: number;
  loss: number;
  cls: number;
  loc: number;
  map?: number | null;
}

/**
 * The rows of a run's train_log.csv (lib/runs `Run.log`) as {@link trainingChartSpec} draws them: the epochs that
 * logged a loss, with the validation mAP where the epoch was evaluated. A loss part missing from a row is NaN (drawn
 * as a gap).
 *
 * ```ts
 * import { epochChartRows, readRun } from "ssdv2";
 * const run = await readRun("results/ablation/branches-4-20261129-122037");
 * const rows = epochChartRows(run.log);
 * console.log(rows.length, rows.at(-1)); // 100 { epoch: 100, loss: ..., cls: ..., loc: ..., map: 0.8398 }
 * ```
 */
export function epochChartRows(log: readonly EpochLogRow[]): EpochRow[] {
  return log.filter((r) => r.loss !== null).map((r) => ({
    epoch: r.epoch ?? 0,
    loss: r.loss ?? NaN,
    cls: r.loss_cls ?? NaN,
    loc: r.loss_loc ?? NaN,
    map: r.val_map,
  }));
}

/**
 * Training curves: total, classification and localisation loss per epoch; below, validation mAP per epoch.
 *
 * ```ts
 * import { epochChartRows, readRun, saveChart, trainingChartSpec } from "ssdv2";
 * const run = await readRun("results/ablation/branches-4-20261129-122037"); // its train_log.csv, typed
 * await saveChart(trainingChartSpec(epochChartRows(run.log), { title: "branches-4" }), "/tmp/branches-4_training");
 * ```
 */
export function trainingChartSpec(rows: readonly EpochRow[], options: ChartOptions = {}): VlSpec {
  const losses = rows.flatMap((r) => [
    { epoch: r.epoch, part: "total", value: r.loss },
    { epoch: r.epoch, part: "classification", value: r.cls },
    { epoch: r.epoch, part: "localisation", value: r.loc },
  ]);
  const maps = rows.filter((r) => r.map !== undefined && r.map !== null).map((r) => ({
    epoch: r.epoch,
    map: r.map! * 100,
  }));
  const x = { field: "epoch", type: "quantitative", title: "Epoch" };
  const panels: VlSpec[] = [{
    width: 420,
    height: 200,
    data: { values: losses },
    mark: { type: "line", point: rows.length <= 30 },
    encoding: {
      x,
      y: { field: "value", type: "quantitative", title: "Loss" },
      color: { field: "part", type: "nominal", title: "Loss", sort: ["total", "classification", "localisation"] },
    },
  }];
  if (maps.length) {
    panels.push({
      width: 420,
      height: 160,
      data: { values: maps },
      mark: { type: "line", color: "#2ca02c", point: { color: "#2ca02c" } },
      encoding: { x, y: { field: "map", type: "quantitative", title: "Validation mAP (%)" } },
    });
  }
  return {
    $schema: VL_SCHEMA,
    title: titleOf(options.title ?? "Training loss and validation mAP per epoch", options.dataLabel),
    vconcat: panels,
    resolve: { scale: { color: "independent", x: "shared" } },
  };
}

/** mAP against inference FPS, one labelled point per backbone. Runs without FPS or mAP are left out. */
export function backboneChartSpec(runs: readonly RunSummary[], options: ChartOptions = {}): VlSpec {
  const values = runs.filter((r) => r.fps !== undefined && r.map !== null).map((r) => ({
    trunk: r.trunk,
    fps: r.fps,
    map: r.map! * 100,
    params: r.params === undefined ? null : r.params / 1e6,
  }));
  const x = {
    field: "fps",
    type: "quantitative",
    title: "Inference speed (images/s)",
    scale: { zero: false, padding: 30 },
  };
  const y = { field: "map", type: "quantitative", title: "mAP@0.5 (%)", scale: { zero: false, padding: 20 } };
  return {
    $schema: VL_SCHEMA,
    title: titleOf(options.title ?? "Backbones: accuracy vs speed", options.dataLabel ?? runs[0]?.dataLabel),
    width: 400,
    height: 280,
    data: { values },
    encoding: { x, y },
    layer: [
      {
        mark: { type: "point", filled: true, size: 90 },
        encoding: { color: { field: "trunk", type: "nominal", title: "Backbone", legend: { orient: "right" } } },
      },
      { mark: { type: "text", align: "left", dx: 8, dy: -8, fontSize: 11 }, encoding: { text: { field: "trunk" } } },
    ],
  };
}

/**
 * AP by face size at the model input: one group of bars per size bucket, one bar per class in its colour
 * ({@link CLASS_COLORS}), the number of ground-truth boxes in the tooltip. Buckets where a class has no ground truth
 * have no bar for it.
 */
export function bySizeChartSpec(bySize: BySizeResult, options: ChartOptions = {}): VlSpec {
  const buckets = bySize.buckets.map((b) => b.name);
  const classes = [...new Set(bySize.buckets.flatMap((b) => Object.keys(b.perClass)))];
  const values = bySize.buckets.flatMap((b) =>
    classes.flatMap((cls) => {
      const c = b.perClass[cls];
      return c && c.ap !== null
        ? [{ bucket: b.name, cls, ap: c.ap * 100, recall: c.recall === null ? null : c.recall * 100, numGt: c.numGt }]
        : [];
    })
  );
  const color = {
    field: "cls",
    type: "nominal",
    title: "Class",
    scale: { domain: classes, range: classes.map((c, i) => CLASS_COLORS[c] ?? OTHER_COLORS[i % OTHER_COLORS.length]) },
    legend: { orient: "bottom" },
  };
  return {
    $schema: VL_SCHEMA,
    title: titleOf(
      options.title ?? `AP@${bySize.iouThreshold} by face size at the model input (sqrt(w*h), px)`,
      options.dataLabel,
    ),
    width: 380,
    height: 260,
    data: { values },
    mark: { type: "bar" },
    encoding: {
      x: {
        field: "bucket",
        type: "ordinal",
        title: "Face size at the input (px)",
        sort: buckets,
        axis: { labelAngle: 0 },
      },
      xOffset: { field: "cls", type: "nominal", sort: classes },
      y: { field: "ap", type: "quantitative", title: "AP (%)", scale: { domain: [0, 100] } },
      color,
      tooltip: [
        { field: "bucket", type: "ordinal", title: "size" },
        { field: "cls", type: "nominal", title: "class" },
        { field: "ap", type: "quantitative", title: "AP (%)", format: ".2f" },
        { field: "recall", type: "quantitative", title: `recall at ${bySize.displayThreshold} (%)`, format: ".2f" },
        { field: "numGt", type: "quantitative", title: "ground-truth boxes" },
      ],
    },
  };
}

/**
 * Confusion matrix heatmap: ground-truth class down, predicted class across (background last on both). Cells are
 * labelled with the count and coloured by the count's share of its row, since the background row (false alarms at a
 * low threshold) would otherwise flatten every class cell to the same pale colour.
 */
export function confusionChartSpec(matrix: ConfusionMatrix, options: ChartOptions = {}): VlSpec {
  const values = matrix.labels.flatMap((gt, i) => {
    const total = matrix.counts[i].reduce((a, b) => a + b, 0);
    return matrix.labels.map((pred, j) => ({
      gt,
      pred,
      count: matrix.counts[i][j],
      share: total > 0 ? matrix.counts[i][j] / total : 0,
    }));
  });
  const side = 80 * matrix.labels.length;
  return {
    $schema: VL_SCHEMA,
    title: titleOf(
      options.title ?? `Confusion matrix (score >= ${matrix.displayThreshold}, IoU > ${matrix.iouThreshold})`,
      options.dataLabel,
    ),
    width: side,
    height: side,
    data: { values },
    encoding: {
      x: { field: "pred", type: "nominal", title: "Predicted", sort: matrix.labels, axis: { labelAngle: 0 } },
      y: { field: "gt", type: "nominal", title: "Ground truth", sort: matrix.labels },
    },
    layer: [
      {
        mark: { type: "rect" },
        encoding: {
          color: {
            field: "share",
            type: "quantitative",
            title: "Share of row",
            scale: { scheme: "blues", domain: [0, 1] },
            legend: { format: ".0%" },
          },
        },
      },
      {
        mark: { type: "text", fontSize: 13 },
        encoding: {
          text: { field: "count", type: "quantitative", format: "d" },
          // White on the dark cells, black on the light ones.
          color: { condition: { test: "datum.share > 0.5", value: "white" }, value: "black" },
        },
      },
    ],
  };
}

/** Compiles a spec with vega-lite, throwing on errors and on any compiler warning (a wrong field, say). */
export function compileSpec(spec: VlSpec): vega.Spec {
  const warnings: string[] = [];
  let level = 0;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: unknown[]) {
      throw new Error(`vega-lite: ${args.join(" ")}`);
    },
    warn(...args: unknown[]) {
      warnings.push(args.join(" "));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  let out;
  try {
    // A copy, because vega later tags the inline data rows of the compiled spec with ids.
    // deno-lint-ignore no-explicit-any
    out = vl.compile(structuredClone(spec) as any, { logger: logger as any });
  } catch (e) {
    throw new Error(`vega-lite could not compile the spec: ${(e as Error).message}`);
  }
  if (warnings.length) throw new Error(`vega-lite spec is not clean: ${warnings.join("; ")}`);
  return out.spec;
}

/** Renders a Vega-Lite spec to an SVG string, headlessly. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const view = new vega.View(vega.parse(compileSpec(spec)), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_FILES = [
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
];

/**
 * Rasterises an SVG to PNG with resvg at `scale` (default 2). Vega writes `sans-serif`; it is mapped to DejaVu Sans
 * (Debian package fonts-dejavu-core), loaded explicitly when present, since resvg draws no text without a font.
 */
export function svgToPng(svg: string, options: { scale?: number } = {}): Uint8Array {
  const fontFiles = FONT_FILES.filter(isFile);
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: "white",
    font: { fontFiles, loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}

/**
 * Saves `<basePath>.vl.json`, `<basePath>.svg` and `<basePath>.png`; returns the three paths.
 *
 * ```ts
 * import { saveChart } from "ssdv2";
 * const spec = { // any Vega-Lite spec
 *   data: { values: [{ branches: 1, map: 0.62 }, { branches: 4, map: 0.84 }] },
 *   mark: "bar",
 *   encoding: { x: { field: "branches", type: "ordinal" }, y: { field: "map", type: "quantitative" } },
 * };
 * console.log(await saveChart(spec, "/tmp/map")); // { vl: "/tmp/map.vl.json", svg: "/tmp/map.svg", png: "/tmp/map.png" }
 * ```
 */
export async function saveChart(spec: VlSpec, basePath: string): Promise<{ vl: string; svg: string; png: string }> {
  const svgText = await renderSvg(spec);
  const paths = { vl: `${basePath}.vl.json`, svg: `${basePath}.svg`, png: `${basePath}.png` };
  await Deno.writeTextFile(paths.vl, JSON.stringify(spec, null, 2) + "\n");
  await Deno.writeTextFile(paths.svg, svgText);
  await Deno.writeFile(paths.png, svgToPng(svgText));
  return paths;
}

/** MIME key for Vega-Lite in JupyterLab: its vega5-extension renders v3, v4 and v5 keys; there is no v6 key. */
export const VEGALITE_MIME = "application/vnd.vegalite.v5+json";

/**
 * A Jupyter display bundle for a chart: the spec under the Vega-Lite v5 MIME key (with a v5 `$schema`, which our
 * specs stay within, so JupyterLab's vega-embed renders it without a version warning) and a static SVG for
 * front-ends without Vega. In a Deno notebook: `Deno.jupyter.display(await chartDisplayBundle(spec), { raw: true })`.
 */
export async function chartDisplayBundle(spec: VlSpec, svg?: string): Promise<Record<string, unknown>> {
  return {
    [VEGALITE_MIME]: { ...spec, $schema: "https://vega.github.io/schema/vega-lite/v5.json" },
    "image/svg+xml": svg ?? await renderSvg(spec),
  };
}
