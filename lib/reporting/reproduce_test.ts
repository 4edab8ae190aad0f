import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadConfig } from "../runs/config.ts";
import { Progress } from "../train/progress.ts";
import { runExperiment } from "../experiments/pipeline.ts";
import { reproduceTable2 } from "./reproduce.ts";
import { copy } from "../experiments/run_evaluation_testing.ts";
import { smallDetector } from "../experiments/testing.ts";

await tf.setBackend("cpu");

Deno.test("reproduceTable2: re-evaluates a finished Table 2 run, passes when it matches its record, names it when not", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const counts = { seed: 7, train: 8, val: 4 };
    const resolve = { env: null, defaultRoot: `${tmp}/none`, generatedRoot: `${tmp}/gen`, generatedCounts: counts };
    const tiny = await loadConfig(new URL("../../experiments/test/tiny.json", import.meta.url).pathname);
    const config = {
      ...tiny,
      name: "carry-1",
      experiment: "ablation",
      model: { ...tiny.model, branches: 1, priors: "carry" as const },
      train: { ...tiny.train, epochs: 1 },
    };
    const quiet = new Progress({ tty: false, write: () => {} });
    const run = await runExperiment(config, {
      resultsDir: `${tmp}/results`,
      runId: "carry-1-20260101-000000",
      resolve,
      buildDetector: smallDetector,
      progress: quiet,
    });
    await copy(`${tmp}/gen/val`, `${tmp}/evalonly/val`);
    const base = {
      ablationDir: `${tmp}/results/ablation`,
      outDir: `${tmp}/results/reproduce`,
      data: `${tmp}/gen`,
      evalData: `${tmp}/evalonly`,
      relativeTo: tmp,
      buildDetector: smallDetector,
      log: () => {},
    };
    const first = await reproduceTable2(base);
    assert.deepEqual(first.mismatches, []);
    assert.equal(first.runs.length, 1);
    assert.equal(first.runs[0].role, "table");
    assert.equal(first.runs[0].evaluations.length, 2);
    assert.equal(first.runs[0].evaluations[0].diffPoints, 0);
    // Nothing was recorded for the evaluation-only data: it is recorded now, and checked the next time.
    assert.equal(first.runs[0].evaluations[1].recorded, null);
    const table = await Deno.readTextFile(`${tmp}/results/reproduce/table2.csv`);
    assert.match(table, /^carry,1,1,/m);
    assert.match(table, /results\/ablation\/carry-1-20260101-000000/);
    const second = await reproduceTable2(base);
    assert.deepEqual(second.mismatches, []);
    assert.notEqual(second.runs[0].evaluations[1].recorded, null);
    // A record that the weights no longer give is a failure naming the run.
    const file = `${run.runDir}/metrics.json`;
    const m = JSON.parse(await Deno.readTextFile(file));
    await Deno.writeTextFile(file, JSON.stringify({ ...m, map: (m.map ?? 0) + 0.002 }));
    const third = await reproduceTable2(base);
    assert.equal(third.mismatches.length, 1);
    assert.match(third.mismatches[0], /results\/ablation\/carry-1-20260101-000000 on gen-val: mAP/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
