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
import "../lib/site/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { dfd } from "../lib/util/danfo.ts";
import { scanSplit } from "../lib/data/dataset.ts";
import { CLASS_NAMES, INPUT_HEIGHT, INPUT_WIDTH } from "../lib/types.ts";
import { chartBundle, frameTable, notebookContext, pictureGrid, show, tableBundle } from "../lib/site/mod.ts";

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
// Box width and height in the image's own pixels and at the model's 320x240 input (each image is resized to it
// whatever its aspect ratio).

// %%
const boxRows = scans.flatMap((scan) =>
  scan.records.flatMap((r) =>
    r.boxes.map((b, k) => ({
      split: r.split,
      class: CLASS_NAMES[r.labels[k]],
      width_px: (b[2] - b[0]) * r.width,
      height_px: (b[3] - b[1]) * r.height,
      width_input: (b[2] - b[0]) * INPUT_WIDTH,
      height_input: (b[3] - b[1]) * INPUT_HEIGHT,
      difficult: r.difficult[k] ? 1 : 0,
    }))
  )
);
const boxes = new dfd.DataFrame(boxRows);
console.log(`${boxes.shape[0]} boxes`);

// %% [markdown]
// ## Counts per split and class

// %%
const imageCounts = splits.map((s, i) => ({ split: s, images: scans[i].records.length }));
const counts = boxes.groupby(["split", "class"]).agg({ width_px: "count", difficult: "sum" }).rename({
  width_px_count: "boxes",
  difficult_sum: "difficult",
});
await show(tableBundle({ caption: "Images per split", columns: ["split", "images"], rows: imageCounts.map((r) => [r.split, r.images]) }));
await show(tableBundle(frameTable(counts, { caption: "Boxes per split and class" })));

// %% [markdown]
// ## Box sizes
//
// Median and quartiles of the box side `sqrt(w * h)` at the model input. COCO calls a box *small* below 32x32
// pixels; the smallest prior of the detector is 10 px (stride 8).

// %%
const sided = boxRows.map((r) => ({ ...r, side_input: Math.sqrt(r.width_input * r.height_input) }));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s.length ? s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo) : NaN;
};
const sizeRows = splits.flatMap((split) =>
  CLASS_NAMES.slice(1).map((cls) => {
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

// %%
await show(
  await chartBundle({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Box side at the 320x240 input",
    data: { values: sided.map((r) => ({ split: r.split, class: r.class, side: r.side_input })) },
    mark: "bar",
    width: 320,
    height: 160,
    encoding: {
      x: { field: "side", type: "quantitative", bin: { maxbins: 40 }, title: "sqrt(w*h), input pixels" },
      y: { aggregate: "count", type: "quantitative", title: "boxes", stack: null },
      color: { field: "class", type: "nominal", scale: { domain: ["face_mask", "face"], range: ["#1a9850", "#d73027"] } },
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
await show({ "image/svg+xml": pictureGrid(pictures, { columns: 4, cellWidth: 230 }), "text/plain": "[sample grid]" });
