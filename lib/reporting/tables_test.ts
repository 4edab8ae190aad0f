import assert from "node:assert/strict";
import type { RunSummary } from "./summary.ts";
import { isGeneratedData } from "../data/label.ts";
import { provenanceNotes } from "./summary.ts";
import { SIZE_DEFINITION } from "../metrics/by_size.ts";
import type { BySizeResult, ConfusionMatrix, OperatingSummary } from "../metrics/types.ts";
import {
  ablationTable,
  backboneTable,
  bySizeTable,
  confusionTable,
  operatingTable,
  perClassTable,
  tableCells,
  toCsv,
  toMarkdown,
  writeTable,
} from "./tables.ts";

const run = (branches: number, map: number, extra: Partial<RunSummary> = {}): RunSummary => ({
  experiment: `b${branches}`,
  trunk: "ssdv2",
  branches,
  map,
  perClassAp: { face_mask: map + 0.05, face: map - 0.05 },
  dataLabel: "AIZOO subset 3,069/930",
  backend: "wasm",
  ...extra,
});

Deno.test("perClassTable: AP in percent with two decimals and the mAP row", async () => {
  const t = await perClassTable(run(4, 0.7));
  const { columns, rows } = tableCells(t);
  assert.deepEqual(columns, ["class", "AP (%)"]);
  // 0.75 -> 75, 0.65 -> 65, 0.7 -> 70 (rounded to 2 decimals, so float noise such as 0.7 + 0.05 disappears).
  assert.deepEqual(rows, [["face_mask", 75], ["face", 65], ["mAP", 70]]);
  assert.match(t.title, /AIZOO subset 3,069\/930/);
});

Deno.test("ablationTable: ours beside the paper, difference in points, paper per-class at 4 branches", async () => {
  const runs = [run(4, 0.7), run(1, 0.6012), run(2, 0.5), run(3, 0.70935)];
  const { columns, rows } = tableCells(await ablationTable(runs));
  assert.deepEqual(columns.slice(0, 5), ["branches", "experiment", "mAP ours (%)", "mAP paper (%)", "diff (points)"]);
  assert.deepEqual(rows.map((r) => r[0]), [1, 2, 3, 4]);
  // 60.12 - 62.35 = -2.23; 50 - 67.12 = -17.12; 70.94 - 70.93 = 0.01 (70.935 rounds up); 70 - 72.79 = -2.79.
  assert.deepEqual(rows.map((r) => r.slice(2, 5)), [
    [60.12, 62.35, -2.23],
    [50, 67.12, -17.12],
    [70.94, 70.93, 0.01],
    [70, 72.79, -2.79],
  ]);
  const maskPaper = columns.indexOf("face_mask paper (%)");
  const facePaper = columns.indexOf("face paper (%)");
  assert.deepEqual(rows.map((r) => r[maskPaper]), [null, null, null, 80.97]);
  assert.equal(rows[3][facePaper], 64.61);
});

Deno.test("backboneTable: units M params, GMACs, one-decimal speeds; missing values are empty cells", async () => {
  const t = await backboneTable([
    run(4, 0.7, { params: 1_012_345, macs: 540_000_000, fps: 123.456, trainImgPerSec: 45.04 }),
    run(4, 0.65, { trunk: "slim" }),
  ]);
  const { rows } = tableCells(t);
  assert.deepEqual(rows[0], ["ssdv2", "b4", 4, 70, 1.012, 0.54, 123.5, 45, "wasm"]);
  assert.deepEqual(rows[1].slice(4, 8), [null, null, null, null]);
  const csv = toCsv(t);
  assert.equal(csv.split("\n")[2], "slim,b4,4,65,,,,,wasm");
});

Deno.test("tables built from generated data say so in the title and notes", async () => {
  assert.ok(isGeneratedData("GENERATED data (seed 1)"));
  assert.ok(!isGeneratedData("AIZOO subset 3,069/930"));
  const t = await ablationTable([run(1, 0.5, { dataLabel: "GENERATED data" })]);
  assert.match(t.title, /GENERATED data/);
  assert.ok(t.notes.some((n) => /not comparable with the paper/.test(n)));
  assert.deepEqual(provenanceNotes([run(1, 0.5)]).notes.length, 1);
});

