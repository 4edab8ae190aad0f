import assert from "node:assert/strict";
import type { Box } from "../types.ts";
import { apSummary, DEFAULT_CLASSES, metricsSummary, scoreDetections } from "./score.ts";
import { operatingPoint } from "./operating.ts";
import type { GroundTruthImage, ImageDetection } from "./types.ts";

const close = (a: number | null, b: number, tol = 1e-12) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `expected ${b}, got ${a}`);
const det = (imageId: string, box: Box, score: number, label: number): ImageDetection => ({
  imageId,
  box,
  label,
  score,
});

Deno.test("DEFAULT_CLASSES are face_mask (1) and face (2)", () => {
  assert.deepEqual(DEFAULT_CLASSES, [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }]);
});

Deno.test("scoreDetections: two classes, mAP is the mean of the per-class APs", () => {
  const gts: GroundTruthImage[] = [
    { imageId: "a", boxes: [[0, 0, 0.1, 0.1], [0.5, 0.5, 0.7, 0.7]], labels: [1, 2], difficult: [false, false] },
    { imageId: "b", boxes: [[0.2, 0.2, 0.4, 0.4]], labels: [2], difficult: [false] },
  ];
  const dets = [
    det("a", [0, 0, 0.1, 0.1], 0.9, 1), // face_mask hit -> AP 1
    det("b", [0.6, 0.6, 0.8, 0.8], 0.8, 2), // face miss
    det("a", [0.5, 0.5, 0.7, 0.7], 0.7, 2), // face hit
  ];
  const r = scoreDetections(gts, dets);
  close(r.voc.face_mask.ap, 1);
  // face: FP then TP over 2 boxes: recall 0, 1/2 with precision 0, 1/2 -> AP 1/4.
  close(r.voc.face.ap, 1 / 4);
  close(r.map, (1 + 1 / 4) / 2);
  // 11-point face: t = 0..0.5 -> 1/2 (6 points) -> 3/11.
  close(r.voc.face.ap11, 3 / 11);
  close(r.map11, (1 + 3 / 11) / 2);
  assert.deepEqual(Object.keys(apSummary(r)), ["voc", "map", "map11", "coco"]);
  assert.deepEqual(Object.keys(metricsSummary(r)), ["voc", "map", "map11", "coco", "operating", "confusion", "bySize"]);
  assert.equal(r.pr.face.recall.length, 2);
  assert.equal(r.numDetections, 3);
});

Deno.test("scoreDetections: size split in original pixels and at the 240x320 input", () => {
  // A 40x40 face in a 640x480 image: 1,600 px^2 (medium); scaled to 320x240 it is 20x20 = 400 px^2 (small).
  const box: Box = [100 / 640, 100 / 480, 140 / 640, 140 / 480];
  const gts: GroundTruthImage[] = [{ imageId: "a", boxes: [box], labels: [2], difficult: [false] }];
  const dets = [det("a", box, 0.9, 2)];
  const r = scoreDetections(gts, dets, { imageSizes: { a: { width: 640, height: 480 } } });
  close(r.coco.medium, 1);
  assert.equal(r.coco.small, null);
  close(r.cocoInput.small, 1);
  assert.equal(r.cocoInput.medium, null);
  // Pixel boxes give the same split when sizes are known.
  const px: Box = [100, 100, 140, 140];
  const rp = scoreDetections([{ ...gts[0], boxes: [px] }], [det("a", px, 0.9, 2)], {
    coordinates: "pixels",
    imageSizes: new Map([["a", { width: 640, height: 480 }]]),
  });
  close(rp.coco.medium, 1);
  close(rp.cocoInput.small, 1);
  // Normalised boxes without sizes: the original-pixel split is unknown, the input split is not.
  const rn = scoreDetections(gts, dets);
  assert.equal(rn.coco.medium, null);
  close(rn.coco.ap, 1);
  close(rn.cocoInput.small, 1);
});

