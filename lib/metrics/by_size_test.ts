import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { apBySize, bucketOf, normalisedInputSide, SIZE_DEFINITION, SIZE_EDGES, sizeBuckets } from "./by_size.ts";
import { operatingPoints } from "./operating.ts";
import type { ClassSpec, GroundTruthImage, ImageDetection } from "./types.ts";
import { vocCurve } from "./voc.ts";

const CLASSES: ClassSpec[] = [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }];
const det = (box: Box, score: number, label = 1): ImageDetection => ({ imageId: "a", box, label, score });
// Boxes already in input pixels, so the size is sqrt(w * h) of the box itself.
const sideOf = (_id: string, b: Box) => Math.sqrt((b[2] - b[0]) * (b[3] - b[1]));

// Class 1: A 10 px and G 15 px (<16), B 20 px (16-32), C 40 px (32-64, never found), D 100 px (64-128),
// E sqrt(150 * 140) = 144.9 px (>=128), F 10 px difficult. Class 2: one 40 px face, never found.
const GTS: GroundTruthImage[] = [{
  imageId: "a",
  boxes: [
    [0, 0, 10, 10], // A
    [100, 0, 120, 20], // B
    [200, 0, 240, 40], // C
    [0, 100, 100, 200], // D
    [150, 100, 300, 240], // E
    [200, 100, 210, 110], // F (difficult)
    [0, 50, 15, 65], // G
    [250, 50, 290, 90], // a face
  ],
  labels: [1, 1, 1, 1, 1, 1, 1, 2],
  difficult: [false, false, false, false, false, true, false, false],
}];
const DETS: ImageDetection[] = [
  det([0, 100, 100, 200], 0.95), // D: hit (64-128)
  det([250, 0, 270, 20], 0.9), // nothing there, own box 20 px: false positive in 16-32 only
  det([200, 100, 210, 110], 0.85), // on the difficult F: ignored everywhere
  det([0, 0, 10, 10], 0.8), // A: hit (<16)
  det([0, 100, 100, 200], 0.7), // duplicate on D, own box 100 px: false positive in 64-128
  det([100, 0, 120, 20], 0.6), // B: hit (16-32)
  det([0, 0, 200, 200], 0.4), // IoU 1/4 with D: false positive where its own 200 px box is, >=128
  det([150, 100, 300, 240], 0.3), // E: hit (>=128), below the display threshold
  det([0, 50, 17, 67], 0.25), // G: hit (IoU 225/289); its own 17 px box does not matter, it counts in <16
  det([0, 50, 15, 65], 0.2), // duplicate on G, own box 15 px: false positive in <16
  det([0, 50, 16, 66], 0.15), // duplicate on G, own box 16 px: G is ignored in 16-32 -> ignored everywhere
];

Deno.test("sizeBuckets / bucketOf / normalisedInputSide: names, half-open edges, input pixels", () => {
  assert.deepEqual(sizeBuckets().map((b) => b.name), ["<16", "16-32", "32-64", "64-128", ">=128"]);
  assert.deepEqual(sizeBuckets()[4], { name: ">=128", lo: 128, hi: Infinity });
  assert.deepEqual(sizeBuckets([]), [{ name: "all", lo: 0, hi: Infinity }]);
  assert.deepEqual([0, 15.999, 16, 31.9, 32, 64, 127.9, 128, 1e6].map((s) => bucketOf(s)), [0, 0, 1, 1, 2, 3, 3, 4, 4]);
  assert.throws(() => sizeBuckets([16, 16]), /increasing positive/);
  assert.throws(() => sizeBuckets([0, 16]), /increasing positive/);
  // 0.1 x 0.1 of the input is 32 x 24 px: sqrt(768).
  assert.ok(Math.abs(normalisedInputSide([0.2, 0.2, 0.3, 0.3]) - Math.sqrt(768)) < 1e-9);
  assert.equal(normalisedInputSide([0.5, 0.5, 0.5, 0.9]), 0);
  assert.deepEqual(SIZE_EDGES, [16, 32, 64, 128]);
});

Deno.test("apBySize: hand-worked AP, recall and counts per bucket", () => {
  const r = apBySize(GTS, DETS, { classes: CLASSES, sideOf });
  assert.equal(r.sizeDefinition, SIZE_DEFINITION);
  assert.equal(r.displayThreshold, 0.5);
  assert.deepEqual(r.buckets.map((b) => [b.name, b.lo, b.hi, b.numGt]), [
    ["<16", 0, 16, 2],
    ["16-32", 16, 32, 1],
    ["32-64", 32, 64, 2],
    ["64-128", 64, 128, 1],
    [">=128", 128, null, 1],
  ]);
  const fm = r.buckets.map((b) => b.perClass.face_mask);
  // <16: A (0.8) TP, G (0.25) TP, duplicate (0.2) FP -> AP 1; at 0.5 only A is shown -> recall 1/2.
  assert.deepEqual(fm[0], { numGt: 2, ap: 1, recall: 1 / 2 });
  // 16-32: the 0.9 false alarm, then B (0.6): AP 1/2, recall 1.
  assert.deepEqual(fm[1], { numGt: 1, ap: 1 / 2, recall: 1 });
  // 32-64: C never found.
  assert.deepEqual(fm[2], { numGt: 1, ap: 0, recall: 0 });
  // 64-128: D (0.95) then its duplicate: AP 1.
  assert.deepEqual(fm[3], { numGt: 1, ap: 1, recall: 1 });
  // >=128: the 200 px false alarm (0.4) before E (0.3): AP 1/2; E is below 0.5 -> recall 0.
  assert.deepEqual(fm[4], { numGt: 1, ap: 1 / 2, recall: 0 });
  // face: one box in 32-64, no detections; buckets without its ground truth have no AP.
  assert.deepEqual(r.buckets.map((b) => b.perClass.face), [
    { numGt: 0, ap: null, recall: null },
    { numGt: 0, ap: null, recall: null },
    { numGt: 1, ap: 0, recall: 0 },
    { numGt: 0, ap: null, recall: null },
    { numGt: 0, ap: null, recall: null },
  ]);
  // At 0.25 E and G's hit are shown too.
  const low = apBySize(GTS, DETS, { classes: CLASSES, sideOf, displayThreshold: 0.25 });
  assert.deepEqual(low.buckets.map((b) => b.perClass.face_mask.recall), [1, 1, 0, 1, 1]);
});

Deno.test("apBySize: one bucket over every size is the VOC curve; bucket hits add up to the overall hits", () => {
  const all = apBySize(GTS, DETS, { classes: CLASSES, sideOf, edges: [] });
  const voc = vocCurve(GTS, DETS, { classId: 1 });
  assert.equal(all.buckets.length, 1);
  assert.equal(all.buckets[0].perClass.face_mask.ap, voc.ap);
  const op = operatingPoints(GTS, DETS, { classes: CLASSES });
  assert.equal(all.buckets[0].perClass.face_mask.recall, op.perClass.face_mask.display.recall);
  const split = apBySize(GTS, DETS, { classes: CLASSES, sideOf });
  const hits = split.buckets.reduce((s, b) => s + (b.perClass.face_mask.recall ?? 0) * b.perClass.face_mask.numGt, 0);
  assert.equal(hits, op.perClass.face_mask.display.tp);
  assert.equal(split.buckets.reduce((s, b) => s + b.numGt, 0), voc.npos + 1);
  assert.throws(() => apBySize(GTS, DETS, { classes: CLASSES, sideOf, iouThreshold: NaN }), /iouThreshold/);
});
