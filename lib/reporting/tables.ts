/**
 * Result tables as danfo DataFrames, written as CSV (danfo) and Markdown: per-class AP of one run, the branch
 * ablation (paper Table 2) beside the paper's numbers, the backbone comparison, and one run's AP / recall by face
 * size, operating points and confusion matrix. AP, precision, recall and F1 are percentages with two decimals, as
 * in the paper. The table functions are async because they load danfo on first use (lib/util/danfo.ts): importing
 * this module stays cheap for the commands that never build a table.
 * @module
 */

import type { DataFrame } from "danfojs-node";
import type { BySizeResult, ConfusionMatrix, OperatingPoint, OperatingSummary } from "../metrics/types.ts";
import { loadDanfo } from "../util/danfo.ts";
import { formatCsv } from "../util/csv.ts";
import { isGeneratedData } from "../data/label.ts";
import { PAPER_PER_CLASS_AP, PAPER_TABLE2_MAP, provenanceNotes, type RunSummary } from "./summary.ts";

/** A table: a danfo DataFrame with its title and notes (data provenance, caveats). `null` is an empty cell. */
export interface ResultTable {
  title: string;
  frame: DataFrame;
  notes: string[];
}

/** One table cell; `null` prints as an empty cell. */
export type Cell = string | number | null;

async function makeTable(title: string, columns: string[], rows: Cell[][], notes: string[]): Promise<ResultTable> {
  if (rows.length === 0) throw new Error(`${title}: no runs to tabulate`);
  const dfd = await loadDanfo();
  return { title, frame: new dfd.DataFrame(rows, { columns }), notes };
}

const pct = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10000) / 100;
const round = (x: number | null | undefined, digits: number): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));
const diff = (a: number | null, b: number | null | undefined): number | null =>
  a === null || b === null || b === undefined ? null : Math.round((a - b) * 100) / 100;

/** Per-class AP (%) and mAP (%) of one run. */
export async function perClassTable(run: RunSummary): Promise<ResultTable> {
  const { suffix, notes } = provenanceNotes([run]);
  const rows: Cell[][] = Object.entries(run.perClassAp).map(([name, ap]) => [name, pct(ap)]);
  rows.push(["mAP", pct(run.map)]);
  const title = `VOC AP@0.5 per class: ${run.experiment} (${run.trunk}, ${run.branches} branches)${suffix}`;
  return await makeTable(title, ["class", "AP (%)"], rows, notes);
}

/**
 * Table 2: mAP by number of branches, ours beside the paper's (62.35 / 67.12 / 70.93 / 72.79) and the difference
 * (ours - paper, points); per-class AP with the paper's 4-branch values (face_mask 80.97, face 64.61).
 */
export async function ablationTable(runs: readonly RunSummary[]): Promise<ResultTable> {
  const { suffix, notes } = provenanceNotes(runs);
  const classes = [...new Set(runs.flatMap((r) => Object.keys(r.perClassAp)))];
  const columns = ["branches", "experiment", "mAP ours (%)", "mAP paper (%)", "diff (points)"];
  for (const c of classes) columns.push(`${c} ours (%)`, `${c} paper (%)`);
  const rows = [...runs].sort((a, b) => a.branches - b.branches).map((r) => {
    const ours = pct(r.map);
    const paper = PAPER_TABLE2_MAP[r.branches] ?? null;
    const row: Cell[] = [r.branches, r.experiment, ours, paper, diff(ours, paper)];
    for (const c of classes) {
      row.push(pct(r.perClassAp[c]), r.branches === 4 ? PAPER_PER_CLASS_AP[c] ?? null : null);
    }
    return row;
  });
  notes.push(
    "Paper: SSDv2 Table 2 on the full AIZOO test set (1,839 images); paper per-class AP is given for 4 branches only.",
  );
  return await makeTable(`Table 2: detection branches vs mAP (VOC AP@0.5)${suffix}`, columns, rows, notes);
}

/** Backbone comparison: mAP (%), parameters (M), GMACs, inference FPS and training images/s per trunk. */
export async function backboneTable(runs: readonly RunSummary[]): Promise<ResultTable> {
  const { suffix, notes } = provenanceNotes(runs);
  const rows: Cell[][] = runs.map((r) => [
    r.trunk,
    r.experiment,
    r.branches,
    pct(r.map),
    round(r.params === undefined ? undefined : r.params / 1e6, 3),
    round(r.macs === undefined ? undefined : r.macs / 1e9, 3),
    round(r.fps, 1),
    round(r.trainImgPerSec, 1),
    r.backend,
  ]);
  const columns = [
    "trunk",
    "experiment",
    "branches",
    "mAP (%)",
    "params (M)",
    "GMACs",
    "FPS",
    "train img/s",
    "backend",
  ];
  return await makeTable(`Backbones: accuracy and cost at 240x320${suffix}`, columns, rows, notes);
}

/** Options of the tables of one evaluation ({@link bySizeTable}, {@link operatingTable}, {@link confusionTable}). */
export interface EvalTableOptions {
  /** Replaces the default title (the data label is still appended). */
  title?: string;
  /** Where the numbers come from; generated data is flagged in the title and the notes. */
  dataLabel?: string;
}

function evalProvenance(title: string, dataLabel: string | undefined): { title: string; notes: string[] } {
  if (!dataLabel) return { title, notes: [] };
  const generated = isGeneratedData(dataLabel);
  const notes = [`Data: ${dataLabel}.`];
  if (generated) {
    notes.push("Built from GENERATED data: these numbers test the pipeline and are not comparable with the paper.");
  }
  return { title: `${title}${generated ? ` [GENERATED data: ${dataLabel}]` : ` [${dataLabel}]`}`, notes };
}

