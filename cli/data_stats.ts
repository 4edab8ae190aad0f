/**
 * `deno task data:stats [--data DIR] [--csv OUT]`: image and box counts per split and class, and box sizes per
 * class, of a data set in AIZOO's layout; with `--csv`, writes the per-image, per-box and summary tables.
 * @module
 */

import {
  boxColumns,
  type DataRecord,
  dataStats,
  listSplits,
  resolveData,
  scanSplit,
  summaryColumns,
} from "../lib/data/mod.ts";
import { OBJECT_CLASSES } from "../lib/types.ts";
import { type Io, parseCommandArgs } from "./command_args.ts";

const HELP = `Usage: deno task data:stats [--data DIR] [--csv OUT]

Prints, for every split folder under DIR: images, boxes per class, and box width/height in pixels (min, median,
max) per class. Samples with errors (see data:check) are left out and counted.

Options:
  --data DIR     data root (default: FACEMASK_DATA, else data/aizoo-facemask, else generated data)
  --csv OUT      also write OUT/images.csv, OUT/boxes.csv and OUT/summary.csv
  -h, --help     show this help
`;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[], io: Io = { log: console.log, error: console.error }): Promise<number> {
  const { values, exit } = parseCommandArgs(args, {
    name: "data:stats",
    help: HELP,
    options: { data: { type: "string" }, csv: { type: "string" } },
  }, io);
  if (exit !== undefined) return exit;
  try {
    const source = await resolveData({ data: values.data });
    io.log(`statistics of ${source.description}`);
    const records: DataRecord[] = [];
    for (const split of await listSplits(source.root)) {
      const r = await scanSplit(source.root, split);
      records.push(...r.records);
      const bad = r.problems.filter((p) => p.severity === "error").length;
      if (bad > 0) io.log(`${split}: ${bad} errors, samples left out (run data:check for the list)`);
    }
    const summary = summaryColumns(records);
    io.log(["split", "images", "boxes", ...OBJECT_CLASSES].map((h) => h.padStart(10)).join(""));
    summary.split.forEach((_, i) => {
      io.log(["split", "images", "boxes", ...OBJECT_CLASSES].map((h) => String(summary[h][i]).padStart(10)).join(""));
    });
    const boxes = boxColumns(records);
    io.log("box size in pixels (min / median / max):");
    for (const split of summary.split) {
      for (const cls of OBJECT_CLASSES) {
        const pick = (col: string) =>
          (boxes[col] as number[]).filter((_, i) => boxes.split[i] === split && boxes.class[i] === cls).sort((a, b) =>
            a - b
          );
        const fmt = (v: number[]) => [0, 0.5, 1].map((q) => quantile(v, q).toFixed(0)).join(" / ");
        io.log(`  ${split} ${cls}: width ${fmt(pick("width"))}, height ${fmt(pick("height"))}`);
      }
    }
    if (values.csv) {
      const dfd = await (await import("../lib/util/danfo.ts")).loadDanfo();
      const frames = await dataStats(records);
      await Deno.mkdir(values.csv, { recursive: true });
      for (const [name, df] of Object.entries(frames)) await dfd.toCSV(df, { filePath: `${values.csv}/${name}.csv` });
      io.log(`wrote ${values.csv}/images.csv, boxes.csv, summary.csv`);
    }
    return 0;
  } catch (e) {
    io.error(`data:stats: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
