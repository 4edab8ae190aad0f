import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { bestPriorIou, priorCoverage, priorCoverageTable } from "./coverage.ts";
import { generatePriors, slicePriorConfig, SSDV2_PRIORS } from "./priors.ts";

const close = (a: number | null, b: number, tol = 1e-6) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `expected ${b}, got ${a}`);
const px = (x1: number, y1: number, x2: number, y2: number): Box => [x1 / 320, y1 / 240, x2 / 320, y2 / 240];

// The 10 px prior of map 1, cell (1, 1): centre (12, 12).
const SMALL = px(7, 7, 17, 17);
// The 192 px prior that `carry` puts on the stride-8 map at cell (14, 19): centre (156, 116). No prior of `own`
// k = 1 (10-24 px) comes close: the best is a 24 px prior inside it, IoU 24^2 / 192^2 = 1/64.
const BIG = px(60, 20, 252, 212);

Deno.test("bestPriorIou: a box equal to a prior has IoU 1; a prior inside a box has its area ratio", () => {
  const own1 = generatePriors(slicePriorConfig(SSDV2_PRIORS, 1, "own"));
  const [small, big] = bestPriorIou([SMALL, BIG], own1);
  close(small, 1);
  close(big, 1 / 64);
  close(bestPriorIou([BIG], generatePriors(slicePriorConfig(SSDV2_PRIORS, 1, "carry")))[0], 1);
  // own k = 4: the nearest 192 px prior (stride 64) is centred at (160, 96): [64, 256] x [0, 192] against
  // [60, 252] x [20, 212] -> 188 x 172 / (2 * 192^2 - 188 x 172).
  close(bestPriorIou([BIG], generatePriors(SSDV2_PRIORS))[0], (188 * 172) / (2 * 192 ** 2 - 188 * 172));
  assert.throws(() => bestPriorIou([[0.5, 0.5, 0.4, 0.6]], own1), /box 0 .* positive area/);
});

Deno.test("priorCoverage: share and mean best IoU; the threshold is inclusive", () => {
  const own1 = priorCoverage([SMALL, BIG], slicePriorConfig(SSDV2_PRIORS, 1, "own"));
  assert.equal(own1.total, 2);
  assert.equal(own1.covered, 1);
  assert.equal(own1.share, 0.5);
  close(own1.meanBestIou, (1 + 1 / 64) / 2);
  assert.equal(own1.iouThreshold, 0.45);
  assert.equal(own1.numPriors, 3600);
  assert.equal(priorCoverage([SMALL, BIG], slicePriorConfig(SSDV2_PRIORS, 1, "carry")).share, 1);
  // One 50 x 50 prior in a 100 x 100 input, centred; the box doubles it downwards: IoU exactly 1/2.
  const one = { inputSize: [100, 100] as [number, number], steps: [100], sizes: [[50]] };
  const box: Box = [0.25, 0.25, 0.75, 1.25];
  assert.equal(priorCoverage([box], one, { iouThreshold: 0.5 }).covered, 1);
  assert.equal(priorCoverage([box], one, { iouThreshold: 0.5000001 }).covered, 0);
  assert.deepEqual(priorCoverage([], one), {
    total: 0,
    covered: 0,
    share: null,
    meanBestIou: null,
    iouThreshold: 0.45,
    numPriors: 1,
  });
  assert.throws(() => priorCoverage([box], one, { iouThreshold: 2 }), /iouThreshold must be in \[0, 1\]/);
});

Deno.test("priorCoverageTable: k = 1..4 x own / carry; the readings differ below 4 branches only", () => {
  const rows = priorCoverageTable([SMALL, BIG]);
  assert.deepEqual(rows.map((r) => [r.branches, r.reading]), [
    [1, "own"],
    [1, "carry"],
    [2, "own"],
    [2, "carry"],
    [3, "own"],
    [3, "carry"],
    [4, "own"],
    [4, "carry"],
  ]);
  // own: 1/64, then 48^2 / 192^2 = 1/16 and 96^2 / 192^2 = 1/4 (priors inside the box), covered only at k = 4.
  assert.deepEqual(rows.filter((r) => r.reading === "own").map((r) => r.covered), [1, 1, 1, 2]);
  assert.deepEqual(rows.filter((r) => r.reading === "carry").map((r) => r.covered), [2, 2, 2, 2]);
  close(rows[2].meanBestIou, (1 + 1 / 16) / 2);
  close(rows[4].meanBestIou, (1 + 1 / 4) / 2);
  assert.deepEqual({ ...rows[6], reading: "carry" }, rows[7]);
  assert.deepEqual(priorCoverageTable([SMALL], { branches: [2], readings: ["carry"] }).length, 1);
  assert.throws(() => priorCoverageTable([SMALL], { branches: [5] }), /1\.\.4/);
});

Deno.test({
  name: "priorCoverageTable (real data): carry covers at least what own does; both agree at 4 branches",
  ignore: !Deno.env.get("FACEMASK_DATA"),
  fn: async () => {
    const { parseVocXml } = await import("../data/voc.ts");
    const dir = `${Deno.env.get("FACEMASK_DATA")}/val`;
    const boxes: Box[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".xml")) continue;
      const a = parseVocXml(await Deno.readTextFile(`${dir}/${e.name}`), { file: e.name });
      for (const o of a.objects) {
        const b: Box = [o.box[0] / a.width, o.box[1] / a.height, o.box[2] / a.width, o.box[3] / a.height];
        if (b[2] > b[0] && b[3] > b[1]) boxes.push(b);
      }
    }
    assert.ok(boxes.length > 1000, `only ${boxes.length} boxes`);
    const rows = priorCoverageTable(boxes);
    const at = (k: number, reading: string) => rows.find((r) => r.branches === k && r.reading === reading)!;
    for (let k = 1; k <= 4; k++) {
      assert.ok(at(k, "carry").covered >= at(k, "own").covered, `k = ${k}`);
      if (k > 1) assert.ok(at(k, "own").covered >= at(k - 1, "own").covered, `own k = ${k}`);
    }
    assert.equal(at(4, "own").covered, at(4, "carry").covered);
    // Large faces are common in AIZOO: own k = 1 (10-24 px priors) leaves many uncovered, carry far fewer.
    assert.ok(at(1, "carry").share! - at(1, "own").share! > 0.1, JSON.stringify([at(1, "own"), at(1, "carry")]));
  },
});