/** Class names of the per-class records, in first-seen order. */
function classNamesOf(perClass: readonly Record<string, unknown>[]): string[] {
  return [...new Set(perClass.flatMap((r) => Object.keys(r)))];
}

/**
 * AP and recall by face size (lib/metrics `apBySize`): one row per size bucket with the number of non-difficult
 * ground-truth boxes (all classes, then per class), VOC AP (%) per class and recall (%) at the display threshold
 * per class. Empty cells: no ground truth of that class in the bucket.
 */
export async function bySizeTable(bySize: BySizeResult, options: EvalTableOptions = {}): Promise<ResultTable> {
  const classes = classNamesOf(bySize.buckets.map((b) => b.perClass));
  const columns = ["size (px)", "#gt", ...classes.map((c) => `#gt ${c}`)];
  columns.push(...classes.map((c) => `AP ${c} (%)`), ...classes.map((c) => `recall ${c} (%)`));
  const rows: Cell[][] = bySize.buckets.map((b) => [
    b.name,
    b.numGt,
    ...classes.map((c) => b.perClass[c]?.numGt ?? 0),
    ...classes.map((c) => pct(b.perClass[c]?.ap)),
    ...classes.map((c) => pct(b.perClass[c]?.recall)),
  ]);
  const { title, notes } = evalProvenance(
    options.title ?? `VOC AP@${bySize.iouThreshold} and recall by face size at the model input`,
    options.dataLabel,
  );
  notes.push(
    `Size: ${bySize.sizeDefinition}. Ground truth outside a bucket, and false positives whose own box is outside ` +
      `it, count neither way. Recall at score >= ${bySize.displayThreshold}.`,
  );
  return await makeTable(title, columns, rows, notes);
}

/**
 * Operating points (lib/metrics `operatingPoints`): per class, precision, recall and F1 (%) with the counts, at the
 * display threshold and at the F1-best threshold (empty when no threshold gives a hit).
 */
export async function operatingTable(
  operating: OperatingSummary,
  options: EvalTableOptions = {},
): Promise<ResultTable> {
  const columns = ["class", "point", "threshold", "precision (%)", "recall (%)", "F1 (%)", "TP", "FP", "FN"];
  const row = (name: string, point: string, p: OperatingPoint | null): Cell[] =>
    p === null
      ? [name, point, null, null, null, null, null, null, null]
      : [name, point, round(p.threshold, 4), pct(p.precision), pct(p.recall), pct(p.f1), p.tp, p.fp, p.fn];
  const rows = Object.entries(operating.perClass).flatMap(([name, c]) => [
    row(name, "display", c.display),
    row(name, "F1-best", c.best),
  ]);
  const { title, notes } = evalProvenance(
    options.title ?? `Precision, recall and F1 per class (VOC matching, IoU > ${operating.iouThreshold})`,
    options.dataLabel,
  );
  notes.push(
    `display: detections with score >= ${operating.displayThreshold}; F1-best: the score threshold that maximises F1.`,
  );
  return await makeTable(title, columns, rows, notes);
}

/**
 * Confusion matrix (lib/metrics `confusionMatrix`): rows are the ground-truth class (background: a detection that
 * matched no ground truth), columns the predicted class (background: a ground-truth box no detection matched).
 */
export async function confusionTable(matrix: ConfusionMatrix, options: EvalTableOptions = {}): Promise<ResultTable> {
  const columns = ["ground truth \\ predicted", ...matrix.labels];
  const rows: Cell[][] = matrix.labels.map((label, i) => [label, ...matrix.counts[i]]);
  const { title, notes } = evalProvenance(
    options.title ?? `Confusion matrix at score >= ${matrix.displayThreshold}, IoU > ${matrix.iouThreshold}`,
    options.dataLabel,
  );
  notes.push(
    "Class-agnostic greedy matching by score: each detection takes the free ground-truth box it overlaps most. " +
      `${matrix.ignoredDetections} detection(s) on difficult boxes left out.`,
  );
  return await makeTable(title, columns, rows, notes);
}

/** Column names and rows of a table's DataFrame. */
export function tableCells(table: ResultTable): { columns: string[]; rows: Cell[][] } {
  return { columns: table.frame.columns.map(String), rows: table.frame.values as Cell[][] };
}

/**
 * CSV text of a table's DataFrame: header and rows, empty cells for `null`. Written by us rather than danfo's
 * `toCSV` because that one does not quote cells holding commas or quotes.
 */
export function toCsv(table: ResultTable): string {
  const { columns, rows } = tableCells(table);
  return formatCsv([columns, ...rows]);
}

/** Markdown: a bold title, a pipe table (numbers right-aligned) and the notes in italics. */
export function toMarkdown(table: ResultTable): string {
  const { columns, rows } = tableCells(table);
  const esc = (v: Cell) => v === null || v === undefined ? "" : String(v).replaceAll("|", "\\|");
  const numeric = columns.map((_, j) => rows.some((r) => typeof r[j] === "number"));
  const lines = [
    `**${esc(table.title)}**`,
    "",
    `| ${columns.map(esc).join(" | ")} |`,
    `|${numeric.map((n) => n ? "---:" : "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
  if (table.notes.length) lines.push("", ...table.notes.map((n) => `_${n}_`));
  return lines.join("\n") + "\n";
}

/** Writes `<basePath>.csv` and `<basePath>.md`; returns both paths. */
export async function writeTable(table: ResultTable, basePath: string): Promise<{ csv: string; md: string }> {
  const csv = `${basePath}.csv`;
  const md = `${basePath}.md`;
  await Deno.writeTextFile(csv, toCsv(table));
  await Deno.writeTextFile(md, toMarkdown(table));
  return { csv, md };
}
