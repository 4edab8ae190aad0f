/**
 * `deno task train <config.json> [--data DIR] [--resume RUN_DIR] [--results DIR]`: trains one config into
 * `results/<experiment>/<run-id>/`, evaluates it and writes the run-folder contract plus its tables and charts.
 * @module
 */
import { parseArgs } from "node:util";
import { NonFiniteLossError, runConfigFile, runExperiment, writeRunReports } from "../lib/train/mod.ts";

const HELP = `usage: deno task train <config.json> [options]
       deno task train --resume <run-dir> [options]

Trains the config (experiments/...json) into results/<experiment>/<run-id>/, then evaluates the kept weights on
the validation split and writes config.json, metrics.json, pr_<class>.json, model/, train_log.csv, train.log,
provenance.json, tables and charts.

options:
  --data DIR       data folder (else config data.root, FACEMASK_DATA, data/aizoo-facemask, generated data)
  --resume DIR     continue a killed run from its last checkpoint (its own config.json is used)
  --results DIR    results root (default results)
  -h, --help       this text`;

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      resume: { type: "string" },
      results: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || (positionals.length !== 1 && !values.resume)) {
    console.log(HELP);
    Deno.exit(values.help ? 0 : 2);
  }
  try {
    const options = { data: values.data, resultsDir: values.results };
    const outcome = values.resume
      ? await runExperiment(null, { ...options, resume: values.resume })
      : await runConfigFile(positionals[0], options);
    if (outcome.evaluation) {
      const files = await writeRunReports(outcome.runDir);
      console.log(`reports: ${files.join(", ")}`);
    }
    console.log(`run folder: ${outcome.runDir}`);
  } catch (err) {
    console.error(`train: ${(err as Error).message}`);
    Deno.exit(err instanceof NonFiniteLossError ? 3 : 1);
  }
}
