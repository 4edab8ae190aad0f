/**
 * `deno task ablation [--profile quick|paper] [--data DIR]`: trains the four k-branch configs, then writes
 * `results/ablation/table2.{csv,md}` and the bar chart with the paper's values beside ours.
 * @module
 */
import { parseArgs } from "node:util";
import { runGrid } from "../lib/train/mod.ts";

const HELP = `usage: deno task ablation [--profile quick|paper] [--data DIR] [--results DIR]

Runs experiments/quick/branches-{1,2,3,4}.json (profile quick, the default: about 10 minutes on 2 CPU cores) or
experiments/ablation/branches-{1,2,3,4}.json (profile paper: the paper's 100-epoch schedule), then writes
results/ablation/table2.{csv,md} and results/ablation/table2_chart.{svg,png} (ours beside the paper's Table 2).`;

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