Deno.test("scoreDetections: operating points, confusion matrix and AP by size at the display threshold", () => {
  // A 640x480 image: a 40x40 face_mask (20 px at the input, 16-32), a 200x200 face (100 px, 64-128).
  const px = (x1: number, y1: number, x2: number, y2: number): Box => [x1 / 640, y1 / 480, x2 / 640, y2 / 480];
  const gts: GroundTruthImage[] = [{
    imageId: "a",
    boxes: [px(100, 100, 140, 140), px(300, 100, 500, 300)],
    labels: [1, 2],
    difficult: [false, false],
  }];
  const dets = [
    det("a", px(100, 100, 140, 140), 0.9, 1), // face_mask hit
    det("a", px(300, 100, 500, 300), 0.6, 1), // the face called face_mask: a face_mask false positive
    det("a", px(300, 100, 500, 300), 0.4, 2), // face hit, below the display threshold
  ];
  const r = scoreDetections(gts, dets);
  assert.equal(r.operating.displayThreshold, 0.5);
  assert.deepEqual(r.operating.perClass.face_mask.display, operatingPoint(0.5, 1, 1, 1));
  assert.deepEqual(r.operating.perClass.face_mask.best, operatingPoint(0.9, 1, 0, 1));
  assert.deepEqual(r.operating.perClass.face.display, operatingPoint(0.5, 0, 0, 1));
  assert.deepEqual(r.operating.perClass.face.best, operatingPoint(0.4, 1, 0, 1));
  assert.deepEqual(r.confusion.counts, [[1, 0, 0], [1, 0, 0], [0, 0, 0]]);
  assert.deepEqual(r.bySize?.buckets.map((b) => [b.name, b.numGt]), [
    ["<16", 0],
    ["16-32", 1],
    ["32-64", 0],
    ["64-128", 1],
    [">=128", 0],
  ]);
  assert.deepEqual(r.bySize?.buckets[1].perClass.face_mask, { numGt: 1, ap: 1, recall: 1 });
  // The 0.6 false positive lies in 64-128, where face_mask has no ground truth: 16-32 keeps AP 1.
  assert.deepEqual(r.bySize?.buckets[3].perClass.face, { numGt: 1, ap: 1, recall: 0 });
  // A lower display threshold moves the display points, the matrix and the recall, not the APs.
  const low = scoreDetections(gts, dets, { displayThreshold: 0.3 });
  assert.deepEqual(low.voc, r.voc);
  assert.deepEqual(low.operating.perClass.face.display, operatingPoint(0.3, 1, 0, 1));
  // Class-agnostic: the face box goes to the 0.6 face_mask detection; the 0.4 face one finds it taken.
  assert.deepEqual(low.confusion.counts, [[1, 0, 0], [1, 0, 0], [0, 1, 0]]);
  assert.equal(low.bySize?.buckets[3].perClass.face.recall, 1);
  // The same in pixels with the image size: the same buckets; without sizes the split is unknown.
  const inPx = (b: Box): Box => [b[0] * 640, b[1] * 480, b[2] * 640, b[3] * 480];
  const gPx = [{ ...gts[0], boxes: gts[0].boxes.map(inPx) }];
  const dPx = dets.map((d) => ({ ...d, box: inPx(d.box) }));
  const rp = scoreDetections(gPx, dPx, { coordinates: "pixels", imageSizes: { a: { width: 640, height: 480 } } });
  assert.deepEqual(rp.bySize?.buckets.map((b) => b.numGt), [0, 1, 0, 1, 0]);
  assert.deepEqual(rp.confusion, r.confusion);
  assert.equal(scoreDetections(gPx, dPx, { coordinates: "pixels" }).bySize, null);
  assert.throws(() => scoreDetections(gts, dets, { displayThreshold: NaN }), /displayThreshold must be a number/);
});

