/**
 * `deno task evaluate <run-dir> [--data DIR] [--split val]`: evaluates a run's kept weights and writes
 * metrics.json, pr_<class>.json, the per-class table and the charts into the run folder.
 * @module
 */
import { parseArgs } from "node:util";
import { evaluateRun, writeRunReports } from "../lib/train/mod.ts";

const HELP = `usage: deno task evaluate <run-dir> [--data DIR] [--split val]

Evaluates the run's model/ weights (VOC AP per class, mAP, 11-point AP, COCO AP) on a split and writes
metrics.json, pr_<class>.json, table_per_class.{csv,md}, pr_curves.{svg,png} and training.{svg,png} there.

options:
  --data DIR     data folder (else config data.root, FACEMASK_DATA, data/aizoo-facemask, generated data)
  --split NAME   split folder to evaluate on (default: the config's validation split)
  -h, --help     this text`;

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { data: { type: "string" }, split: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals.length !== 1) {
    console.log(HELP);
    Deno.exit(values.help ? 0 : 2);
  }
  try {
    const runDir = positionals[0].replace(/\/+$/, "");
    const e = await evaluateRun(runDir, { data: values.data, split: values.split });
    const files = await writeRunReports(runDir);
    const ap = Object.entries(e.result.voc).map(([k, v]) => `${k} ${v.ap === null ? "n/a" : (v.ap * 100).toFixed(2)}`);
    console.log(`mAP ${e.result.map === null ? "n/a" : (e.result.map * 100).toFixed(2)}% (${ap.join(", ")})`);
    console.log(
      `${e.speed.images} images: eval ${e.speed.evalImgPerSec.toFixed(1)} img/s, forward ` +
        `${e.speed.forwardImgPerSec.toFixed(1)} img/s (eval/forward time ${e.speed.overheadRatio.toFixed(2)}x)`,
    );
    console.log(`wrote ${runDir}/metrics.json, pr_*.json, ${files.join(", ")}`);
  } catch (err) {
    console.error(`evaluate: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
