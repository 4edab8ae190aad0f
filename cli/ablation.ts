/**
 * `deno task ablation [--profile quick|short|paper] [--data DIR]`: trains the four k-branch configs, then writes
 * `table2.{csv,md}` and the bar chart with the paper's values beside ours into `results/ablation/` (paper profile)
 * or `results/ablation/<profile>/`.
 * @module
 */
import { runGrid } from "../lib/train/mod.ts";
import { gridMain } from "./grid_command.ts";

const HELP = `usage: deno task ablation [--profile quick|short|paper] [--data DIR] [--results DIR] [--fresh]

Runs experiments/quick/branches-{1,2,3,4}.json (profile quick, the default: about 10 minutes on 2 CPU cores) or
experiments/short/branches-{1,2,3,4}.json (profile short: all data, 12 epochs, 80 minutes measured here) or
experiments/ablation/branches-{1,2,3,4}.json (profile paper: the paper's 100-epoch schedule), then writes
table2.{csv,md} and table2_chart.{svg,png} (ours beside the paper's Table 2) into results/ablation/ (paper) or
results/ablation/<profile>/.

A config that already has a finished run folder under the results root (same config apart from its name,
experiment and description, same data checksum) is reused, and an unfinished one is resumed from its last
checkpoint, so a long profile can be stopped and started again; --fresh trains every config anew.`;

if (import.meta.main) {
  Deno.exit(
    await gridMain(Deno.args, {
      name: "ablation",
      help: HELP,
      profiles: true,
      run: async (args) => {
        await runGrid("ablation", args);
      },
    }),
  );
}
