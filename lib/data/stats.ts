/**
 * Data statistics as danfo DataFrames, for the dataset notebook and `deno task data:stats`: one row per image, one
 * row per box (pixel sizes of the decoded image), and counts per split and class. danfo is loaded only when a
 * frame is asked for, so importing the data module stays cheap.
 * @module
 */

import type { DataFrame } from "danfojs-node";
import { CLASS_NAMES, OBJECT_CLASSES } from "../types.ts";
import type { DataRecord } from "./dataset.ts";

/** Box counts per split, then per class name. */
export type BoxCounts = Record<string, Record<string, number>>;

/** The three frames of {@link dataStats}. */
export interface DataStats {
  /** split, id, width, height, boxes, and one count column per class. */
  images: DataFrame;
  /** split, id, class, width, height, area (pixels), difficult. */
  boxes: DataFrame;
  /** split, images, boxes, and one count column per class; one row per split. */
  summary: DataFrame;
}

/** Counts boxes per split and class name, in plain objects (every class present, zero when absent). */
export function countBoxes(records: DataRecord[]): BoxCounts {
  const out: BoxCounts = {};
  for (const r of records) {
    const bySplit = out[r.split] ??= Object.fromEntries(OBJECT_CLASSES.map((c) => [c, 0]));
    for (const label of r.labels) bySplit[CLASS_NAMES[label]] = (bySplit[CLASS_NAMES[label]] ?? 0) + 1;
  }
  return out;
}

type Columns = Record<string, (string | number | boolean)[]>;

async function frame(columns: Columns): Promise<DataFrame> {
  const dfd = await (await import("../util/danfo.ts")).loadDanfo();
  const names = Object.keys(columns);
  if (columns[names[0]].length === 0) return new dfd.DataFrame([], { columns: names });
  return new dfd.DataFrame(columns);
}

/** One row per image: split, id, width, height (decoded pixels), boxes, and a count per class. */
export function imageColumns(records: DataRecord[]): Columns {
  const cols: Columns = { split: [], id: [], width: [], height: [], boxes: [] };
  for (const c of OBJECT_CLASSES) cols[c] = [];
  for (const r of records) {
    cols.split.push(r.split);
    cols.id.push(r.id);
    cols.width.push(r.width);
    cols.height.push(r.height);
    cols.boxes.push(r.boxes.length);
    for (const c of OBJECT_CLASSES) cols[c].push(r.labels.filter((l) => CLASS_NAMES[l] === c).length);
  }
  return cols;
}

/** One row per box: split, id, class name, width, height and area in pixels of the decoded image, difficult. */
export function boxColumns(records: DataRecord[]): Columns {
  const cols: Columns = { split: [], id: [], class: [], width: [], height: [], area: [], difficult: [] };
  for (const r of records) {
    r.boxes.forEach((b, i) => {
      const w = (b[2] - b[0]) * r.width;
      const h = (b[3] - b[1]) * r.height;
      cols.split.push(r.split);
      cols.id.push(r.id);
      cols.class.push(CLASS_NAMES[r.labels[i]]);
      cols.width.push(w);
      cols.height.push(h);
      cols.area.push(w * h);
      cols.difficult.push(r.difficult[i]);
    });
  }
  return cols;
}

/** One row per split (in first-seen order): images, boxes, and a count per class. */
export function summaryColumns(records: DataRecord[]): Columns {
  const counts = countBoxes(records);
  const images: Record<string, number> = {};
  for (const r of records) images[r.split] = (images[r.split] ?? 0) + 1;
  const cols: Columns = { split: [], images: [], boxes: [] };
  for (const c of OBJECT_CLASSES) cols[c] = [];
  for (const split of Object.keys(counts)) {
    cols.split.push(split);
    cols.images.push(images[split]);
    cols.boxes.push(OBJECT_CLASSES.reduce((s, c) => s + counts[split][c], 0));
    for (const c of OBJECT_CLASSES) cols[c].push(counts[split][c]);
  }
  return cols;
}

/** The per-image, per-box and summary DataFrames of a set of records (any mix of splits). */
export async function dataStats(records: DataRecord[]): Promise<DataStats> {
  return {
    images: await frame(imageColumns(records)),
    boxes: await frame(boxColumns(records)),
    summary: await frame(summaryColumns(records)),
  };
}
