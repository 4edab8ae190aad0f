/** Source of notebooks/01_dataset.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 01 · The data: AIZOO face masks
//
// The SSDv2 paper trains and tests on the AIZOOTech "Face Mask Data" (7,954 images from WIDER Face and MAFA,
// split 6,115 train / 1,839 test) with two classes: **face_mask** (the paper's "mask") and **face** (no mask, the
// paper's "unmask"). Our copy holds **3,069 train / 930 val** images of that same split (about half of it), with
// images resized so that their longest side is at most 640 px. Every number in these notebooks is on that subset,
// so it is not directly comparable with the paper's.
//
// This notebook reads the annotations with `lib/data`, tabulates counts and box sizes per split and class, and
// shows a few images with their boxes. Small faces are the paper's theme: the model sees 320x240 pixels, so the
// sizes are also given at that scale.
//
// Set `NOTEBOOK_PROFILE=smoke` to run on a small generated data set instead.

// %%
import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { countBoxes, dataStats, scanSplit } from "../lib/data/mod.ts";
import { INPUT_HEIGHT, INPUT_WIDTH, OBJECT_CLASSES } from "../lib/types.ts";
import { CLASS_COLORS } from "../lib/reporting/charts.ts";
import { chartBundle, notebookContext, show, svgBundle, tableBundle } from "../lib/notebooks/mod.ts";
import { frameTable, pictureGrid } from "../lib/reporting/mod.ts";

const ctx = await notebookContext();
console.log(ctx.banner);

// %%
const splits = ["train", "val"];
const scans = await Promise.all(splits.map((s) => scanSplit(ctx.data.root, s)));
scans.forEach((scan, i) => {
  const errors = scan.problems.filter((p) => p.severity === "error");
  console.log(`${splits[i]}: ${scan.records.length} images, ${scan.problems.length} problems (${errors.length} errors)`);
  for (const p of errors.slice(0, 5)) console.log(`  ${p.file}: ${p.problem}`);
});

// %% [markdown]
// ## One row per box
//
// lib/data's `dataStats` gives one row per image and one per box (width and height in the image's own pixels). At
// the model's 320x240 input (each image is resized to it whatever its aspect ratio) a box's width is its share of
// the image width times 320, its height its share of the image height times 240.

// %%
const records = scans.flatMap((scan) => scan.records);
const stats = await dataStats(records);
const col = <T,>(df: typeof stats.boxes, name: string) => df.column(name).values as T[];
const imageSize = new Map<string, [number, number]>();
const imageIds = col<string>(stats.images, "id");
const imageSplits = col<string>(stats.images, "split");
const imageWidths = col<number>(stats.images, "width");
const imageHeights = col<number>(stats.images, "height");
imageIds.forEach((id, i) => imageSize.set(`${imageSplits[i]}/${id}`, [imageWidths[i], imageHeights[i]]));
const boxSplits = col<string>(stats.boxes, "split");
const boxIds = col<string>(stats.boxes, "id");
const boxClasses = col<string>(stats.boxes, "class");
const boxWidths = col<number>(stats.boxes, "width");
const boxHeights = col<number>(stats.boxes, "height");
const boxDifficult = col<boolean>(stats.boxes, "difficult");
const sided = boxSplits.map((split, i) => {
  const [w, h] = imageSize.get(`${split}/${boxIds[i]}`)!;
  const side = Math.sqrt((boxWidths[i] / w) * INPUT_WIDTH * (boxHeights[i] / h) * INPUT_HEIGHT);
  return { split, class: boxClasses[i], difficult: boxDifficult[i], side_input: side };
});
console.log(`${stats.boxes.shape[0]} boxes`);

// %% [markdown]
// ## Counts per split and class

// %%
await show(tableBundle(frameTable(stats.summary, { caption: "Images and boxes per split" })));
const counts = countBoxes(records);
await show(tableBundle({
  caption: "Boxes per split and class",
  columns: ["split", "class", "boxes", "difficult"],
  rows: Object.entries(counts).flatMap(([split, byClass]) =>
    OBJECT_CLASSES.map((cls) => [
      split,
      cls,
      byClass[cls],
      sided.filter((r) => r.split === split && r.class === cls && r.difficult).length,
    ])
  ),
}));

// %% [markdown]
// ## Box sizes
//
// Median and quartiles of the box side `sqrt(w * h)` at the model input. COCO calls a box *small* below 32x32
// pixels; the smallest prior of the detector is 10 px (stride 8).

// %%
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s.length ? s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo) : NaN;
};
const sizeRows = splits.flatMap((split) =>
  OBJECT_CLASSES.map((cls) => {
    const sides = sided.filter((r) => r.split === split && r.class === cls).map((r) => r.side_input);
    return [
      split,
      cls,
      sides.length,
      quantile(sides, 0.25),
      quantile(sides, 0.5),
      quantile(sides, 0.75),
      sides.length ? sides.filter((s) => s < 32).length / sides.length : NaN,
    ];
  })
);
await show(tableBundle({
  caption: "Box side sqrt(w*h) at the 320x240 input, pixels",
  columns: ["split", "class", "boxes", "q25", "median", "q75", "share < 32 px"],
  rows: sizeRows,
  digits: 2,
}));

// %% [markdown]
// The histogram is binned here (bins of 5 input pixels per split and class), so the notebook carries one row per
// bar rather than one per box.

// %%
const BIN = 5;
const bins = new Map<string, { split: string; class: string; start: number; boxes: number }>();
for (const r of sided) {
  const start = Math.floor(r.side_input / BIN) * BIN;
  const key = `${r.split}/${r.class}/${start}`;
  const bin = bins.get(key) ?? { split: r.split, class: r.class, start, boxes: 0 };
  bin.boxes += 1;
  bins.set(key, bin);
}
await show(
  await chartBundle({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Box side at the 320x240 input",
    data: { values: [...bins.values()].map((b) => ({ ...b, end: b.start + BIN })) },
    mark: "bar",
    width: 320,
    height: 160,
    encoding: {
      x: { field: "start", type: "quantitative", title: "sqrt(w*h), input pixels" },
      x2: { field: "end" },
      y: { field: "boxes", type: "quantitative", title: "boxes", stack: null },
      color: {
        field: "class",
        type: "nominal",
        scale: { domain: ["face_mask", "face"], range: [CLASS_COLORS.face_mask, CLASS_COLORS.face] },
      },
      opacity: { value: 0.6 },
      column: { field: "split", type: "nominal", title: null },
    },
  }),
);

// %% [markdown]
// ## Sample images
//
// The first images of the val split with their annotated boxes: face_mask green, face red; `difficult` boxes
// dashed.

// %%
const samples = scans[1].records.slice(0, 8);
const pictures = await Promise.all(samples.map(async (r) => ({
  bytes: await Deno.readFile(r.imagePath),
  width: r.width,
  height: r.height,
  boxes: r.boxes,
  labels: r.labels,
  dashed: r.difficult,
  caption: `${r.id} (${r.width}x${r.height})`,
})));
await show(svgBundle(pictureGrid(pictures, { columns: 4, cellWidth: 230 }), "[sample grid]"));
