/**
 * The paper's Table 2 (mAP by detection branches kept) under both readings of the ablation, from run records: one
 * row per (reading, branches) with the mean and standard deviation over seeds, only finished runs whose reported
 * weights are their last epoch's; unfinished runs and runs whose weights were selected on validation are listed
 * below the table, never in it. The 4-branch model is the same under both readings, so its runs fill both rows.
 * @module
 */
import { PAPER_TABLE2_MAP } from "./summary.ts";
import { VL_SCHEMA, type VlSpec } from "./charts.ts";
import { formatCsv } from "../util/csv.ts";

/** The two readings of "gradually remove larger-scale branches" (lib/detect PRIOR_READINGS). */
export const TABLE2_READINGS = ["carry", "own"] as const;

/** One run as Table 2 sees it. AP values are fractions in [0, 1]. */
export interface Table2Run {
  /** Run folder (relative to the repository where possible). */
  run: string;
  reading: "own" | "carry";
  branches: number;
  seed: number;
  /** Epochs trained so far and the schedule's length. */
  epochs: number;
  totalEpochs: number;
  /** Trained to the end with its metrics written. */
  finished: boolean;
  /** The reported weights were chosen by validation mAP (older runs): never a table row. */
  valSelected: boolean;
  /** Epoch of the reported weights, when known. */
  weightsEpoch: number | null;
  map: number | null;
  apFaceMask: number | null;
  apFace: number | null;
  /** mAP on aizoo-val1497 (1,496 of the paper's 1,839 test images), when that evaluation exists. */
  mapVal1497: number | null;
}

/** One row of Table 2 (percentages). */
export interface Table2Row {
  reading: "own" | "carry";
  branches: number;
  seeds: number;
  map: number | null;
  mapStd: number | null;
  apFaceMask: number | null;
  apFace: number | null;
  mapVal1497: number | null;
  /** Epochs of the runs (all the same schedule; the value is the first run's). */
  epochs: number;
  /** Run folders, `;`-separated in the csv. */
  runs: string[];
  paperMap: number | null;
}

function mean(xs: number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); null for fewer than two values. */
function std(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

const pct = (x: number | null) => (x === null ? null : x * 100);
const defined = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);

/** Whether a run may be a Table 2 row: finished, reporting its last epoch. */
export function isTableRun(r: Table2Run): boolean {
  return r.finished && !r.valSelected && r.map !== null;
}

/**
 * The rows of Table 2: readings in {@link TABLE2_READINGS} order, branches ascending; the 4-branch runs in both.
 *
 * ```ts
 * import { readTable2Run, table2Rows } from "ssdv2";
 * const dirs = [...Deno.readDirSync("results/ablation")].filter((e) => /-\d{8}-\d{6}$/.test(e.name));
 * const runs = await Promise.all(dirs.map((e) => readTable2Run(`results/ablation/${e.name}`)));
 * for (const row of table2Rows(runs)) console.log(row.reading, row.branches, row.seeds, row.map); // mean mAP, %
 * ```
 */
export function table2Rows(runs: readonly Table2Run[]): Table2Row[] {
  const rows: Table2Row[] = [];
  const done = runs.filter(isTableRun);
  for (const reading of TABLE2_READINGS) {
    for (let k = 1; k <= 4; k++) {
      const group = done.filter((r) => r.branches === k && (k === 4 || r.reading === reading))
        .sort((a, b) => a.seed - b.seed);
      if (group.length === 0) continue;
      const maps = defined(group.map((r) => pct(r.map)));
      const v1497 = group.map((r) => pct(r.mapVal1497));
      rows.push({
        reading,
        branches: k,
        seeds: group.length,
        map: mean(maps),
        mapStd: std(maps),
        apFaceMask: mean(defined(group.map((r) => pct(r.apFaceMask)))),
        apFace: mean(defined(group.map((r) => pct(r.apFace)))),
        // A mean over the runs that have it would mix seeds silently; only when every run has it.
        mapVal1497: v1497.every((x) => x !== null) ? mean(v1497 as number[]) : null,
        epochs: group[0].epochs,
        runs: group.map((r) => r.run),
        paperMap: PAPER_TABLE2_MAP[k] ?? null,
      });
    }
  }
  return rows;
}

/** The runs listed below the table: unfinished ones (with their epoch) and val-selected ones. */
export function table2Pending(runs: readonly Table2Run[]): Table2Run[] {
  return runs.filter((r) => !isTableRun(r));
}

/** The csv columns the issue fixes, in order, plus the paper's mAP. */
export const TABLE2_COLUMNS = [
  "reading",
  "branches",
  "seeds",
  "map",
  "map_std",
  "ap_face_mask",
  "ap_face",
  "map_val1497",
  "epochs",
  "run",
  "paper_map",
] as const;

