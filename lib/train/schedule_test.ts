import assert from "node:assert/strict";
import { learningRate } from "./schedule.ts";

const opts = { lr: 0.01, warmupEpochs: 5, decayEpochs: [50, 70], decayFactor: 0.1, lrFloor: 1e-4, stepsPerEpoch: 10 };
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

Deno.test("learningRate: linear warm-up from the floor reaches lr on the last warm-up step", () => {
  close(learningRate(0, opts), 1e-4 + 0.0099 / 50); // 2.98e-4
  close(learningRate(24, opts), 1e-4 + 0.0099 * 25 / 50); // half way: 5.05e-3
  close(learningRate(49, opts), 0.01);
});

Deno.test("learningRate: x0.1 at epochs 50 and 70, as in the public code", () => {
  close(learningRate(50, opts), 0.01);
  close(learningRate(499, opts), 0.01);
  close(learningRate(500, opts), 0.001);
  close(learningRate(699, opts), 0.001);
  close(learningRate(700, opts), 1e-4);
  close(learningRate(999, opts), 1e-4);
});

Deno.test("learningRate: never below the floor after warm-up", () => {
  const steep = { ...opts, decayFactor: 0.01 };
  close(learningRate(500, steep), 1e-4); // 0.01 * 0.01 = 1e-4
  close(learningRate(700, steep), 1e-4); // 1e-6 floored
});

Deno.test("learningRate: no warm-up starts at lr; bad step is rejected", () => {
  close(learningRate(0, { ...opts, warmupEpochs: 0 }), 0.01);
  assert.throws(() => learningRate(-1, opts), /step must be an integer/);
  assert.throws(() => learningRate(0, { ...opts, stepsPerEpoch: 0 }), /stepsPerEpoch/);
});
