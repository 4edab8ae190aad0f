/**
 * `deno task ablation [--profile quick|short|paper] [--data DIR]`: trains the four k-branch configs, then writes
 * `table2.{csv,md}` and the bar chart with the paper's values beside ours into `results/ablation/` (paper profile)
 * or `results/ablation/<profile>/`.
 * @module
 */
import { parseArgs } from "node:util";
import { runGrid } from "../lib/train/mod.ts";

const HELP = `usage: deno task ablation [--profile quick|short|paper] [--data DIR] [--results DIR]

Runs experiments/quick/branches-{1,2,3,4}.json (profile quick, the default: about 10 minutes on 2 CPU cores) or
experiments/short/branches-{1,2,3,4}.json (profile short: all data, 12 epochs, about an hour) or
experiments/ablation/branches-{1,2,3,4}.json (profile paper: the paper's 100-epoch schedule), then writes
table2.{csv,md} and table2_chart.{svg,png} (ours beside the paper's Table 2) into results/ablation/ (paper) or
results/ablation/<profile>/.`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      profile: { type: "string", default: "quick" },
      data: { type: "string" },
      results: { type: "string", default: "results" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  try {
    await runGrid("ablation", { profile: values.profile!, data: values.data, resultsDir: values.results! });
  } catch (err) {
    console.error(`ablation: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
