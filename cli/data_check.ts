/**
 * `deno task data:check [--data DIR]`: checks every split folder under the data root (decoding every image fully
 * unless `--quick`), lists every problem as `<severity> <file>: <problem>`, and exits 1 when there is any error.
 * @module
 */

import { type Io, parseCommandArgs } from "./command_args.ts";
import { formatProblem, listSplits, resolveData, scanSplit } from "../lib/data/mod.ts";
import type { DataProblem } from "../lib/data/mod.ts";

const HELP = `Usage: deno task data:check [--data DIR] [--splits train,val] [--quick]

Checks a data set in AIZOO's layout (<DIR>/<split>/<name>.jpg|png beside <name>.xml): every split folder under
DIR (or those named), every image (decoded by content) and every VOC file. Lists every problem as
"<severity> <file>: <problem>" and a summary per split; exits 1 when any error is found, 0 otherwise.

Errors: corrupt, truncated or non-image files; malformed XML; unknown class names; boxes with xmax <= xmin or
ymax <= ymin or lying wholly outside the image; an XML without its image or an image without its XML; an empty or
missing split folder; a <size> that disagrees with the decoded image. Warnings: stray files (ignored), a missing
<size>, or a <size> with the image's aspect ratio but another scale (boxes are rescaled). Boxes that only cross the
border are clipped silently.

Options:
  --data DIR       data root (default: FACEMASK_DATA, else data/aizoo-facemask, else generated data)
  --splits LIST    comma-separated split folders to check (default: every subfolder of DIR)
  --quick          read image headers only (faster; misses truncated image bodies)
  -h, --help       show this help
`;

export type { Io };

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[], io: Io = { log: console.log, error: console.error }): Promise<number> {
  const { values, exit } = parseCommandArgs(args, {
    name: "data:check",
    help: HELP,
    options: { data: { type: "string" }, splits: { type: "string" }, quick: { type: "boolean", default: false } },
  }, io);
  if (exit !== undefined) return exit;
  let source;
  try {
    source = await resolveData({ data: values.data });
  } catch (e) {
    io.error(`data:check: ${(e as Error).message}`);
    return 1;
  }
  io.log(`checking ${source.description}`);
  const splits = values.splits ? values.splits.split(",").map((s) => s.trim()).filter(Boolean) : await listSplits(
    source.root,
  );
  const problems: DataProblem[] = [];
  if (splits.length === 0) {
    problems.push({ file: source.root, problem: "no split folders (expected train/, val/, ...)", severity: "error" });
  }
  const lines: string[] = [];
  for (const split of splits) {
    const t0 = performance.now();
    const r = await scanSplit(source.root, split, { verify: !values.quick });
    for (const p of r.problems) io.log(formatProblem(p));
    problems.push(...r.problems);
    const errors = r.problems.filter((p) => p.severity === "error").length;
    const boxes = r.records.reduce((s, x) => s + x.boxes.length, 0);
    lines.push(
      `${split}: ${r.records.length} usable images, ${boxes} boxes, ${errors} errors, ` +
        `${r.problems.length - errors} warnings (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
  if (splits.length === 0) io.log(formatProblem(problems[0]));
  for (const l of lines) io.log(l);
  const errors = problems.filter((p) => p.severity === "error").length;
  io.log(`${errors} errors, ${problems.length - errors} warnings`);
  return errors > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
