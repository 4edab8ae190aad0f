/**
 * `deno task reproduce [--data DIR]`: the README's main job. Runs the quick Table 2 ablation (4 configs, about
 * 10 minutes on 2 CPU cores), then writes the tables and charts; says which data it used (generated or real) in
 * its output and in every file.
 * @module
 */
import { parseArgs } from "node:util";
import { loadConfig, loadRunData, runGrid } from "../lib/train/mod.ts";

const HELP = `usage: deno task reproduce [--data DIR] [--results DIR]

The quick reproduction: trains experiments/quick/branches-{1,2,3,4}.json (the Table 2 ablation, shortened to fit
about 10 minutes on 2 CPU cores), then writes results/ablation/quick/table2.{csv,md}, results/ablation/quick/table2_chart.
{svg,png} and each run's tables and charts. Data: --data, else FACEMASK_DATA, else data/aizoo-facemask, else
generated synthetic data (then every output says GENERATED). For the paper's schedule: deno task ablation
--profile paper.`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
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
    const probe = await loadConfig(new URL("../experiments/quick/branches-1.json", import.meta.url).pathname);
    const data = await loadRunData(probe, { data: values.data, checksum: false });
    console.log(`reproduce: data = ${data.provenance.label.toUpperCase()}: ${data.provenance.description}`);
    const out = await runGrid("ablation", { profile: "quick", data: values.data, resultsDir: values.results! });
    console.log(
      `reproduce: done on ${out.dataLabel.toUpperCase()} data; table: ${out.files[1]}; runs: ${out.runDirs.join(", ")}`,
    );
  } catch (err) {
    console.error(`reproduce: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
