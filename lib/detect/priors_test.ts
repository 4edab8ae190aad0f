import assert from "node:assert/strict";
import { featureMapSizes, generatePriors, numPriors, priorCounts, slicePriorConfig, SSDV2_PRIORS } from "./priors.ts";

function near(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

Deno.test("priors: SSDv2 maps, per-map counts and total at 240x320", () => {
  assert.deepEqual(featureMapSizes(SSDV2_PRIORS), [[30, 40], [15, 20], [8, 10], [4, 5]]);
  // 30*40*3, 15*20*2, 8*10*2, 4*5*3
  assert.deepEqual(priorCounts(SSDV2_PRIORS), [3600, 600, 160, 60]);
  assert.equal(numPriors(SSDV2_PRIORS), 4420);
  assert.equal(generatePriors(SSDV2_PRIORS).length, 4420 * 4);
});

Deno.test("priors: first and last prior of every feature map, worked out by hand", () => {
  const p = generatePriors(SSDV2_PRIORS);
  const at = (i: number) => p.subarray(i * 4, i * 4 + 4);
  // map 1, step 8: first cell centre (4/320, 4/240), size 10; last cell (i=29, j=39) centre (316/320, 236/240), size 24
  near(at(0), [4 / 320, 4 / 240, 10 / 320, 10 / 240]);
  near(at(1), [4 / 320, 4 / 240, 16 / 320, 16 / 240]);
  near(at(3599), [0.9875, 236 / 240, 0.075, 0.1]);
  // map 2, step 16: first (8/320, 8/240) size 32; last (i=14, j=19): (312/320, 232/240) size 48
  near(at(3600), [0.025, 8 / 240, 0.1, 32 / 240]);
  near(at(4199), [0.975, 232 / 240, 0.15, 0.2]);
  // map 3, step 32: first (16/320, 16/240) size 64; last (i=7, j=9): (304/320, 240/240) size 96
  near(at(4200), [0.05, 16 / 240, 0.2, 64 / 240]);
  near(at(4359), [0.95, 1, 0.3, 0.4]);
  // map 4, step 64: first (32/320, 32/240) size 128; last (i=3, j=4): (288/320, 224/240) size 256 (not clipped)
  near(at(4360), [0.1, 32 / 240, 0.4, 128 / 240]);
  near(at(4419), [0.9, 224 / 240, 0.8, 256 / 240]);
  // order within a map: row, then column, then size -> prior 3 is cell (0, 1) with the first size
  near(at(3), [12 / 320, 4 / 240, 10 / 320, 10 / 240]);
  near(at(120), [4 / 320, 12 / 240, 10 / 320, 10 / 240]);
});

Deno.test("priors: other input sizes, clipping and branch slicing", () => {
  const cfg = { inputSize: [64, 96] as [number, number], steps: [32], sizes: [[40]], clip: true };
  assert.deepEqual(featureMapSizes(cfg), [[2, 3]]);
  const p = generatePriors(cfg);
  // cell (0,0): centre (16/96, 16/64), size 40/96 x 40/64 -> nothing to clip
  near(p.subarray(0, 4), [16 / 96, 0.25, 40 / 96, 0.625]);
  const two = slicePriorConfig(SSDV2_PRIORS, 2);
  assert.deepEqual(priorCounts(two), [3600, 600]);
  assert.throws(() => slicePriorConfig(SSDV2_PRIORS, 5), /1\.\.4/);
  assert.throws(() => generatePriors({ inputSize: [240, 320], steps: [8], sizes: [] }), /same length/);
  assert.throws(() => generatePriors({ inputSize: [0, 320], steps: [8], sizes: [[1]] }), /inputSize/);
  const clipped = generatePriors({ inputSize: [64, 64], steps: [64], sizes: [[128]], clip: true });
  near(clipped, [0.5, 0.5, 1, 1]);
});
