import assert from "node:assert/strict";
import { boxArea, boxIou } from "./iou.ts";

Deno.test("boxArea: width times height, 0 for inverted boxes", () => {
  assert.equal(boxArea([1, 2, 4, 6]), 12);
  assert.equal(boxArea([4, 2, 1, 6]), 0);
});

Deno.test("boxIou: hand-worked overlaps", () => {
  // Two 2x2 squares offset by 1 in x: intersection 1x2 = 2, union 4 + 4 - 2 = 6.
  assert.equal(boxIou([0, 0, 2, 2], [1, 0, 3, 2]), 2 / 6);
  assert.equal(boxIou([0, 0, 1, 1], [0, 0, 1, 1]), 1);
  // Touching edges do not overlap.
  assert.equal(boxIou([0, 0, 1, 1], [1, 0, 2, 1]), 0);
  // Scale-free: the same boxes divided by 10 give the same IoU.
  assert.ok(Math.abs(boxIou([0, 0, 0.2, 0.2], [0.1, 0, 0.3, 0.2]) - 2 / 6) < 1e-12);
  // Contained box: 1 / 4.
  assert.equal(boxIou([0, 0, 2, 2], [0.5, 0.5, 1.5, 1.5]), 1 / 4);
});
