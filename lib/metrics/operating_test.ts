import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { confusionMatrix, operatingPoint, operatingPoints, operatingPointsFromCurve } from "./operating.ts";
import type { ClassSpec, GroundTruthImage, ImageDetection } from "./types.ts";
import { thinPrCurve, vocCurve } from "./voc.ts";

const CLASSES: ClassSpec[] = [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }];
const det = (imageId: string, box: Box, score: number, label = 1): ImageDetection => ({ imageId, box, label, score });
const gt = (imageId: string, boxes: Box[], labels: number[], difficult = boxes.map(() => false)): GroundTruthImage => ({
  imageId,
  boxes,
  labels,
  difficult,
});

// The hand-worked case of voc_test.ts: one class, a duplicate and a difficult box. Ranked without the ignored
// detection (0.7, on the difficult box): 0.9 TP, 0.8 FP, 0.6 TP, 0.5 FP, 0.4 TP over 3 boxes.
const GTS = [
  gt("a", [[0, 0, 10, 10], [20, 20, 30, 30]], [1, 1], [false, true]),
  gt("b", [[0, 0, 10, 10]], [1]),
  gt("c", [[50, 50, 60, 60]], [1]),
];
const DETS = [
  det("a", [0, 0, 10, 10], 0.9),
  det("a", [0, 0, 10, 10], 0.8),
  det("a", [20, 20, 30, 30], 0.7),
  det("b", [0, 0, 10, 10], 0.6),
  det("c", [0, 0, 10, 10], 0.5),
  det("c", [50, 50, 60, 60], 0.4),
];

Deno.test("operatingPoint: rates from counts, null where undefined", () => {
  assert.deepEqual(operatingPoint(0.5, 2, 2, 3), {
    threshold: 0.5,
    tp: 2,
    fp: 2,
    fn: 1,
    precision: 0.5,
    recall: 2 / 3,
    f1: 4 / 7,
  });
  assert.deepEqual(operatingPoint(0.9, 0, 0, 0), {
    threshold: 0.9,
    tp: 0,
    fp: 0,
    fn: 0,
    precision: null,
    recall: null,
    f1: null,
  });
});

Deno.test("operatingPointsFromCurve: display threshold and F1-best threshold, hand-worked", () => {
  const curve = vocCurve(GTS, DETS, { classId: 1 });
  const p = operatingPointsFromCurve(curve, 0.5);
  assert.equal(p.npos, 3);
  // score >= 0.5 keeps 0.9 TP, 0.8 FP, 0.6 TP, 0.5 FP (the detection at exactly 0.5 is kept).
  assert.deepEqual(p.display, operatingPoint(0.5, 2, 2, 3));
  assert.equal(p.display.f1, 4 / 7);
  // F1 by rank: 2/4, 2/5, 4/6, 4/7, 6/8 -> best at the last, threshold 0.4: P 3/5, R 1, F1 3/4.
  assert.deepEqual(p.best, { threshold: 0.4, tp: 3, fp: 2, fn: 0, precision: 3 / 5, recall: 1, f1: 3 / 4 });
  // 0.65 keeps 0.9 and 0.8 (the 0.7 on the difficult box counts neither way).
  assert.deepEqual(operatingPointsFromCurve(curve, 0.65).display, operatingPoint(0.65, 1, 1, 3));
  // Above every score nothing is shown: precision undefined, recall 0, F1 0.
  assert.deepEqual(operatingPointsFromCurve(curve, 0.95).display, {
    threshold: 0.95,
    tp: 0,
    fp: 0,
    fn: 3,
    precision: null,
    recall: 0,
    f1: 0,
  });
  assert.throws(() => operatingPointsFromCurve(thinPrCurve(curve)), /full P-R curve/);
  assert.throws(() => operatingPointsFromCurve(curve, NaN), /displayThreshold must be a number/);
});

Deno.test("operatingPointsFromCurve: a threshold never splits tied scores; equal F1 -> the higher threshold", () => {
  const one = [gt("a", [[0, 0, 10, 10]], [1])];
  const fp = det("a", [50, 50, 60, 60], 0.5);
  const tp = det("a", [0, 0, 10, 10], 0.5);
  // Tied FP and TP at 0.5: the only threshold is 0.5, keeping both: F1 2/3.
  const tied = operatingPointsFromCurve(vocCurve(one, [fp, tp], { classId: 1 }));
  assert.deepEqual(tied.best, operatingPoint(0.5, 1, 1, 1));
  // Two boxes; TP 0.9, FP 0.8, FP 0.7, TP 0.6: F1 2/3, 1/2, 2/5, 2/3 -> the tie goes to 0.9.
  const two = [gt("a", [[0, 0, 10, 10], [20, 0, 30, 10]], [1, 1])];
  const dets = [
    det("a", [0, 0, 10, 10], 0.9),
    det("a", [50, 50, 60, 60], 0.8),
    det("a", [70, 50, 80, 60], 0.7),
    det("a", [20, 0, 30, 10], 0.6),
  ];
  const r = operatingPointsFromCurve(vocCurve(two, dets, { classId: 1 }));
  assert.deepEqual(r.best, operatingPoint(0.9, 1, 0, 2));
  assert.equal(r.best?.f1, 2 / 3);
});

