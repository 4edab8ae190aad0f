import assert from "node:assert/strict";
import {
  parseCocoDetections,
  parseCocoGroundTruth,
  readCocoDetections,
  readCocoGroundTruth,
  toCocoDetections,
  toCocoGroundTruth,
} from "./coco_json.ts";
import type { GroundTruthImage, ImageDetection } from "./types.ts";

const GT_JSON = {
  images: [{ id: 1, width: 200, height: 100, file_name: "one.jpg" }, { id: 2, width: 50, height: 50 }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 20, 30, 40] },
    { id: 2, image_id: 1, category_id: 2, bbox: [0, 0, 5, 5], difficult: 1 },
    { id: 3, image_id: 2, category_id: 2, bbox: [1, 1, 2, 2], iscrowd: 1 },
  ],
  categories: [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }],
};

Deno.test("parseCocoGroundTruth: xywh pixels become corner boxes; difficult and iscrowd are difficult", () => {
  const gt = parseCocoGroundTruth(GT_JSON, "gt.json");
  assert.deepEqual(gt.images[0], {
    imageId: "1",
    boxes: [[10, 20, 40, 60], [0, 0, 5, 5]],
    labels: [1, 2],
    difficult: [false, true],
  });
  assert.deepEqual(gt.images[1].difficult, [true]);
  assert.deepEqual(gt.imageSizes, { "1": { width: 200, height: 100 }, "2": { width: 50, height: 50 } });
  assert.deepEqual(gt.classes, [{ id: 1, name: "face_mask" }, { id: 2, name: "face" }]);
  assert.deepEqual(gt.fileNames, { "1": "one.jpg" });
});

Deno.test("COCO readers: errors name the file and the bad field", () => {
  assert.throws(() => parseCocoGroundTruth({ images: [], annotations: [] }, "gt.json"), /gt\.json: field "categories"/);
  const badBox = structuredClone(GT_JSON);
  (badBox.annotations[1] as { bbox: unknown }).bbox = [0, 0, -1, 5];
  assert.throws(() => parseCocoGroundTruth(badBox, "gt.json"), /gt\.json: annotations\[1\]: "bbox" has a negative/);
  const badImg = structuredClone(GT_JSON);
  badImg.annotations[0].image_id = 9;
  assert.throws(() => parseCocoGroundTruth(badImg, "gt.json"), /annotations\[0\]: "image_id" 9 is not in "images"/);
  const gt = parseCocoGroundTruth(GT_JSON, "gt.json");
  const d = [{ image_id: 1, category_id: 1, bbox: [10, 20, 30, 40], score: 0.5 }];
  assert.throws(() => parseCocoDetections({}, "d.json"), /d\.json: COCO detections must be a JSON array/);
  assert.throws(() => parseCocoDetections([{ ...d[0], score: "x" }], "d.json"), /d\.json: \[0\]: "score"/);
  assert.throws(
    () => parseCocoDetections([{ ...d[0], image_id: 3 }], "d.json", { groundTruth: gt }),
    /\[0\]: "image_id" 3 is not in the ground truth/,
  );
  assert.throws(
    () => parseCocoDetections([{ ...d[0], category_id: 5 }], "d.json", { groundTruth: gt }),
    /"category_id" 5/,
  );
  assert.deepEqual(parseCocoDetections(d, "d.json", { groundTruth: gt }), [
    { imageId: "1", box: [10, 20, 40, 60], label: 1, score: 0.5 },
  ]);
});

Deno.test("COCO writers round-trip through the readers and files", async () => {
  const gts: GroundTruthImage[] = [
    { imageId: "img_a", boxes: [[0.25, 0.5, 0.5, 1]], labels: [2], difficult: [true] },
  ];
  const dets: ImageDetection[] = [{ imageId: "img_a", box: [0.25, 0.5, 0.75, 0.75], label: 1, score: 0.9 }];
  const imageSizes = { img_a: { width: 400, height: 200 } };
  const gtJson = toCocoGroundTruth(gts, { imageSizes });
  assert.deepEqual(gtJson.images, [{ id: 1, file_name: "img_a", width: 400, height: 200 }]);
  // 0.25*400 = 100, 0.5*200 = 100, w = 0.25*400 = 100, h = 0.5*200 = 100.
  assert.deepEqual(gtJson.annotations[0].bbox, [100, 100, 100, 100]);
  const detJson = toCocoDetections(dets, { imageSizes, groundTruth: gtJson });
  assert.deepEqual(detJson, [{ image_id: 1, category_id: 1, bbox: [100, 100, 200, 50], score: 0.9 }]);
  assert.throws(() => toCocoDetections(dets, {}), /"img_a".*imageSizes/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/gt.json`, JSON.stringify(gtJson));
    await Deno.writeTextFile(`${dir}/dets.json`, JSON.stringify(detJson));
    const gt = await readCocoGroundTruth(`${dir}/gt.json`);
    assert.deepEqual(gt.images[0].boxes, [[100, 100, 200, 200]]);
    assert.deepEqual(gt.images[0].difficult, [true]);
    const back = await readCocoDetections(`${dir}/dets.json`, { groundTruth: gt });
    assert.deepEqual(back[0].box, [100, 100, 300, 150]);
    await Deno.writeTextFile(`${dir}/broken.json`, "{");
    await assert.rejects(() => readCocoGroundTruth(`${dir}/broken.json`), /broken\.json: not valid JSON/);
    await assert.rejects(() => readCocoGroundTruth(`${dir}/missing.json`), /missing\.json: cannot read file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("toCocoGroundTruth: named image ids, file names, difficult boxes as crowd; detections map to them", () => {
  const gts: GroundTruthImage[] = [
    { imageId: "b_2", boxes: [[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]], labels: [1, 2], difficult: [false, true] },
    { imageId: "a_1", boxes: [], labels: [], difficult: [] },
  ];
  const imageSizes = { b_2: { width: 100, height: 60 }, a_1: { width: 10, height: 10 } };
  const json = toCocoGroundTruth(gts, { imageSizes, imageIds: "names", fileNames: { b_2: "b_2.png" } });
  assert.deepEqual(json.images, [
    { id: "b_2", file_name: "b_2.png", width: 100, height: 60 },
    { id: "a_1", file_name: "a_1", width: 10, height: 10 },
  ]);
  assert.deepEqual(json.annotations.map((a) => [a.image_id, a.iscrowd, a.difficult, a.bbox]), [
    ["b_2", 0, 0, [0, 0, 50, 30]],
    ["b_2", 1, 1, [50, 30, 50, 30]],
  ]);
  // Read back, the crowd box is difficult again and the ids are the names.
  const back = parseCocoGroundTruth(json, "gt.json");
  assert.deepEqual(back.images.map((g) => [g.imageId, g.difficult]), [["b_2", [false, true]], ["a_1", []]]);
  const dets = toCocoDetections([{ imageId: "b_2", box: [0, 0, 0.1, 0.5], label: 2, score: 0.3 }], {
    imageSizes,
    groundTruth: json,
  });
  assert.deepEqual(dets, [{ image_id: "b_2", category_id: 2, bbox: [0, 0, 10, 30], score: 0.3 }]);
  assert.throws(() => toCocoGroundTruth([gts[1], gts[1]], { imageSizes }), /"a_1" appears twice/);
  assert.throws(
    () => toCocoDetections([{ imageId: "zz", box: [0, 0, 1, 1], label: 1, score: 1 }], { groundTruth: json }),
    /"zz" has neither an id nor a file_name/,
  );
});