Deno.test("scoreDetections: bad input gets errors naming the item and the problem", () => {
  const gts: GroundTruthImage[] = [{ imageId: "a", boxes: [[0, 0, 1, 1]], labels: [1], difficult: [false] }];
  assert.throws(
    () => scoreDetections(gts, [det("zz", [0, 0, 1, 1], 1, 1)], { source: "x.json" }),
    /x\.json.*"zz".*not in/,
  );
  assert.throws(() => scoreDetections(gts, [det("a", [0, 0, 1, 1], 1, 7)]), /label 7/);
  assert.throws(() => scoreDetections(gts, [det("a", [1, 0, 0, 1], 1, 1)]), /x2 < x1/);
  assert.throws(() => scoreDetections([{ ...gts[0], labels: [] }], []), /1 boxes but 0 labels/);
  assert.throws(() => scoreDetections([gts[0], gts[0]], []), /twice/);
  assert.throws(() => scoreDetections(gts, [], { coordinates: "pixels", imageSizes: {} }), /no valid image size.*"a"/);
});

Deno.test({
  name: "evaluate (real data): val ground truth as detections scores 1; with a duplicate after each, a known AP",
  ignore: !Deno.env.get("FACEMASK_DATA"),
  fn: async () => {
    const { parseVocXml } = await import("../data/voc.ts");
    const dir = `${Deno.env.get("FACEMASK_DATA")}/val`;
    const gts: GroundTruthImage[] = [];
    const imageSizes: Record<string, { width: number; height: number }> = {};
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".xml")) continue;
      const a = parseVocXml(await Deno.readTextFile(`${dir}/${e.name}`), { file: e.name });
      imageSizes[e.name] = { width: a.width, height: a.height };
      gts.push({
        imageId: e.name,
        boxes: a.objects.map((o) => o.box),
        labels: a.objects.map((o) => o.classId),
        difficult: a.objects.map((o) => o.difficult),
      });
    }
    assert.equal(gts.length, 930);
    const asDets = (copies: number) =>
      gts.flatMap((g) =>
        g.boxes.flatMap((box, j) =>
          Array.from(
            { length: copies },
            (): ImageDetection => ({ imageId: g.imageId, box, label: g.labels[j], score: 1 }),
          )
        )
      );
    const exact = scoreDetections(gts, asDets(1), { coordinates: "pixels", imageSizes });
    assert.deepEqual(exact.voc, { face_mask: { ap: 1, ap11: 1 }, face: { ap: 1, ap11: 1 } });
    for (const v of Object.values(exact.coco)) close(v, 1);
    for (const v of Object.values(exact.cocoInput)) close(v, 1);
    // Perfect detections: every bucket with ground truth has AP and recall 1, the matrix is diagonal.
    const count = (id: number) => gts.flatMap((g) => g.labels.filter((l, j) => l === id && !g.difficult[j])).length;
    assert.deepEqual(exact.confusion.counts, [[count(1), 0, 0], [0, count(2), 0], [0, 0, 0]]);
    for (const name of ["face_mask", "face"]) {
      assert.equal(exact.operating.perClass[name].display.f1, 1);
      assert.equal(exact.operating.perClass[name].best?.threshold, 1);
    }
    assert.equal(exact.bySize?.buckets.reduce((s, b) => s + b.numGt, 0), count(1) + count(2));
    for (const b of exact.bySize!.buckets) {
      for (const c of Object.values(b.perClass)) if (c.numGt > 0) assert.deepEqual([c.ap, c.recall], [1, 1], b.name);
    }
    // Each box twice, equal scores, input order: hit, duplicate, hit, ... The k-th hit of a class with N
    // (non-difficult) boxes comes at rank 2k - 1, so the envelope is k / (2k - 1) on (k-1)/N..k/N.
    const twice = scoreDetections(gts, asDets(2), { coordinates: "pixels", imageSizes });
    for (const [id, name] of [[1, "face_mask"], [2, "face"]] as const) {
      const n = gts.flatMap((g) => g.labels.filter((l, j) => l === id && !g.difficult[j])).length;
      let expected = 0;
      for (let k = 1; k <= n; k++) expected += k / (2 * k - 1) / n;
      close(twice.voc[name].ap, expected, 1e-9);
    }
  },
});
