/**
 * `deno task reproduce`: the README's main job. Re-evaluates the committed Table 2 models (both readings of the
 * ablation) on the data it finds and on the paper-split evaluation set when one is given, checks every mAP against
 * the one recorded in its run folder, and writes `results/reproduce/`. It trains nothing unless `--train` says so.
 * @module
 */
import { parseCommandArgs } from "./command_args.ts";
import { GENERATED_DEFAULTS, resolveData } from "../lib/data/dataset.ts";
import { resolveConfig } from "../lib/runs/config.ts";
import { reproduceTable2 } from "../lib/reporting/reproduce.ts";
import { GRID_OUTPUTS } from "../lib/reporting/run_outputs.ts";
import { evaluateRunOn } from "../lib/experiments/run_evaluation.ts";
import { runExperiment } from "../lib/experiments/pipeline.ts";
import { runGrid } from "../lib/experiments/grid.ts";

const REPO = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

const HELP = `usage: deno task reproduce [--data DIR] [--eval-data DIR] [--results DIR] [--train quick|short|paper]

Without --train: evaluates every finished Table 2 run in <results>/ablation/ (both readings, and the older
val-selected runs, labelled as such) on the val split of the data (--data, else FACEMASK_DATA, else
data/aizoo-facemask) and of the evaluation-only set (--eval-data, else FACEMASK_EVAL_DATA; e.g.
aizoo-val1497, 1,496 of the paper's 1,839 test images), checks each mAP against the one recorded in the run
folder (fails, naming the run, on a difference above 0.1 point), and writes <results>/reproduce/: table2.{csv,md},
table2_chart.{svg,png}, one P-R chart per run and reproduce.json. Trains nothing.

Without real data it says so, then runs a pipeline check on GENERATED data (a few training steps, evaluation, the
same reproducibility check), labelled GENERATED everywhere.

options:
  --data DIR          training/validation data (AIZOO layout: DIR/train, DIR/val, images beside VOC XML)
  --eval-data DIR     evaluation-only data with a val/ split (default FACEMASK_EVAL_DATA)
  --results DIR       results folder (default results)
  --train PROFILE     retrain Table 2 on a profile (quick, short or paper), as deno task ablation does
  -h, --help          this text`;

async function main(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "reproduce",
    help: HELP,
    options: {
      data: { type: "string" },
      "eval-data": { type: "string" },
      results: { type: "string", default: "results" },
      train: { type: "string" },
    },
  }, { log: console.log, error: console.error });
  if (parsed.exit !== undefined) return parsed.exit;
  const v = parsed.values;
  const resultsDir = (v.results as string).replace(/\/+$/, "");
  const evalData = (v["eval-data"] as string | undefined) ?? (Deno.env.get("FACEMASK_EVAL_DATA") || undefined);
  const started = performance.now();
  const source = await resolveData({ data: v.data as string | undefined });
  if (source.generated) {
    console.log("reproduce: Table 2 needs the AIZOO face-mask data, which was not found.");
    console.log("reproduce: point at it with --data DIR or FACEMASK_DATA=DIR (DIR/train and DIR/val, VOC XML).");
    console.log(`reproduce: running the pipeline check on GENERATED data instead: ${source.description}`);
    return await pipelineCheck(source.root, resultsDir);
  }
  console.log(`reproduce: data = REAL: ${source.description}`);
  if (evalData) console.log(`reproduce: evaluation-only data: ${evalData}`);
  if (v.train) {
    const out = await runGrid("ablation", {
      profile: v.train as string,
      data: source.root,
      evalData,
      resultsDir,
      fresh: v.train === "quick",
      outputs: GRID_OUTPUTS,
    });
    console.log(`reproduce: trained ${out.runDirs.length} runs; table: ${out.files[1]}`);
    return 0;
  }
  const outcome = await reproduceTable2({
    ablationDir: `${resultsDir}/ablation`,
    outDir: `${resultsDir}/reproduce`,
    data: source.root,
    evalData,
    relativeTo: REPO,
  });
  const table = outcome.runs.filter((r) => r.role === "table").length;
  console.log(
    `reproduce: ${outcome.runs.length} run(s) evaluated (${table} Table 2 row run(s), ` +
      `${outcome.runs.length - table} val-selected), ${outcome.unfinished.length} unfinished listed, in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const u of outcome.unfinished) {
    console.log(`reproduce: unfinished: ${u.run} (epoch ${u.epochs}/${u.totalEpochs})`);
  }
  console.log(`reproduce: wrote ${outcome.files.join(", ")}`);
  if (outcome.mismatches.length > 0) {
    for (const m of outcome.mismatches) console.error(`reproduce: MISMATCH ${m}`);
    return 1;
  }
  if (outcome.runs.length === 0) {
    console.error(`reproduce: no finished Table 2 run in ${resultsDir}/ablation to evaluate`);
    return 1;
  }
  console.log("reproduce: every mAP equals the recorded one within 0.1 point");
  return 0;
}

/** Trains a few steps on generated data, evaluates, and checks that a second evaluation gives the recorded mAP. */
async function pipelineCheck(root: string, resultsDir: string): Promise<number> {
  const config = resolveConfig({
    name: "pipeline-check",
    experiment: "reproduce/GENERATED",
    description: "GENERATED data: a pipeline check, not a result (a few steps of the 4-branch SSDv2)",
    seed: 1,
    data: { root, generatedTrain: GENERATED_DEFAULTS.train, generatedVal: GENERATED_DEFAULTS.val },
    train: { epochs: 2, batchSize: 8, microBatch: 8, warmupEpochs: 0, decayEpochs: [], stepsPerEpoch: 8 },
    eval: { everyEpochs: 0, batchSize: 16 },
  });
  const run = await runExperiment(config, { resultsDir });
  const recorded = run.evaluation?.result.map ?? null;
  const again = await evaluateRunOn(run.runDir, { write: false });
  const now = again.evaluation.result.map;
  const fmt = (x: number | null) => (x === null ? "n/a" : (x * 100).toFixed(2));
  console.log(`reproduce: GENERATED pipeline check ${run.runDir}: mAP ${fmt(recorded)} at training, ${fmt(now)} again`);
  if (recorded === null || now === null || Math.abs(recorded - now) * 100 > 0.1) {
    console.error("reproduce: the pipeline check's second evaluation differs from the first");
    return 1;
  }
  console.log("reproduce: GENERATED pipeline check passed (these numbers say nothing about real faces)");
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`reproduce: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