Deno.test("toMarkdown / toCsv / writeTable: quoting, alignment, files", async () => {
  const t = await perClassTable(run(4, 0.7, { experiment: 'a,"b"' }));
  const md = toMarkdown(t);
  assert.match(md, /^\*\*VOC AP@0\.5 per class/);
  assert.match(md, /\| class \| AP \(%\) \|\n\|---\|---:\|\n\| face_mask \| 75 \|/);
  assert.match(md, /_Data: AIZOO subset 3,069\/930\. Backend: wasm\._/);
  const quoted = toCsv({ ...t, frame: t.frame });
  assert.equal(quoted.split("\n")[0], "class,AP (%)");
  const b = toCsv(await backboneTable([run(4, 0.7, { experiment: 'a,"b"' })]));
  assert.equal(b.split("\n")[1].split(",")[1] + "," + b.split("\n")[1].split(",")[2], '"a,""b"""');
  await assert.rejects(() => ablationTable([]), /no runs/);
  const dir = await Deno.makeTempDir();
  try {
    const paths = await writeTable(t, `${dir}/per_class`);
    assert.equal(await Deno.readTextFile(paths.csv), "class,AP (%)\nface_mask,75\nface,65\nmAP,70\n");
    assert.equal(await Deno.readTextFile(paths.md), md);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const BY_SIZE: BySizeResult = {
  sizeDefinition: SIZE_DEFINITION,
  displayThreshold: 0.5,
  iouThreshold: 0.5,
  buckets: [
    {
      name: "<16",
      lo: 0,
      hi: 16,
      numGt: 3,
      perClass: { face_mask: { numGt: 1, ap: 0.12345, recall: 0 }, face: { numGt: 2, ap: 0.5, recall: 0.5 } },
    },
    {
      name: ">=16",
      lo: 16,
      hi: null,
      numGt: 1,
      perClass: { face_mask: { numGt: 0, ap: null, recall: null }, face: { numGt: 1, ap: 1, recall: 1 } },
    },
  ],
};

Deno.test("bySizeTable: a row per bucket, counts, AP and recall in %, empty cells without ground truth", async () => {
  const t = await bySizeTable(BY_SIZE, { dataLabel: "AIZOO data, 930 val images" });
  const { columns, rows } = tableCells(t);
  assert.deepEqual(columns, [
    "size (px)",
    "#gt",
    "#gt face_mask",
    "#gt face",
    "AP face_mask (%)",
    "AP face (%)",
    "recall face_mask (%)",
    "recall face (%)",
  ]);
  assert.deepEqual(rows, [
    ["<16", 3, 1, 2, 12.35, 50, 0, 50],
    [">=16", 1, 0, 1, null, 100, null, 100],
  ]);
  assert.match(t.title, /by face size.*\[AIZOO data, 930 val images\]$/);
  assert.ok(t.notes.some((n) => /sqrt\(w \* h\).*Recall at score >= 0\.5/.test(n)));
  assert.equal(toCsv(t).split("\n")[2], ">=16,1,0,1,,100,,100");
  assert.match(toMarkdown(t), /\| <16 \| 3 \| 1 \| 2 \| 12\.35 \| 50 \| 0 \| 50 \|/);
  assert.match(
    (await bySizeTable(BY_SIZE, { dataLabel: "GENERATED data" })).title,
    /\[GENERATED data: GENERATED data\]/,
  );
});

Deno.test("operatingTable: display and F1-best rows per class, empty when there is no best point", async () => {
  const op: OperatingSummary = {
    displayThreshold: 0.5,
    iouThreshold: 0.5,
    perClass: {
      face_mask: {
        npos: 3,
        display: { threshold: 0.5, tp: 2, fp: 2, fn: 1, precision: 0.5, recall: 2 / 3, f1: 4 / 7 },
        best: { threshold: 0.123456, tp: 3, fp: 2, fn: 0, precision: 0.6, recall: 1, f1: 0.75 },
      },
      face: {
        npos: 0,
        display: { threshold: 0.5, tp: 0, fp: 1, fn: 0, precision: 0, recall: null, f1: 0 },
        best: null,
      },
    },
  };
  const t = await operatingTable(op);
  const { columns, rows } = tableCells(t);
  assert.deepEqual(columns, ["class", "point", "threshold", "precision (%)", "recall (%)", "F1 (%)", "TP", "FP", "FN"]);
  assert.deepEqual(rows, [
    ["face_mask", "display", 0.5, 50, 66.67, 57.14, 2, 2, 1],
    ["face_mask", "F1-best", 0.1235, 60, 100, 75, 3, 2, 0],
    ["face", "display", 0.5, 0, null, 0, 0, 1, 0],
    ["face", "F1-best", null, null, null, null, null, null, null],
  ]);
  assert.equal(toCsv(t).split("\n")[4], "face,F1-best,,,,,,,");
  assert.ok(t.notes.some((n) => /score >= 0\.5/.test(n)));
});

Deno.test("confusionTable: ground truth rows, predicted columns, counts as given", async () => {
  const m: ConfusionMatrix = {
    labels: ["face_mask", "face", "background"],
    counts: [[10, 2, 3], [1, 20, 4], [5, 6, 0]],
    displayThreshold: 0.5,
    iouThreshold: 0.5,
    ignoredDetections: 7,
  };
  const t = await confusionTable(m);
  const { columns, rows } = tableCells(t);
  assert.deepEqual(columns, ["ground truth \\ predicted", "face_mask", "face", "background"]);
  assert.deepEqual(rows, [["face_mask", 10, 2, 3], ["face", 1, 20, 4], ["background", 5, 6, 0]]);
  assert.equal(
    toCsv(t),
    "ground truth \\ predicted,face_mask,face,background\nface_mask,10,2,3\nface,1,20,4\n" +
      "background,5,6,0\n",
  );
  assert.ok(t.notes.some((n) => /7 detection\(s\) on difficult boxes/.test(n)));
  assert.match(t.title, /score >= 0\.5, IoU > 0\.5/);
});
