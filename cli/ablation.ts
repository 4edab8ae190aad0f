/**
 * `deno task ablation [--profile quick|short|paper] [options]`: trains Table 2's seven configs (branches 1..3 in both
 * prior readings, and the 4-branch model they share), then writes `table2.{csv,md}` and the bar chart with the
 * paper's values beside ours into `results/ablation/` (paper profile) or `results/ablation/<profile>/`. `--print`
 * and `--table-only` split that into commands to run anywhere and a table step.
 * @module
 */
import { runGrid } from "../lib/experiments/grid.ts";
import { GRID_OUTPUTS } from "../lib/reporting/run_outputs.ts";
import { gridMain } from "./grid_command.ts";

const HELP = `usage: deno task ablation [--profile quick|short|paper] [options]

Runs Table 2's seven configs, carry-1, carry-2, carry-3, branches-4, own-3, own-2 and own-1 (k branches with the
dropped branches' prior sizes carried onto branch k, or with their own sizes only), from experiments/quick/ (profile
quick, the default: a 1,536-image subset for 3 epochs, about 2.5 minutes a run on 2 CPU cores with the native
backend), experiments/short/ (profile short: all data, 12 epochs) or experiments/ablation/ (profile paper: the
paper's 100-epoch schedule), then writes table2.{csv,md} and table2_chart.{svg,png} (ours beside the paper's
Table 2) into results/ablation/ (paper) or results/ablation/<profile>/.

A config that already has a finished run folder under the results root (same config apart from its name,
experiment and description, same data checksum) is reused, and an unfinished one is resumed from its last
checkpoint, so a long profile can be stopped and started again; --fresh trains every config anew.

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
                     run the grid on many machines (docs/slurm/ablation_array.sh runs line $SLURM_ARRAY_TASK_ID)
  --table-only       train nothing; write the table from the run folders under the results root (e.g. copied
                     back from those machines)
  -h, --help         this text`;

if (import.meta.main) {
  Deno.exit(
    await gridMain(Deno.args, {
      name: "ablation",
      help: HELP,
      profiles: true,
      run: async (args) => {
        await runGrid("ablation", { ...args, outputs: GRID_OUTPUTS });
      },
    }),
  );
}
