import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { copy } from "./run_evaluation_testing.ts";
import { loadConfig } from "../runs/config.ts";
import { Progress } from "../train/progress.ts";
import { runExperiment } from "./pipeline.ts";
import { dataNameOf, evaluateRunOn } from "./run_evaluation.ts";
import { generatedAt, smallDetector } from "./testing.ts";

await tf.setBackend("cpu");

Deno.test("dataNameOf: the folder's last component, safe for a folder name; generated data is 'generated'", () => {
  assert.equal(dataNameOf("/x/aizoo-val1497/", false), "aizoo-val1497");
  assert.equal(dataNameOf("/x/my data", false), "my_data");
  assert.equal(dataNameOf("/x/y", true), "generated");
});

Deno.test("evaluateRunOn: other data goes to <run>/eval/<name>-<split>/ and leaves the run's record; its own data (at any path) rewrites it", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const counts = { seed: 7, train: 8, val: 4 };
    const resolveAt = (root: string) => generatedAt(root, counts);
    const config = await loadConfig(new URL("../../experiments/test/tiny.json", import.meta.url).pathname);
    const quiet = new Progress({ tty: false, write: () => {} });
    const run = await runExperiment({ ...config, train: { ...config.train, epochs: 1 } }, {
      resultsDir: `${tmp}/results`,
      runId: "tiny",
      resolve: resolveAt(`${tmp}/gen`),
      buildDetector: smallDetector,
      progress: quiet,
    });
    const record = await Deno.readTextFile(`${run.runDir}/metrics.json`);
    // An evaluation-only set: a val split and no train split.
    await copy(`${tmp}/gen/val`, `${tmp}/evalonly/val`);
    const other = await evaluateRunOn(run.runDir, { data: `${tmp}/evalonly`, buildDetector: smallDetector });
    assert.equal(other.own, false);
    assert.equal(other.dir, `${run.runDir}/eval/evalonly-val`);
    assert.equal(await Deno.readTextFile(`${run.runDir}/metrics.json`), record, "the run's own record is untouched");
    const written = JSON.parse(await Deno.readTextFile(`${other.dir}/metrics.json`));
    assert.equal(written.map, other.evaluation.result.map);
    assert.equal(written.split, "val");
    // The same images as the run's val split, so the same mAP as its record.
    assert.equal(written.map, JSON.parse(record).map);
    // Its own data copied to another path (a clone elsewhere) is recognised by checksum.
    await copy(`${tmp}/gen`, `${tmp}/moved`);
    const own = await evaluateRunOn(run.runDir, { data: `${tmp}/moved`, buildDetector: smallDetector, write: false });
    assert.equal(own.own, true);
    assert.equal(own.dir, run.runDir);
    await assert.rejects(
      () => evaluateRunOn(run.runDir, { data: `${tmp}/evalonly`, split: "test", buildDetector: smallDetector }),
      /evalonly\/test/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
