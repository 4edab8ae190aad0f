/**
 * `deno task backbones [--profile quick|paper] [--data DIR]`: trains the four trunks with the same priors, heads,
 * loss and schedule, then writes `results/backbones/backbones.{csv,md}` and its chart.
 * @module
 */
import { runGrid } from "../lib/train/mod.ts";
import { gridMain } from "./grid_command.ts";

const HELP = `usage: deno task backbones [--profile quick|paper] [--data DIR] [--results DIR]

Runs experiments/quick/backbone-{ssdv2,slim,rfb,aizoo}.json (profile quick, the default) or
experiments/backbones/{ssdv2,slim,rfb,aizoo}.json (profile paper), then writes backbones.{csv,md} into results/backbones/ (paper) or results/backbones/<profile>/
and backbones_chart.{svg,png}: mAP, parameters, MACs, inference FPS and training images/s per trunk.`;

if (import.meta.main) {
  Deno.exit(
    await gridMain(Deno.args, {
      name: "backbones",
      help: HELP,
      profiles: true,
      run: async (args) => {
        await runGrid("backbones", args);
      },
    }),
  );
}
