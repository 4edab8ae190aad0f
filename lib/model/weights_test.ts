import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { modelWeights, setModelWeights } from "./weights.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

function tinyModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: 3, inputShape: [2] }));
  m.add(tf.layers.batchNormalization());
  return m;
}

Deno.test("modelWeights/setModelWeights: round trip into a fresh model; shape mismatch named", () => {
  const a = tinyModel();
  const b = tinyModel();
  const wa = modelWeights(a);
  // dense kernel, dense bias, BN gamma, beta, moving mean, moving variance
  assert.deepEqual(wa.map((w) => w.shape), [[2, 3], [3], [3], [3], [3], [3]]);
  setModelWeights(b, wa);
  const wb = modelWeights(b);
  wa.forEach((w, i) => assert.deepEqual(Array.from(wb[i].data), Array.from(w.data)));
  const bad = wa.map((w, i) => i === 0 ? { ...w, shape: [3, 2] } : w);
  assert.throws(() => setModelWeights(b, bad, { source: "x/model.json" }), /x\/model\.json: weight 0 .* \[3,2\]/);
  assert.throws(() => setModelWeights(b, wa.slice(1), { source: "y" }), /y: holds 5 weights, the model has 6/);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) setModelWeights(b, modelWeights(a));
  assert.equal(tf.memory().numTensors, before);
  a.dispose();
  b.dispose();
});