/** A plain table: column names, cells (`null` = empty) and notes printed below it. */
export interface PlainTable {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
  notes: string[];
}

/** Table 2 as a {@link PlainTable} (percentages with two decimals; `run` lists the folders). */
export function table2Table(rows: readonly Table2Row[], notes: string[] = []): PlainTable {
  const r2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    title: "Table 2: mAP@0.5 (%) by detection branches kept, both readings of the ablation",
    columns: [...TABLE2_COLUMNS],
    rows: rows.map((r) => [
      r.reading,
      r.branches,
      r.seeds,
      r2(r.map),
      r2(r.mapStd),
      r2(r.apFaceMask),
      r2(r.apFace),
      r2(r.mapVal1497),
      r.epochs,
      r.runs.join(";"),
      r.paperMap,
    ]),
    notes,
  };
}

/** The csv columns {@link table2DisplayTable} shows, with the names a reader sees. */
const DISPLAY_COLUMNS: readonly (readonly [typeof TABLE2_COLUMNS[number], string])[] = [
  ["reading", "reading"],
  ["branches", "branches"],
  ["seeds", "seeds"],
  ["map", "mAP"],
  ["map_std", "std"],
  ["ap_face_mask", "face_mask AP"],
  ["ap_face", "face AP"],
  ["map_val1497", "mAP val1497"],
  ["paper_map", "paper mAP"],
];

/**
 * Table 2 as the report page and notebook 05 show it: the cells of {@link table2Table} (percentages with two
 * decimals) under readable names, without the epochs and run-folder columns.
 */
export function table2DisplayTable(
  rows: readonly Table2Row[],
  title = "Ours, Table 2 on the paper's schedule: mAP@0.5 (%), last epoch, our 930 val images",
): PlainTable {
  const full = table2Table(rows);
  const index = DISPLAY_COLUMNS.map(([csv]) => full.columns.indexOf(csv));
  return {
    title,
    columns: DISPLAY_COLUMNS.map(([, name]) => name),
    rows: full.rows.map((r) => index.map((i) => r[i])),
    notes: [],
  };
}

/** Where a run stands for Table 2: `in table`, `under way`, or `val-selected (epoch N)`. */
export function table2Status(r: Table2Run): string {
  if (!r.finished) return "under way";
  return r.valSelected ? `val-selected (epoch ${r.weightsEpoch ?? "?"})` : "in table";
}

/** Every Table 2 run folder with its progress and status, by reading then branches; mAP in % with two decimals. */
export function table2RunList(runs: readonly Table2Run[]): PlainTable {
  const pct2 = (x: number | null) => (x === null ? null : Math.round(x * 100 * 100) / 100);
  return {
    title: "The Table 2 run folders: finished, under way, or with weights selected on validation",
    columns: ["run", "reading", "branches", "seed", "epochs", "status", "mAP (%)", "mAP val1497 (%)"],
    rows: [...runs].sort((a, b) => a.reading.localeCompare(b.reading) || a.branches - b.branches).map((t) => [
      t.run,
      t.reading,
      t.branches,
      t.seed,
      `${t.epochs} of ${t.totalEpochs}`,
      table2Status(t),
      pct2(t.map),
      pct2(t.mapVal1497),
    ]),
    notes: [],
  };
}

/** CSV of a plain table: the header, then one line per row; the notes are not part of the csv. */
export function plainCsv(t: PlainTable): string {
  return formatCsv([t.columns, ...t.rows]);
}

/** Markdown of a plain table: bold title, pipe table (numbers right-aligned), notes in italics; "(no rows)" if empty. */
export function plainMarkdown(t: PlainTable): string {
  const esc = (v: string | number | null) => (v === null ? "" : String(v).replaceAll("|", "\\|"));
  const numeric = t.columns.map((_, j) => t.rows.some((r) => typeof r[j] === "number"));
  const lines = [
    `**${esc(t.title)}**`,
    "",
    `| ${t.columns.map(esc).join(" | ")} |`,
    `|${numeric.map((n) => (n ? "---:" : "---")).join("|")}|`,
    ...t.rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ];
  if (t.rows.length === 0) lines.push("", "(no finished run yet)");
  if (t.notes.length) lines.push("", ...t.notes.map((n) => `_${n}_`));
  return lines.join("\n") + "\n";
}

