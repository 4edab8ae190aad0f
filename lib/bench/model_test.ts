import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend/mod.ts";
import { buildDetector } from "../model/mod.ts";
import { addonBuilt, loadAddon } from "../backend/native/addon.ts";
import { loadNative } from "../backend/native/native.ts";
import {
  benchInference,
  benchPredict,
  benchTraining,
  inferencePath,
  peakGflops,
  profileKernels,
  stepPhases,
  syntheticBatch,
  timeIt,
} from "./model.ts";

const ignore = !addonBuilt();

Deno.test("timeIt: warm-up calls are not timed, at least one and at most maxIters timed calls", () => {
  let calls = 0;
  const r = timeIt(() => calls++, { warmup: 3, minSeconds: 0, maxIters: 5 });
  assert.equal(r.iters, 1);
  assert.equal(calls, 4);
  calls = 0;
  const r2 = timeIt(() => calls++, { warmup: 0, minSeconds: 10, maxIters: 7 });
  assert.equal(r2.iters, 7);
  assert.equal(calls, 7);
});

Deno.test("timeIt: the median of the repeated windows, so one slow window does not move it", () => {
  let call = 0;
  // Five windows of one call each (minSeconds 0): 1, 1, 50, 1, 1 ms of busy work.
  const busy = (ms: number) => {
    const t = performance.now();
    while (performance.now() - t < ms) { /* spin */ }
  };
  const r = timeIt(() => busy(call++ === 3 ? 50 : 1), { warmup: 1, minSeconds: 0, repeats: 5 });
  assert.equal(r.iters, 5);
  assert.ok(r.seconds < 0.02, `median ${r.seconds}`);
  assert.ok(r.range[1] >= 0.05 && r.range[0] < 0.02, `range ${r.range}`);
  assert.throws(() => timeIt(() => {}, { repeats: 0 }), /repeats/);
});

Deno.test("syntheticBatch: seeded images in [-0.5, 0.5] with matched targets of the right shapes", async () => {
  await tf.setBackend("cpu");
  const d = buildDetector({ trunk: "ssdv2", branches: 1, inputSize: [64, 96] });
  const P = d.priors.length / 4;
  const a = syntheticBatch(d, { batch: 2, seed: 3 });
  const b = syntheticBatch(d, { batch: 2, seed: 3 });
  assert.deepEqual(a.x.shape, [2, 64, 96, 3]);
  assert.deepEqual(a.labels.shape, [2, P]);
  assert.deepEqual(a.offsets.shape, [2, P, 4]);
  assert.deepEqual(a.x.dataSync(), b.x.dataSync());
  assert.ok(a.x.max().dataSync()[0] <= 0.5 && a.x.min().dataSync()[0] >= -0.5);
  // Every image has at least one box, and every box claims at least its best prior.
  const labels = a.labels.arraySync();
  for (const row of labels) assert.ok(row.some((l) => l > 0));
  assert.throws(() => syntheticBatch(d, { batch: 0 }), /batch must be a positive integer/);
  tf.dispose([a.x, a.labels, a.offsets, b.x, b.labels, b.offsets]);
  d.model.dispose();
});

Deno.test({
  name: "benchTraining / benchInference / benchPredict / profileKernels / peakGflops run on native, leak no tensors",
  ignore,
  async fn() {
    await setupBackend({ backend: "wasm", log: () => {} });
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend("native");
    const d = buildDetector({ trunk: "ssdv2", branches: 2, inputSize: [64, 96] });
    const data = syntheticBatch(d, { batch: 2, seed: 1 });
    const optimizer = tf.train.momentum(1e-2, 0.9, true);
    const all = async () => {
      const train = benchTraining(d, data, { minSeconds: 0, warmup: 1, optimizer });
      const infer = benchInference(d, data.x, { minSeconds: 0, warmup: 1 });
      const kernels = await profileKernels(() => {
        tf.tidy(() => {
          d.model.predict(data.x);
        });
      });
      return { train, infer, kernels };
    };
    await all(); // the first round may create lasting tensors (layers' cached constants)
    const before = tf.memory().numTensors;
    const { train, infer, kernels } = await all();
    await all();
    assert.equal(tf.memory().numTensors, before);
    assert.ok(train > 0 && Number.isFinite(train));
    assert.ok(infer > 0 && Number.isFinite(infer));
    // Detection's path on native is the plan (SSD_NATIVE_PLAN=0 turns it off); model.predict's figure stays beside it.
    assert.equal(inferencePath(d), "plan");
    assert.ok(benchPredict(d, data.x, { minSeconds: 0, warmup: 0 }) > 0);
    Deno.env.set("SSD_NATIVE_PLAN", "0");
    try {
      assert.equal(inferencePath(d), "predict");
    } finally {
      Deno.env.delete("SSD_NATIVE_PLAN");
    }
    assert.equal(tf.memory().numTensors, before);
    assert.ok(kernels.some((k) => k.name === "SsdNativeCB"), "the fused CB kernel shows in the profile");
    const phases = stepPhases(d, data, { minSeconds: 0, warmup: 1, repeats: 3, optimizer });
    assert.equal(tf.memory().numTensors, before, "stepPhases leaves no tensor behind");
    for (const [k, v] of Object.entries(phases)) assert.ok(Number.isFinite(v), `${k}: ${v}`);
    assert.ok(phases.forward > 0 && phases.step > 0);
    const sum = phases.forward + phases.loss + phases.backward + phases.update;
    assert.ok(Math.abs(sum - phases.step) < 1e-6 * phases.step, `parts add up to the step: ${sum} vs ${phases.step}`);
    const peak = peakGflops({ addon: loadAddon(), n: 256, minSeconds: 0 });
    assert.ok(peak.gflops > 0 && /oneDNN sgemm 256/.test(peak.method));
    tf.dispose([data.x, data.labels, data.offsets]);
    optimizer.dispose();
    d.model.dispose();
  },
});

Deno.test("peakGflops without the addon times tf.matMul on the active backend", async () => {
  await tf.setBackend("cpu");
  const p = peakGflops({ n: 64, minSeconds: 0 });
  assert.match(p.method, /tf\.matMul 64\^3 on cpu/);
  assert.ok(p.gflops > 0);
});
