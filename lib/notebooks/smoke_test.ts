import assert from "node:assert/strict";
import { smokeRunConfig, trainSmokeRun } from "./smoke.ts";
import type { NotebookContext } from "./context.ts";

Deno.test("smokeRunConfig: tiny schedule over the defaults, model overrides, validated by lib/runs", () => {
  const c = smokeRunConfig({ name: "b2", model: { branches: 2 } });
  assert.equal(c.name, "b2");
  assert.equal(c.experiment, "smoke");
  assert.deepEqual(c.model, { trunk: "ssdv2", branches: 2, width: 16, priors: "own" });
  assert.equal(c.train.epochs, 2);
  assert.equal(c.train.batchSize, 8);
  assert.equal(c.train.microBatch, 4);
  assert.deepEqual(c.train.decayEpochs, []);
  // Untouched fields keep docs/design.md's defaults.
  assert.equal(c.train.momentum, 0.9);
  assert.equal(c.eval.nmsIou, 0.4);
  assert.equal(c.data.limitTrain, 0);
  const d = smokeRunConfig({ name: "x", epochs: 1, limitTrain: 8, model: { trunk: "slim" } });
  assert.equal(d.train.epochs, 1);
  assert.equal(d.data.limitTrain, 8);
  assert.equal(d.data.prefetch, 1);
  assert.throws(() => smokeRunConfig({ name: "x", model: { branches: 7 } }), /branches/);
});

Deno.test("trainSmokeRun refuses the full profile", async () => {
  const ctx = { profile: "full" } as NotebookContext;
  await assert.rejects(() => trainSmokeRun(ctx, "/nonexistent", { name: "x" }), /only for the smoke profile/);
});
