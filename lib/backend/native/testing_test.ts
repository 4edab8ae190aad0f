import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { onBackends, relErr } from "./testing.ts";

Deno.test("relErr: largest absolute difference over the largest reference magnitude", () => {
  // max |diff| = 0.5 (second entry), max |b| = 4: 0.125.
  assert.equal(relErr([1, 2.5, -4], [1, 2, -4]), 0.125);
  assert.equal(relErr([0, 0], [0, 0]), 0);
  assert.throws(() => relErr([1], [1, 2]), /lengths differ/);
});

Deno.test("onBackends: runs on each backend in turn and disposes what it made", async () => {
  await tf.setBackend("cpu");
  const before = tf.memory().numTensors;
  const out = await onBackends(["cpu"], () => [tf.tidy(() => tf.tensor1d([1, 2]).mul(3))]);
  assert.deepEqual(Array.from(out[0][0]), [3, 6]);
  assert.equal(tf.memory().numTensors, before);
});
