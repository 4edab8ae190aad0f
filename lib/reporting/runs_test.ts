import assert from "node:assert/strict";
import { testMetrics, testProvenance, testRun } from "../runs/testing.ts";
import { pickRun, sharedSsdv2Experiment, SSDV2_RUN_EXPERIMENTS } from "./runs.ts";

Deno.test("pickRun prefers the listed experiment, then more epochs, then the latest id; skips generated data", () => {
  const run = (experiment: string, runId: string, epochs: number, label: "real" | "generated", metrics = true) =>
    testRun({
      experiment,
      runId,
      config: { model: { trunk: "ssdv2", branches: 4 }, train: { epochs } },
      metrics: metrics ? testMetrics(0.5) : null,
      provenance: testProvenance({ data: { label } }),
    });
  const runs = [
    run("ablation/quick", "b4-20260101-000000", 3, "real"),
    run("ablation", "b4-20260101-000000", 100, "real"),
    run("ablation", "b4-20260102-000000", 100, "real"),
    run("ablation", "b4-20260103-000000", 100, "real", false),
    run("ablation", "b4-20260104-000000", 100, "generated"),
    run("ablation", "b4-20250101-000000", 120, "real"),
  ];
  // Among evaluated real "ablation" runs, 120 epochs beats the later 100-epoch runs.
  assert.equal(pickRun(runs, { experiments: ["ablation", "ablation/quick"] })?.runId, "b4-20250101-000000");
  assert.equal(pickRun(runs.slice(0, 3), { experiments: ["ablation"] })?.runId, "b4-20260102-000000");
  assert.equal(pickRun(runs, { experiments: ["ablation/quick", "ablation"] })?.experiment, "ablation/quick");
  assert.equal(pickRun(runs, { generated: true, experiments: ["ablation"] })?.runId, "b4-20250101-000000");
  assert.equal(pickRun(runs.slice(4, 5), { generated: true })?.runId, "b4-20260104-000000");
  assert.equal(pickRun(runs, { branches: 2 }), null);
  assert.equal(pickRun(runs, { trunk: "slim" }), null);
  assert.equal(pickRun(runs.slice(3, 5)), null);
  // metrics.json's data label counts as much as the provenance's.
  const evaluatedOnGenerated = testRun({ metrics: testMetrics(0.5, { data: { label: "generated", images: 4 } }) });
  assert.equal(pickRun([evaluatedOnGenerated]), null);
});

Deno.test("sharedSsdv2Experiment: the short and paper backbone grids share the ablation's 4-branch run, quick does not", () => {
  assert.equal(sharedSsdv2Experiment("backbones"), "ablation");
  assert.equal(sharedSsdv2Experiment("backbones/short"), "ablation/short");
  assert.equal(sharedSsdv2Experiment("backbones/quick"), null);
  assert.equal(sharedSsdv2Experiment("ablation/short"), null);
  assert.deepEqual(SSDV2_RUN_EXPERIMENTS.slice(0, 2), ["ablation", "backbones"]);
});
