import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { boxArea, boxIou } from "./iou.ts";
import { COCO_IOU_THRESHOLDS, COCO_RECALL_POINTS, cocoClassTable, cocoScores } from "./coco.ts";
import type { GroundTruthImage, ImageDetection } from "./types.ts";

const close = (a: number | null, b: number, tol = 1e-12) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `expected ${b}, got ${a}`);
const det = (imageId: string, box: Box, score: number, label = 1): ImageDetection => ({ imageId, box, label, score });
const pixelArea = (_id: string, b: Box) => boxArea(b);

// One image, pixel boxes: two small faces (10x10 = 100 px^2) and one large (120x120 = 14,400 px^2).
const GTS: GroundTruthImage[] = [{
  imageId: "a",
  boxes: [[0, 0, 10, 10], [100, 100, 110, 110], [200, 200, 320, 320]],
  labels: [1, 1, 1],
  difficult: [false, false, false],
}];
// d1 equals the first box (IoU 1); d2 is the second box shifted by 1.5: IoU 8.5 / 11.5 = 0.739, a hit at the
// thresholds 0.50..0.70 (5 of them) and a miss at 0.75..0.95.
const DETS = [det("a", [0, 0, 10, 10], 0.9), det("a", [101.5, 100, 111.5, 110], 0.8)];

Deno.test("COCO constants: thresholds and recall points", () => {
  assert.equal(COCO_IOU_THRESHOLDS.length, 10);
  close(COCO_IOU_THRESHOLDS[0], 0.5);
  close(COCO_IOU_THRESHOLDS[5], 0.75);
  assert.equal(COCO_IOU_THRESHOLDS[9], 0.95);
  assert.equal(COCO_RECALL_POINTS.length, 101);
  assert.equal(COCO_RECALL_POINTS[100], 1);
  close(boxIou(DETS[1].box, GTS[0].boxes[1]), 8.5 / 11.5);
});

Deno.test("cocoScores: hand-worked AP over thresholds and sizes", () => {
  const s = cocoScores(GTS, DETS, { classIds: [1], areaOf: pixelArea });
  // Thresholds 0.50..0.70: TP TP of 3 -> precision 1 up to recall 2/3: recall points 0..0.66 = 67 of 101.
  close(s.ap50, 67 / 101);
  // Thresholds 0.75..0.95: TP FP -> precision 1 up to recall 1/3: points 0..0.33 = 34 of 101.
  close(s.ap75, 34 / 101);
  close(s.ap, (5 * 67 + 5 * 34) / (10 * 101));
  // Small: only the two small faces count. 0.50..0.70: recall 1 with precision 1 -> 101/101;
  // 0.75..0.95: TP FP, precision 1 up to recall 1/2 -> points 0..0.50 = 51.
  close(s.small, (5 * 101 + 5 * 51) / (10 * 101));
  assert.equal(s.medium, null);
  // Large: one face, no detection of that size (the detections match ignored small faces or lie outside): 0.
  close(s.large, 0);
});

Deno.test("cocoScores: without areas the size split is null", () => {
  const s = cocoScores(GTS, DETS, { classIds: [1] });
  close(s.ap, 1 / 2);
  assert.equal(s.small, null);
  assert.equal(s.large, null);
});

Deno.test("cocoClassTable: duplicate detections are false positives; difficult ground truth is ignored", () => {
  const gts: GroundTruthImage[] = [{
    imageId: "a",
    boxes: [[0, 0, 10, 10], [50, 50, 60, 60]],
    labels: [1, 1],
    difficult: [false, true],
  }];
  const dets = [
    det("a", [50, 50, 60, 60], 0.95), // on the difficult box: neither way
    det("a", [0, 0, 10, 10], 0.9),
    det("a", [0, 0, 10, 10], 0.8), // duplicate: false positive after full recall
  ];
  const t = cocoClassTable(gts, dets, { classId: 1 });
  // Recall reaches 1 at precision 1 on every threshold: AP 1.
  for (const v of t.all) close(v, 1);
  // Two faces; the duplicate ranks between the hits: TP FP TP -> precision 1 up to recall 1/2 (51 points),
  // then 2/3 up to recall 1 (50 points).
  const two: GroundTruthImage[] = [{
    imageId: "a",
    boxes: [[0, 0, 10, 10], [50, 50, 60, 60]],
    labels: [1, 1],
    difficult: [false, false],
  }];
  const t2 = cocoClassTable(two, [dets[1], dets[2], det("a", [50, 50, 60, 60], 0.7)], { classId: 1 });
  for (const v of t2.all) close(v, (51 + 50 * 2 / 3) / 101);
  const t3 = cocoClassTable(gts, [det("a", [20, 20, 30, 30], 0.99), det("a", [0, 0, 10, 10], 0.9)], {
    classId: 1,
  });
  for (const v of t3.all) close(v, 1 / 2);
});

Deno.test("cocoClassTable: maxDets keeps the best detections per image and class", () => {
  const gts: GroundTruthImage[] = [{ imageId: "a", boxes: [[0, 0, 10, 10]], labels: [1], difficult: [false] }];
  const dets = [det("a", [20, 20, 30, 30], 0.9), det("a", [0, 0, 10, 10], 0.8)];
  close(cocoClassTable(gts, dets, { classId: 1 }).all[0], 1 / 2);
  // With one detection per image only the false positive survives: AP 0.
  close(cocoClassTable(gts, dets, { classId: 1, maxDets: 1 }).all[0], 0);
});

Deno.test("cocoScores: classes without ground truth are left out of the mean", () => {
  const s = cocoScores(GTS, [...DETS, det("a", [0, 0, 5, 5], 0.5, 2)], { classIds: [1, 2] });
  close(s.ap, 1 / 2);
});