/** Lines that say what is not in the table and why. */
export function pendingNotes(pending: readonly Table2Run[]): string[] {
  return pending.map((r) => {
    const what = `${r.reading} k=${r.branches} seed ${r.seed} (${r.run})`;
    if (!r.finished) return `Not in the table, unfinished: ${what}, epoch ${r.epochs} of ${r.totalEpochs}.`;
    const m = r.map === null ? "n/a" : (r.map * 100).toFixed(2);
    const v = r.mapVal1497 === null ? "" : `, ${(r.mapVal1497 * 100).toFixed(2)} on aizoo-val1497`;
    return `Not in the table, weights selected on the validation split (epoch ${r.weightsEpoch ?? "?"} of ` +
      `${r.totalEpochs}): ${what}: val mAP ${m}${v}; slightly optimistic, so it is not a result.`;
  });
}

/** Markdown and csv of Table 2 with the notes below it. */
export function table2Files(runs: readonly Table2Run[], extraNotes: string[] = []): { csv: string; md: string } {
  const table = table2Table(table2Rows(runs), [...extraNotes, ...pendingNotes(table2Pending(runs))]);
  return { csv: plainCsv(table), md: plainMarkdown(table) };
}

/** Bar chart: our mAP per branches kept, one bar per reading (error bar = std over seeds), the paper as ticks. */
export function table2ChartSpec(rows: readonly Table2Row[], options: { dataLabel?: string } = {}): VlSpec {
  const values = rows.map((r) => ({
    branches: String(r.branches),
    series: `ours, ${r.reading}`,
    map: r.map,
    low: r.map === null || r.mapStd === null ? r.map : r.map - r.mapStd,
    high: r.map === null || r.mapStd === null ? r.map : r.map + r.mapStd,
    seeds: r.seeds,
  }));
  const paper = [1, 2, 3, 4].map((k) => ({ branches: String(k), map: PAPER_TABLE2_MAP[k] }));
  const domain = ["ours, carry", "ours, own"];
  return {
    $schema: VL_SCHEMA,
    title: {
      text: "Table 2: mAP@0.5 by branches kept (bars: ours by reading; ticks: paper)",
      subtitle: options.dataLabel ?? "",
    },
    width: 360,
    height: 280,
    layer: [
      {
        data: { values },
        mark: { type: "bar" },
        encoding: {
          x: { field: "branches", type: "ordinal", title: "Detection branches kept", axis: { labelAngle: 0 } },
          xOffset: { field: "series", scale: { domain } },
          y: { field: "map", type: "quantitative", title: "mAP (%)", scale: { domain: [0, 100] } },
          color: {
            field: "series",
            type: "nominal",
            title: null,
            scale: { domain, range: ["#4c78a8", "#9ecae9"] },
            legend: { orient: "bottom" },
          },
          tooltip: [{ field: "series" }, { field: "map", format: ".2f" }, { field: "seeds" }],
        },
      },
      {
        data: { values },
        mark: { type: "rule" },
        encoding: {
          x: { field: "branches", type: "ordinal" },
          xOffset: { field: "series", scale: { domain } },
          y: { field: "low", type: "quantitative" },
          y2: { field: "high" },
        },
      },
      {
        data: { values: paper },
        mark: { type: "tick", thickness: 3, color: "#d62728", bandSize: 40 },
        encoding: {
          x: { field: "branches", type: "ordinal" },
          y: { field: "map", type: "quantitative" },
          tooltip: [{ field: "map", title: "paper mAP", format: ".2f" }],
        },
      },
    ],
  };
}

/** One row of the prior-coverage table (lib/detect priorCoverageTable). */
export interface CoverageRow {
  branches: number;
  reading: string;
  total: number;
  covered: number;
  share: number | null;
  meanBestIou: number | null;
  iouThreshold: number;
}

/**
 * The prior-coverage table: per reading and branches kept, the share of ground-truth faces that have some prior at
 * IoU >= the matching threshold (the others get only their forced best-prior match).
 */
export function coverageTable(rows: readonly CoverageRow[], dataLabel: string): PlainTable {
  const sorted = [...rows].sort((a, b) => a.reading.localeCompare(b.reading) || a.branches - b.branches);
  const r = (x: number | null, d: number) => (x === null ? null : Number(x.toFixed(d)));
  return {
    title: `Prior coverage: faces with a prior at IoU >= ${
      rows[0]?.iouThreshold ?? 0.45
    }, by reading and branches kept`,
    columns: ["reading", "branches", "faces", "covered", "share_pct", "mean_best_iou"],
    rows: sorted.map((
      x,
    ) => [
      x.reading,
      x.branches,
      x.total,
      x.covered,
      r(x.share === null ? null : x.share * 100, 1),
      r(x.meanBestIou, 3),
    ]),
    notes: [
      `Computed by lib/detect priorCoverageTable from the ground-truth boxes of ${dataLabel}, at the 320x240 model input.`,
    ],
  };
}
