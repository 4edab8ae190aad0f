/**
 * `deno task reproduce [--data DIR]`: the README's main job. Runs the quick Table 2 ablation (4 configs, about
 * 10 minutes on 2 CPU cores), then writes the tables and charts; says which data it used (generated or real) in
 * its output and in every file.
 * @module
 */
import { loadRunData, runGrid } from "../lib/train/mod.ts";
import { loadConfig } from "../lib/runs/mod.ts";
import { gridMain } from "./grid_command.ts";

const HELP = `usage: deno task reproduce [--data DIR] [--results DIR]

The quick reproduction: trains experiments/quick/branches-{1,2,3,4}.json (the Table 2 ablation, shortened to fit
about 10 minutes on 2 CPU cores), then writes results/ablation/quick/table2.{csv,md}, results/ablation/quick/table2_chart.
{svg,png} and each run's tables and charts. Data: --data, else FACEMASK_DATA, else data/aizoo-facemask, else
generated synthetic data (then every output says GENERATED). It always trains anew (--fresh is implied). For the
paper's schedule: deno task ablation --profile paper.`;

if (import.meta.main) {
  Deno.exit(
    await gridMain(Deno.args, {
      name: "reproduce",
      help: HELP,
      profiles: false,
      run: async ({ data, resultsDir }) => {
        const probe = await loadConfig(new URL("../experiments/quick/branches-1.json", import.meta.url).pathname);
        const source = await loadRunData(probe, { data, checksum: false });
        console.log(`reproduce: data = ${source.provenance.label.toUpperCase()}: ${source.provenance.description}`);
        // The main job always trains: reusing the committed runs would reproduce nothing.
        const out = await runGrid("ablation", { profile: "quick", data, resultsDir, fresh: true });
        console.log(
          `reproduce: done on ${out.dataLabel.toUpperCase()} data; table: ${out.files[1]}; runs: ${
            out.runDirs.join(", ")
          }`,
        );
      },
    }),
  );
}
