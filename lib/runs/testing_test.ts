import assert from "node:assert/strict";
import { readRunConfig, validateConfig } from "./config.ts";
import { parseProvenance } from "./run.ts";
import { parseRunMetrics } from "./read.ts";
import { testConfig, testMetrics, testProvenance, testRun, writeTestRun } from "./testing.ts";

Deno.test("testing: the helpers' files pass the readers' checks, with the fields asked for", async () => {
  const config = testConfig({ model: { branches: 2 }, train: { epochs: 3 } });
  assert.equal(validateConfig(config).model.branches, 2);
  assert.equal(config.model.trunk, "ssdv2");
  const p = parseProvenance(testProvenance({ data: { label: "generated" }, end: null }));
  assert.deepEqual([p.data.label, p.data.valImages, p.end], ["generated", 930, null]);
  const m = parseRunMetrics(testMetrics(0.5, { weightsEpoch: 3 }));
  assert.deepEqual([m.map, m.voc.face_mask.ap, m.voc.face.ap, m.weightsEpoch], [0.5, 0.55, 0.45, 3]);
  const dir = await Deno.makeTempDir();
  try {
    await writeTestRun(`${dir}/r`, { config: { name: "r" }, log: ["1,1,0.01,1,0.5,0.5,10,1,,,"] });
    assert.equal((await readRunConfig(`${dir}/r`)).name, "r");
    assert.match(await Deno.readTextFile(`${dir}/r/train_log.csv`), /^epoch,steps,.*\n1,1,0\.01,.*\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("testRun: a listed run in memory with the config, metrics and provenance asked for", () => {
  const r = testRun({
    experiment: "ablation/quick",
    runId: "b2",
    config: { model: { branches: 2 } },
    metrics: testMetrics(0.3),
  });
  assert.deepEqual([r.relPath, r.dir, r.config.model.branches, r.metrics?.map], [
    "ablation/quick/b2",
    "/results/ablation/quick/b2",
    2,
    0.3,
  ]);
  assert.equal(r.provenance?.data.label, "real");
  assert.equal(testRun({ provenance: null }).provenance, null);
  assert.equal(testRun().metrics, null);
});
