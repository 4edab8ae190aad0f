/**
 * `deno task backbones [--profile quick|paper] [--data DIR]`: trains the four trunks with the same priors, heads,
 * loss and schedule, then writes `results/backbones/backbones.{csv,md}` and its chart.
 * @module
 */
import { parseArgs } from "node:util";
import { runGrid } from "../lib/train/mod.ts";

const HELP = `usage: deno task backbones [--profile quick|paper] [--data DIR] [--results DIR]

Runs experiments/quick/backbone-{ssdv2,slim,rfb,aizoo}.json (profile quick, the default) or
experiments/backbones/{ssdv2,slim,rfb,aizoo}.json (profile paper), then writes backbones.{csv,md} into results/backbones/ (paper) or results/backbones/<profile>/
and backbones_chart.{svg,png}: mAP, parameters, MACs, inference FPS and training images/s per trunk.`;

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
    await runGrid("backbones", { profile: values.profile!, data: values.data, resultsDir: values.results! });
  } catch (err) {
    console.error(`backbones: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
