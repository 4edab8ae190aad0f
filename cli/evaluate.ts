/**
 * `deno task evaluate <run-dir> [--data DIR] [--split val] [--backend NAME]`: evaluates a run's kept weights on any
 * data; on the run's own data and val split it rewrites the run's metrics and reports, on anything else it writes
 * into `<run>/eval/<data-name>-<split>/` and leaves the run's own files as they were.
 * @module
 */
import type { BackendChoice } from "../lib/backend/mod.ts";
import { writeRunTables } from "../lib/reporting/run_outputs.ts";
import { evaluateRunOn } from "../lib/experiments/run_evaluation.ts";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";
import { backendProblem, useBackendForRun } from "./backend_option.ts";

const HELP = `usage: deno task evaluate <run-dir> [--data DIR] [--split val] [--backend NAME]

Evaluates the run's model/ weights (VOC AP per class, mAP, 11-point AP, COCO AP, operating points, confusion
matrix, AP by size) on a split. Only that split needs to exist (an evaluation-only set has no train/). On the run's
own data and val split it rewrites the run's metrics.json, pr_<class>.json and its tables and charts; on any other
data or split it writes metrics.json and pr_<class>.json into <run>/eval/<data-folder-name>-<split>/ and leaves the
run's own record as it was. Boxes marked difficult count neither way, as in VOC.

options:
  --data DIR       data folder (else config data.root, FACEMASK_DATA, data/aizoo-facemask, generated data)
  --split NAME     split folder to evaluate on (default: the config's validation split)
  --backend NAME   auto, tensorflow, native, wasm or cpu (FACEMASK_BACKEND=NAME for this command; the run's
                   config must say auto, as every grid config does)
  -h, --help       this text`;

const CONSOLE: Io = { log: (l) => console.log(l), error: (l) => console.error(l) };

/** Runs the command on `args`; returns the exit code (2: bad command line). */
export async function main(args: string[], io: Io = CONSOLE): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "evaluate",
    help: HELP,
    allowPositionals: true,
    options: { data: { type: "string" }, split: { type: "string" }, backend: { type: "string" } },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    return usageError(
      io,
      "evaluate",
      positionals.length === 0
        ? "give a run folder"
        : `give one run folder, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  if (values.backend !== undefined) {
    const problem = backendProblem(values.backend);
    if (problem) return usageError(io, "evaluate", problem);
  }
  try {
    const runDir = positionals[0].replace(/\/+$/, "");
    if (values.backend !== undefined) {
      const problem = await useBackendForRun(runDir, values.backend as BackendChoice);
      if (problem) return usageError(io, "evaluate", problem);
    }
    const outcome = await evaluateRunOn(runDir, { data: values.data, split: values.split });
    const e = outcome.evaluation;
    // The run's own tables and charts follow its own metrics.json; an evaluation on other data has its own folder.
    const files = outcome.own ? await writeRunTables(runDir) : [];
    const ap = Object.entries(e.result.voc).map(([k, v]) => `${k} ${v.ap === null ? "n/a" : (v.ap * 100).toFixed(2)}`);
    io.log(`mAP ${e.result.map === null ? "n/a" : (e.result.map * 100).toFixed(2)}% (${ap.join(", ")})`);
    io.log(
      `${e.speed.images} images: eval ${e.speed.evalImgPerSec.toFixed(1)} img/s, forward ` +
        `${e.speed.forwardImgPerSec.toFixed(1)} img/s (eval/forward time ${e.speed.overheadRatio.toFixed(2)}x)`,
    );
    io.log(`wrote ${outcome.dir}/metrics.json, pr_*.json${files.length ? `, ${files.join(", ")}` : ""}`);
    return 0;
  } catch (err) {
    io.error(`evaluate: ${(err as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
