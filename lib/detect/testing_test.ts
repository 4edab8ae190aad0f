import assert from "node:assert/strict";
import { QUAD_PRIORS } from "./testing.ts";

Deno.test("QUAD_PRIORS: the centre forms of the four quadrants of the unit square", () => {
  const corners = [[0, 0, 0.5, 0.5], [0.5, 0, 1, 0.5], [0, 0.5, 0.5, 1], [0.5, 0.5, 1, 1]];
  const expected = corners.flatMap(([x0, y0, x1, y1]) => [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]);
  assert.deepEqual(Array.from(QUAD_PRIORS), expected);
});