Deno.test("operatingPoints: per class; a class without ground truth or without hits has no best point", () => {
  const gts = [gt("a", [[0, 0, 10, 10]], [1])];
  const dets = [det("a", [0, 0, 10, 10], 0.8, 1), det("a", [0, 0, 10, 10], 0.7, 2)];
  const s = operatingPoints(gts, dets, { classes: CLASSES, displayThreshold: 0.75 });
  assert.equal(s.displayThreshold, 0.75);
  assert.equal(s.iouThreshold, 0.5);
  assert.deepEqual(s.perClass.face_mask.display, operatingPoint(0.75, 1, 0, 1));
  assert.deepEqual(s.perClass.face_mask.best, operatingPoint(0.8, 1, 0, 1));
  // face: no ground truth; its one detection (0.7) is below 0.75.
  assert.deepEqual(s.perClass.face, { npos: 0, display: operatingPoint(0.75, 0, 0, 0), best: null });
  const miss = operatingPoints(gts, [det("a", [50, 50, 60, 60], 0.9)], { classes: CLASSES });
  assert.equal(miss.perClass.face_mask.best, null);
  assert.deepEqual(miss.perClass.face_mask.display, operatingPoint(0.5, 0, 1, 1));
});

Deno.test("confusionMatrix: hand-counted pairs, misses, false alarms and a difficult box", () => {
  const gts = [
    // a: face_mask, face, face (missed at 0.5), face_mask (difficult)
    gt("a", [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10]], [1, 2, 2, 1], [
      false,
      false,
      false,
      true,
    ]),
    gt("b", [[0, 0, 10, 10]], [2]),
    gt("c", [], []),
  ];
  const dets = [
    det("a", [0, 0, 10, 10], 0.9, 1), // takes the face_mask: (face_mask, face_mask)
    det("a", [20, 0, 30, 10], 0.8, 1), // takes the face as face_mask: (face, face_mask)
    det("a", [0, 0, 10, 10], 0.7, 2), // its box is taken, nothing else overlaps: (background, face)
    det("a", [60, 0, 70, 10], 0.6, 2), // on the difficult box: ignored
    det("a", [80, 0, 90, 10], 0.55, 2), // nothing there: (background, face)
    det("a", [40, 0, 50, 10], 0.3, 1), // below 0.5: dropped, so that face is a miss (face, background)
    det("b", [1, 0, 11, 10], 0.5, 2), // IoU 9/11, score exactly 0.5 is kept: (face, face)
    det("b", [0, 0, 10, 10], 0.49, 1), // below 0.5
    det("c", [0, 0, 10, 10], 0.99, 1), // image without faces: (background, face_mask)
  ];
  const m = confusionMatrix(gts, dets, { classes: CLASSES });
  assert.deepEqual(m.labels, ["face_mask", "face", "background"]);
  assert.deepEqual(m.counts, [
    [1, 0, 0],
    [1, 1, 1],
    [1, 2, 0],
  ]);
  assert.equal(m.ignoredDetections, 1);
  assert.equal(m.displayThreshold, 0.5);
  // At 0.25 the 0.3 face_mask detection takes the missed face; the 0.49 one finds b's face taken.
  const low = confusionMatrix(gts, dets, { classes: CLASSES, displayThreshold: 0.25 });
  assert.deepEqual(low.counts, [
    [1, 0, 0],
    [2, 1, 0],
    [2, 2, 0],
  ]);
});

Deno.test("confusionMatrix: greedy by score, not by IoU; IoU must be strictly above the threshold", () => {
  const gts = [gt("a", [[0, 0, 10, 10]], [2])];
  // The better-placed face detection scores lower, so the face_mask one takes the box.
  const greedy = confusionMatrix(gts, [det("a", [0, 0, 10, 12], 0.6, 2), det("a", [0, 0, 10, 10.5], 0.9, 1)], {
    classes: CLASSES,
  });
  assert.deepEqual(greedy.counts, [[0, 0, 0], [1, 0, 0], [0, 1, 0]]);
  // IoU exactly 1/2: no match, so one false alarm and one miss.
  const half = confusionMatrix([gt("a", [[0, 0, 20, 10]], [2])], [det("a", [0, 0, 10, 10], 0.9, 2)], {
    classes: CLASSES,
  });
  assert.deepEqual(half.counts, [[0, 0, 0], [0, 0, 1], [0, 1, 0]]);
  assert.throws(() => confusionMatrix(gts, [det("a", [0, 0, 1, 1], 0.9, 7)], { classes: CLASSES }), /label 7/);
});
