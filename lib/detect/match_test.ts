import assert from "node:assert/strict";
import { QUAD_PRIORS } from "./testing.ts";
import type { Box } from "../types.ts";
import { matchBatch, matchPriors } from "./match.ts";
import { generatePriors, SSDV2_PRIORS } from "./priors.ts";

// Four priors tiling the unit square: corners p0 [0,0,.5,.5], p1 [.5,0,1,.5], p2 [0,.5,.5,1], p3 [.5,.5,1,1].
const PRIORS = QUAD_PRIORS;

function near(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

Deno.test("match: a box equal to a prior takes it with zero offsets; the rest is background", () => {
  const r = matchPriors([[0.5, 0.5, 1, 1]], [2], { priors: PRIORS });
  assert.deepEqual(Array.from(r.labels), [0, 0, 0, 2]);
  near(r.offsets, new Array(16).fill(0));
});

Deno.test("match: every prior at or above the threshold takes its best box; others stay background", () => {
  // box spanning p0 and p1 equally: IoU 0.125 / 0.375 = 1/3 with each
  const box: Box = [0.25, 0, 0.75, 0.5];
  const r = matchPriors([box], [1], { priors: PRIORS });
  // below 0.45, so only the forced best prior (the first on ties, p0) is positive
  assert.deepEqual(Array.from(r.labels), [1, 0, 0, 0]);
  // offsets against p0: centre (0.5, 0.25) -> tx = 0.25 / (0.1 * 0.5) = 5, ty = 0, size 0.5 -> tw = th = 0
  near(r.offsets.subarray(0, 4), [5, 0, 0, 0]);
  const low = matchPriors([box], [1], { priors: PRIORS, iouThreshold: 0.3 });
  assert.deepEqual(Array.from(low.labels), [1, 1, 0, 0]);
  near(low.offsets.subarray(4, 8), [-5, 0, 0, 0]);
});

Deno.test("match: two boxes competing for one prior: the later claim wins, the prior takes its offsets", () => {
  // A = [0,0,.45,.45]: IoU with p0 = 0.2025 / 0.25 = 0.81; B = [.1,.1,.5,.5]: IoU with p0 = 0.16 / 0.25 = 0.64.
  // Both have p0 as best prior. By IoU alone p0 would take A; the forced claim of B (later) overrides it.
  const r = matchPriors([[0, 0, 0.45, 0.45], [0.1, 0.1, 0.5, 0.5]], [1, 2], { priors: PRIORS });
  assert.deepEqual(Array.from(r.labels), [2, 0, 0, 0]);
  // B against p0: centre (0.3, 0.3), size 0.4 -> tx = ty = 0.05 / 0.05 = 1, tw = th = ln(0.8) / 0.2
  near(r.offsets.subarray(0, 4), [1, 1, Math.log(0.8) / 0.2, Math.log(0.8) / 0.2]);
  // With distinct best priors, each box keeps its own: A -> p0, C -> p3
  const s = matchPriors([[0, 0, 0.45, 0.45], [0.5, 0.5, 1, 1]], [1, 2], { priors: PRIORS });
  assert.deepEqual(Array.from(s.labels), [1, 0, 0, 2]);
});

Deno.test("match: a prior above the threshold for two boxes takes the one it overlaps most", () => {
  // p0 vs A=[0,0,.5,.45]: 0.225/0.25 = 0.9; vs B=[0,0,.45,.5]: 0.9 too (tie -> first, A); p2 vs B: 0 -> background
  // make B strictly better: B=[0,0,.5,.48] -> 0.96. B's best prior is p0, A's best prior is p0 too: B (later) wins.
  const r = matchPriors([[0, 0, 0.5, 0.45], [0, 0, 0.5, 0.48]], [1, 2], { priors: PRIORS, iouThreshold: 0.45 });
  assert.deepEqual(Array.from(r.labels), [2, 0, 0, 0]);
});

Deno.test("match: images without boxes are all background; batch layout is image after image", () => {
  const empty = matchPriors([], [], { priors: PRIORS });
  assert.deepEqual(Array.from(empty.labels), [0, 0, 0, 0]);
  assert.ok(empty.offsets.every((v) => v === 0));
  const batch = matchBatch([[], [[0.5, 0.5, 1, 1]]], [[], [1]], { priors: PRIORS });
  assert.deepEqual(Array.from(batch.labels), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(batch.offsets.length, 32);
});

Deno.test("match: bad input is refused with a clear message", () => {
  assert.throws(() => matchPriors([[0, 0, 1, 1]], [], { priors: PRIORS }), /1 boxes but 0 labels/);
  assert.throws(() => matchPriors([[0.5, 0, 0.5, 1]], [1], { priors: PRIORS }), /positive area/);
  assert.throws(() => matchPriors([[0, 0, 1, 1]], [0], { priors: PRIORS }), /class id >= 1/);
  assert.throws(() => matchBatch([[[0, 0, 1, 1]]], [], { priors: PRIORS }), /1 box lists but 0 label lists/);
});

Deno.test("match: on the SSDv2 priors a 20x20 px face at (100..120, 100..120) px takes four priors", () => {
  const priors = generatePriors(SSDV2_PRIORS);
  const box: Box = [100 / 320, 100 / 240, 120 / 320, 120 / 240];
  const r = matchPriors([box], [1], { priors });
  const pos: number[] = [];
  r.labels.forEach((l, i) => l && pos.push(i));
  // Step-8 cells have centres 4 + 8k px, so cells 13 and 14 sit at 108 and 116 in both axes. Per-axis overlaps with
  // [100, 120]: 16 px prior at 108 -> 16, at 116 -> 12; 24 px prior at 108 -> 20, at 116 -> 16.
  // cell (13,13): 16 px 256 / 400 = 0.64 yes; 24 px 400 / 576 = 0.694 yes          -> priors 1600, 1601
  // cell (13,14) and (14,13): 16 px 192 / 464 = 0.414 no; 24 px 320 / 656 = 0.488 yes -> priors 1604, 1721
  // cell (14,14): 16 px 144 / 512 = 0.28 no; 24 px 256 / 720 = 0.356 no
  // 10 px priors: at most 100 / 400 = 0.25; 32 px priors of the step-16 map: at most 400 / 1024 = 0.39.
  // Index of cell (i, j), size s on map 1: (i * 40 + j) * 3 + s.
  assert.deepEqual(pos, [1600, 1601, 1604, 1721]);
});
