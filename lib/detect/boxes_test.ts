import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { centreToCorner, cornerToCentre, decodeBoxes, encodeBoxes, iou, iouMatrix } from "./boxes.ts";
import { generatePriors, SSDV2_PRIORS } from "./priors.ts";
import { Rng } from "../util/rng.ts";

function near(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

Deno.test("boxes: IoU matrix on hand-made boxes", () => {
  const a: Box[] = [[0, 0, 2, 2], [0, 0, 1, 1]];
  const b: Box[] = [[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]];
  // [0,0,2,2] vs [1,1,3,3]: inter 1, union 4 + 4 - 1 = 7; vs itself 1; disjoint 0
  // [0,0,1,1] vs [1,1,3,3]: touching corner -> 0; vs [0,0,2,2]: 1 / 4
  near(iouMatrix(a, b), [1 / 7, 1, 0, 0, 0.25, 0]);
  near([iou([0, 0, 1, 1], [0.5, 0, 1.5, 1])], [0.5 / 1.5]);
  assert.equal(iouMatrix([], b).length, 0);
});

Deno.test("boxes: corner <-> centre by hand", () => {
  near(cornerToCentre([[0.1, 0.2, 0.5, 0.8]]), [0.3, 0.5, 0.4, 0.6]);
  near(centreToCorner([[0.3, 0.5, 0.4, 0.6]]), [0.1, 0.2, 0.5, 0.8]);
  near(centreToCorner(new Float32Array([0.5, 0.5, 1, 1])), [0, 0, 1, 1]);
  assert.throws(() => cornerToCentre([1, 2, 3]), /not 4 x N/);
});

Deno.test("boxes: encode against a prior with variances 0.1 / 0.2, by hand", () => {
  const prior = new Float32Array([0.5, 0.5, 0.2, 0.2, 0.5, 0.5, 0.2, 0.2]);
  // box 1: centre (0.55, 0.5), size 0.2 x 0.2 -> tx = 0.05 / (0.1 * 0.2) = 2.5, others 0
  // box 2: centre (0.5, 0.45), size 0.4 x 0.1 -> ty = -2.5, tw = ln 2 / 0.2, th = ln 0.5 / 0.2
  const enc = encodeBoxes([[0.45, 0.4, 0.65, 0.6], [0.3, 0.4, 0.7, 0.5]], prior);
  near(enc, [2.5, 0, 0, 0, 0, -2.5, Math.log(2) / 0.2, Math.log(0.5) / 0.2], 1e-5);
  near(decodeBoxes(enc, prior), [0.45, 0.4, 0.65, 0.6, 0.3, 0.4, 0.7, 0.5], 1e-6);
  // other variances: tx = 0.05 / (0.2 * 0.2)
  near(encodeBoxes([[0.45, 0.4, 0.65, 0.6]], prior.subarray(0, 4), { variances: [0.2, 0.5] }), [1.25, 0, 0, 0], 1e-5);
  assert.throws(() => encodeBoxes([[0.5, 0.5, 0.5, 0.6]], prior.subarray(0, 4)), /no area/);
  assert.throws(() => encodeBoxes([[0, 0, 1, 1]], prior), /1 boxes but priors has 2/);
});

Deno.test("boxes: decode(encode(b)) == b within 1e-5 on random boxes against the SSDv2 priors", () => {
  const priors = generatePriors(SSDV2_PRIORS);
  const rng = new Rng(3);
  const n = priors.length / 4;
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const x1 = rng.uniform(0, 0.9), y1 = rng.uniform(0, 0.9);
    boxes.set([x1, y1, x1 + rng.uniform(0.005, 0.1), y1 + rng.uniform(0.005, 0.1)], i * 4);
  }
  const back = decodeBoxes(encodeBoxes(boxes, priors), priors);
  let worst = 0;
  for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i] - boxes[i]));
  assert.ok(worst < 1e-5, `worst round-trip error ${worst}`);
});
