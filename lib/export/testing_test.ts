import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildDetector } from "../model/detector.ts";
import { maxAbsDiff, randomizeNormalization, uniformArray } from "./testing.ts";

await tf.setBackend("cpu");

Deno.test("testing: randomizeNormalization replaces BN parameters and biases, keeps kernels, leaks nothing", () => {
  const d = buildDetector({ trunk: "rfb", branches: 1, inputSize: [32, 32] });
  try {
    const before = new Map(d.model.weights.map((w) => [w.originalName, w.read().dataSync().slice()]));
    const tensors = tf.memory().numTensors;
    const n = randomizeNormalization(d.model, 1);
    assert.equal(tf.memory().numTensors, tensors);
    let kernels = 0;
    let changed = 0;
    for (const w of d.model.weights) {
      const now = w.read().dataSync();
      const was = before.get(w.originalName)!;
      if (/kernel$/.test(w.originalName)) {
        kernels++;
        assert.equal(maxAbsDiff(now, was), 0, w.originalName);
      } else {
        changed++;
        assert.ok(maxAbsDiff(now, was) > 0, w.originalName);
        if (/moving_variance$/.test(w.originalName)) assert.ok(now.every((v) => v >= 0.3 && v < 2));
      }
    }
    assert.ok(kernels > 0);
    assert.equal(n, changed);
  } finally {
    d.model.dispose();
  }
});

Deno.test("testing: uniformArray is seeded and in range; maxAbsDiff finds the largest gap and NaN", () => {
  const a = uniformArray(1000, 4);
  assert.deepEqual(a, uniformArray(1000, 4));
  assert.ok(a.every((v) => v >= -0.5 && v < 0.5));
  assert.equal(maxAbsDiff([1, 2, 3], [1, 2.5, 2]), 1);
  assert.ok(Number.isNaN(maxAbsDiff([NaN, 0], [0, 5])));
  assert.throws(() => maxAbsDiff([1], [1, 2]), /lengths differ/);
});
