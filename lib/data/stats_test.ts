import assert from "node:assert/strict";
import type { DataRecord } from "./dataset.ts";
import { scanSplit } from "./dataset.ts";
import { boxColumns, countBoxes, dataStats } from "./stats.ts";

const REAL = Deno.env.get("FACEMASK_DATA");

function rec(
  split: string,
  id: string,
  w: number,
  h: number,
  boxes: [number, number, number, number][],
  labels: number[],
) {
  return {
    id,
    split,
    imagePath: `${id}.jpg`,
    xmlPath: `${id}.xml`,
    width: w,
    height: h,
    boxes,
    labels,
    difficult: labels.map(() => false),
  } satisfies DataRecord;
}

const records = [
  rec("train", "a", 200, 100, [[0, 0, 0.5, 0.5], [0.5, 0.5, 0.6, 0.9]], [2, 1]),
  rec("train", "b", 100, 100, [[0.1, 0.1, 0.2, 0.3]], [2]),
  rec("val", "c", 50, 40, [], []),
];

Deno.test("countBoxes counts per split and class, zero for absent classes", () => {
  assert.deepEqual(countBoxes(records), { train: { face_mask: 1, face: 2 }, val: { face_mask: 0, face: 0 } });
});

Deno.test("boxColumns gives pixel sizes of the decoded image (worked by hand)", () => {
  const c = boxColumns(records);
  // a: [0,0,0.5,0.5] of 200x100 -> 100 x 50, area 5000; [0.5,0.5,0.6,0.9] -> 20 x 40, area 800.
  // b: [0.1,0.1,0.2,0.3] of 100x100 -> 10 x 20, area 200.
  assert.deepEqual(c.class, ["face", "face_mask", "face"]);
  assert.deepEqual(c.width.map((v) => Math.round(v as number)), [100, 20, 10]);
  assert.deepEqual(c.height.map((v) => Math.round(v as number)), [50, 40, 20]);
  assert.deepEqual(c.area.map((v) => Math.round(v as number)), [5000, 800, 200]);
});

Deno.test("dataStats builds danfo frames: per image, per box, summary", async () => {
  const s = await dataStats(records);
  assert.deepEqual(s.images.shape, [3, 7]);
  assert.deepEqual(s.images.columns, ["split", "id", "width", "height", "boxes", "face_mask", "face"]);
  assert.deepEqual(s.images.column("boxes").values, [2, 1, 0]);
  assert.deepEqual(s.boxes.shape, [3, 7]);
  assert.deepEqual(s.summary.column("split").values, ["train", "val"]);
  assert.deepEqual(s.summary.column("images").values, [2, 1]);
  assert.deepEqual(s.summary.column("face").values, [2, 0]);
  assert.deepEqual(s.summary.column("face_mask").values, [1, 0]);
  const empty = await dataStats([]);
  assert.deepEqual(empty.boxes.shape, [0, 7]);
});

Deno.test({
  name: "real data: train 5,911 face / 1,327 face_mask, val 1,160 / 465",
  ignore: !REAL,
  fn: async () => {
    const all = [...(await scanSplit(REAL!, "train")).records, ...(await scanSplit(REAL!, "val")).records];
    assert.deepEqual(countBoxes(all), { train: { face_mask: 1327, face: 5911 }, val: { face_mask: 465, face: 1160 } });
    const s = await dataStats(all);
    assert.deepEqual(s.summary.column("face").values, [5911, 1160]);
    assert.deepEqual(s.summary.column("face_mask").values, [1327, 465]);
    assert.equal(s.boxes.shape[0], 5911 + 1327 + 1160 + 465);
    assert.equal(s.images.shape[0], 3069 + 930);
  },
});
