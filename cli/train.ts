/**
 * `deno task train <config.json> [--data DIR] [--set KEY=VALUE]... [--backend NAME] [--results DIR]` or
 * `deno task train --resume RUN_DIR`: trains one config into `results/<experiment>/<run-id>/`, evaluates it and
 * writes the run-folder contract plus its tables and charts.
 * @module
 */
import { type BackendChoice } from "../lib/backend/mod.ts";
import { applyOverrides, ConfigError, loadConfig, type RunConfig } from "../lib/runs/config.ts";
import { NonFiniteLossError } from "../lib/train/trainer.ts";
import { runExperiment } from "../lib/experiments/pipeline.ts";
import { writeRunTables } from "../lib/reporting/run_outputs.ts";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";
import { backendProblem, useBackendForRun } from "./backend_option.ts";

const HELP = `usage: deno task train <config.json> [options]
       deno task train --resume <run-dir> [--data DIR] [--backend NAME]

Trains the config (experiments/...json) into results/<experiment>/<run-id>/, then evaluates the kept weights on
the validation split and writes config.json, metrics.json, pr_<class>.json, model/, train_log.csv, train.log,
provenance.json, tables and charts.

options:
  --data DIR         data folder (else config data.root, FACEMASK_DATA, data/aizoo-facemask, generated data)
  --set KEY=VALUE    override a config field after the file is read, e.g. --set train.epochs=5 or
                     --set data.limitTrain=512 (repeatable; the value is JSON when it parses, else text, so
                     --set 'name="123"' for a string of digits); validated like the file, kept in config.json
  --backend NAME     auto, tensorflow, native, wasm or cpu: --set backend.name=NAME for a new run; with --resume,
                     FACEMASK_BACKEND=NAME for this session (the run's config must say auto). Default: the
                     config's backend.name, whose auto FACEMASK_BACKEND replaces
  --resume DIR       continue a killed run from its last checkpoint (its own config.json is used)
  --results DIR      results root (default results)
  -h, --help         this text

Progress: a bar redrawn in place on a terminal; elsewhere one line every FACEMASK_PROGRESS_SECONDS (default 30)
seconds, plus a summary line per epoch (the summaries also go to train.log).`;

const CONSOLE: Io = { log: (l) => console.log(l), error: (l) => console.error(l) };

/** Runs the command on `args`; returns the exit code (2: bad command line or --set, 3: the loss diverged). */
export async function main(args: string[], io: Io = CONSOLE): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "train",
    help: HELP,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      resume: { type: "string" },
      results: { type: "string" },
      set: { type: "string", multiple: true },
      backend: { type: "string" },
    },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const { values, positionals } = parsed;
  const set = values.set ?? [];
  if (values.resume !== undefined) {
    if (positionals.length > 0) {
      return usageError(
        io,
        "train",
        `--resume takes no config file (the run's config.json is used), got '${positionals[0]}'`,
      );
    }
    if (set.length > 0) {
      return usageError(
        io,
        "train",
        "--set cannot change a run being resumed (its config.json is kept); start a new run",
      );
    }
  } else if (positionals.length !== 1) {
    return usageError(
      io,
      "train",
      positionals.length === 0
        ? "give a config file (e.g. experiments/quick/branches-4.json) or --resume RUN_DIR"
        : `give one config file, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  if (values.backend !== undefined) {
    const problem = backendProblem(values.backend);
    if (problem) return usageError(io, "train", problem);
  }
  const backend = values.backend as BackendChoice | undefined;
  try {
    let config: RunConfig | null = null;
    if (values.resume !== undefined) {
      const runDir = values.resume.replace(/\/+$/, "");
      const problem = backend ? await useBackendForRun(runDir, backend) : null;
      if (problem) return usageError(io, "train", problem);
    } else {
      const path = positionals[0];
      const loaded = await loadConfig(path);
      try {
        config = applyOverrides(loaded, [...set, ...(backend ? [`backend.name=${backend}`] : [])], { source: path });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        io.error(`train: ${err.message}`);
        return 2;
      }
    }
    const options = { data: values.data, resultsDir: values.results };
    const outcome = values.resume !== undefined
      ? await runExperiment(null, { ...options, resume: values.resume })
      : await runExperiment(config, options);
    if (outcome.evaluation) {
      const files = await writeRunTables(outcome.runDir);
      io.log(`reports: ${files.join(", ")}`);
    }
    io.log(`run folder: ${outcome.runDir}`);
    return 0;
  } catch (err) {
    io.error(`train: ${(err as Error).message}`);
    return err instanceof NonFiniteLossError ? 3 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
