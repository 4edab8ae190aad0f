import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { SgdOptimizer } from "./optimizer.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);

Deno.test("SgdOptimizer: Nesterov momentum steps match the formula worked by hand", () => {
  const w = tf.variable(tf.tensor1d([1]));
  const opt = new SgdOptimizer([w], { momentum: 0.9, nesterov: true, weightDecay: 0, weightDecayOn: "kernels" });
  const g = tf.tensor1d([2]);
  opt.applyGradients([g], 0.1); // v = 2, step = 2 + 0.9*2 = 3.8, w = 1 - 0.38
  close(w.dataSync()[0], 0.62);
  opt.applyGradients([g], 0.1); // v = 3.8, step = 2 + 0.9*3.8 = 5.42, w = 0.62 - 0.542
  close(w.dataSync()[0], 0.078);
  assert.equal(opt.iterations, 2);
  tf.dispose([w, g]);
  opt.dispose();
});

Deno.test("SgdOptimizer: plain momentum and weight decay on kernels only", () => {
  const k = tf.variable(tf.tensor2d([[1]]));
  const b = tf.variable(tf.tensor1d([1]));
  const opt = new SgdOptimizer([k, b], { momentum: 0.9, nesterov: false, weightDecay: 0.5, weightDecayOn: "kernels" });
  assert.equal(opt.decays(0), true);
  assert.equal(opt.decays(1), false);
  const gk = tf.tensor2d([[2]]);
  const gb = tf.tensor1d([2]);
  opt.applyGradients([gk, gb], 0.1);
  close(k.dataSync()[0], 1 - 0.1 * 2.5); // g' = 2 + 0.5*1
  close(b.dataSync()[0], 1 - 0.1 * 2);
  opt.applyGradients([gk, gb], 0.1); // kernel: g' = 2 + 0.5*0.75 = 2.375, v = 0.9*2.5 + 2.375 = 4.625
  close(k.dataSync()[0], 0.75 - 0.4625);
  close(b.dataSync()[0], 0.8 - 0.1 * 3.8);
  tf.dispose([k, b, gk, gb]);
  opt.dispose();
});

Deno.test("SgdOptimizer: state save/restore continues the same trajectory", () => {
  const run = (restoreAfter: number | null) => {
    const w = tf.variable(tf.tensor2d([[1, -2], [3, 0.5]]));
    let opt = new SgdOptimizer([w], { momentum: 0.9, nesterov: true, weightDecay: 1e-2, weightDecayOn: "all" });
    for (let i = 0; i < 4; i++) {
      if (i === restoreAfter) {
        const state = opt.getState();
        opt.dispose();
        opt = new SgdOptimizer([w], { momentum: 0.9, nesterov: true, weightDecay: 1e-2, weightDecayOn: "all" });
        opt.setState(state);
      }
      const g = tf.tidy(() => w.mul(w)); // gradient depending on w, so a lost buffer shows
      opt.applyGradients([g], 0.05);
      g.dispose();
    }
    const out = Array.from(w.dataSync());
    assert.equal(opt.iterations, 4);
    w.dispose();
    opt.dispose();
    return out;
  };
  assert.deepEqual(run(2), run(null));
});

Deno.test("SgdOptimizer: bad state and gradients are rejected; no tensor leak", () => {
  const w = tf.variable(tf.tensor1d([1, 2]));
  const start = tf.memory().numTensors;
  new SgdOptimizer([w], { momentum: 0.9, nesterov: true, weightDecay: 0, weightDecayOn: "kernels" }).dispose();
  assert.equal(tf.memory().numTensors, start);
  const opt = new SgdOptimizer([w], { momentum: 0.9, nesterov: true, weightDecay: 0, weightDecayOn: "kernels" });
  assert.throws(() => opt.setState({ iterations: 1, buffers: [] }), /0 buffers/);
  assert.throws(
    () => opt.setState({ iterations: 1, buffers: [{ name: "x", shape: [3], data: new Float32Array(3) }] }),
    /shape \[3\]/,
  );
  assert.throws(() => opt.applyGradients([], 0.1), /0 gradients/);
  const g = tf.tensor1d([1, 1]);
  opt.applyGradients([g], 0.1);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) opt.applyGradients([g], 0.1);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([w, g]);
  opt.dispose();
});
