/**
 * `deno task backbones [--profile quick|short|paper] [options]`: trains the four trunks with the same priors, heads,
 * loss and schedule, then writes `results/backbones/backbones.{csv,md}` and its chart.
 * @module
 */
import { runGrid } from "../lib/experiments/grid.ts";
import { GRID_OUTPUTS } from "../lib/reporting/run_outputs.ts";
import { gridMain } from "./grid_command.ts";

const HELP = `usage: deno task backbones [--profile quick|short|paper] [options]

Runs experiments/quick/backbone-{ssdv2,slim,rfb,aizoo}.json (profile quick, the default: about 12 minutes on 2
CPU cores), experiments/short/backbone-{ssdv2,slim,rfb,aizoo}.json (profile short: all data, 12 epochs, about 20
minutes a trunk) or experiments/backbones/{ssdv2,slim,rfb,aizoo}.json (profile paper), then writes
backbones.{csv,md} into results/backbones/ (paper) or results/backbones/<profile>/ and backbones_chart.{svg,png}:
mAP, parameters, MACs, inference FPS and training images/s per trunk.

A config that already has a finished run folder under the results root (same config apart from its name,
experiment and description, same data checksum) is reused: the ssdv2 row of a profile is the 4-branch run of the
ablation of the same profile. An unfinished one is resumed from its last checkpoint; --fresh trains anew.

options:
  --profile NAME     quick (default), short or paper
  --data DIR         data folder (else FACEMASK_DATA, data/aizoo-facemask, generated data)
  --eval-data DIR    evaluation-only data with a val/ split (default FACEMASK_EVAL_DATA); every finished run is
                     evaluated on it once (never used to pick weights)
  --results DIR      results root (default results)
  --fresh            train every config anew (no reuse, no resume)
  --set KEY=VALUE    override a config field of every run, e.g. --set train.epochs=5 (repeatable; the value is
                     JSON when it parses, else text); part of each run's config.json and of what is reused
  --backend NAME     auto, tensorflow, native, wasm or cpu (= --set backend.name=NAME; default: the configs' auto,
                     which FACEMASK_BACKEND replaces)
  --print            train nothing; print one shell command per config, in grid order: \`deno task train ...\`
                     (no run yet), \`deno task train --resume RUN\` (unfinished) or \`# done: RUN\` (finished), to
                     run the grid on many machines (docs/slurm/ablation_array.sh with GRID=backbones)
  --table-only       train nothing; write the table from the run folders under the results root (e.g. copied
                     back from those machines)
  -h, --help         this text`;

if (import.meta.main) {
  Deno.exit(
    await gridMain(Deno.args, {
      name: "backbones",
      help: HELP,
      profiles: true,
      run: async (args) => {
        await runGrid("backbones", { ...args, outputs: GRID_OUTPUTS });
      },
    }),
  );
}
