import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { addonBuilt } from "./addon.ts";
import { loadNative } from "./native.ts";
import { NATIVE_BACKEND } from "./kernels.ts";
import { nativeSgdKernel } from "./sgd.ts";
import { type SgdKernel, SgdOptimizer } from "../../train/optimizer.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: native SGD tests are skipped (run `deno task build:native`)");

const SHAPES = [[3, 3, 4, 8], [8], [1, 1, 8, 2], [2]];

/** Weights (seeded), run `steps` SGD steps of seeded gradients through `kernel` (or tfjs), read weights and buffers. */
function train(kernel: SgdKernel | null, nesterov: boolean, steps: number, scale: number): Float32Array[] {
  const vars = SHAPES.map((s, i) => {
    const init = tf.randomNormal(s, 0, 1, "float32", 10 + i);
    const v = tf.variable(init, true);
    init.dispose();
    return v;
  });
  const opt = new SgdOptimizer(vars, {
    momentum: 0.9,
    nesterov,
    weightDecay: 5e-4,
    weightDecayOn: "kernels",
    kernel,
  });
  for (let k = 0; k < steps; k++) {
    // Seeds from 1,000: tfjs takes a seed of 0 for none.
    const grads = SHAPES.map((s, i) => tf.randomNormal(s, 0, 3, "float32", 1000 + 100 * k + i));
    opt.applyGradients(grads, 0.01 * (k + 1), scale);
    tf.dispose(grads);
  }
  const out = [...vars.map((v) => v.dataSync() as Float32Array), ...opt.getState().buffers.map((b) => b.data)];
  opt.dispose();
  tf.dispose(vars);
  return out;
}

Deno.test({
  name: "native SGD: bit for bit the weights and momentum buffers of the tfjs update, with and without Nesterov",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend(NATIVE_BACKEND);
    const native = nativeSgdKernel(() => undefined)!;
    let calls = 0, taken = 0;
    const counting: SgdKernel = (w, b, g, p) => {
      calls++;
      const ok = native(w, b, g, p);
      if (ok) taken++;
      return ok;
    };
    const before = tf.memory().numTensors;
    for (const nesterov of [true, false]) {
      for (const scale of [1, 4]) {
        const want = train(null, nesterov, 3, scale);
        const got = train(counting, nesterov, 3, scale);
        got.forEach((a, i) => assert.deepEqual(a, want[i], `array ${i}, nesterov ${nesterov}, scale ${scale}`));
      }
    }
    assert.equal(calls, 4 * 3 * SHAPES.length);
    assert.equal(taken, calls, "every update ran natively");
    assert.equal(tf.memory().numTensors, before);
  },
});

Deno.test({
  name: "native SGD: declines where another tensor shares the weight's bytes, or off the native backend",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    const kernel = nativeSgdKernel(() => "1")!;
    await tf.setBackend(NATIVE_BACKEND);
    const w = tf.variable(tf.ones([4]));
    const b = tf.variable(tf.zeros([4]));
    const g = tf.ones([4]);
    const params = { scale: 1, lr: 0.1, momentum: 0.9, nesterov: false, decay: false, weightDecay: 0 };
    // A variable shares its bytes with the tensor it was made from or last assigned until that tensor goes.
    for (const v of [w, b]) {
      const own = tf.tidy(() => v.add(0));
      v.assign(own);
      own.dispose();
    }
    const alias = w.clone(); // shares w's bytes
    assert.equal(kernel(w, b, g, params), false);
    alias.dispose();
    assert.equal(kernel(w, b, g, params), true);
    assert.deepEqual([...w.dataSync()], [0.9, 0.9, 0.9, 0.9].map(Math.fround));
    await tf.setBackend("cpu");
    assert.equal(kernel(w, b, g, params), false);
    tf.dispose([w, b, g]);
  },
});

Deno.test({
  name: "native SGD: SSD_NATIVE_SGD=0 turns it off, a stray value is an error naming the variable",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    assert.equal(nativeSgdKernel(() => "0"), null);
    assert.notEqual(nativeSgdKernel(() => ""), null);
    assert.throws(() => nativeSgdKernel(() => "on"), /SSD_NATIVE_SGD must be 0 \(tfjs kernels\) or 1/);
  },
});
