/** Source of notebooks/02_model.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 02 · The model: SSDv2 and the trunks we compare
//
// SSDv2 is a one-stage SSD-style detector for a 240x320 RGB input. The paper's code is not public; we follow the
// public TF2 project that matches it on every stated point (docs/design.md). Its trunk stacks **CB** blocks
// (3x3 conv + batch norm + ReLU; stride 2 after one pixel of zero padding, **ZP**) and, in its two coarsest
// stages, **DCB** blocks (3x3 depthwise conv + BN + ReLU, then 1x1 conv + BN + ReLU). Four detection **branches**
// read the feature maps at strides 8, 16, 32 and 64 (30x40, 15x20, 8x10 and 4x5 cells); each runs a **BB** block
// and two 3x3 heads that predict, for every prior box of every cell, class logits (background, face_mask, face) and
// box offsets. The paper's Table 2 removes branches from the coarse end: with `k` branches the detector keeps maps
// 1..k (and the trunk stages that feed them), so the large priors disappear first (our reading of the paper).
//
// Besides SSDv2 (`ssdv2`) we build three comparison trunks with the same heads and priors (ours): `slim` and `rfb`
// (the Ultra-Light-Fast-Generic-Face-Detector's trunks; RFB adds dilated convolutions) and `aizoo` (the AIZOOTech
// FaceMaskDetection trunk: plain 3x3 convs and max-pooling). Everything here comes from `lib/model`
// (`buildDetector`, `summarizeModel`) and `lib/detect` (priors); nothing is trained.
//
// MACs count the multiplications of convolutions and dense layers for one 240x320 image (the usual "GMACs"
// convention); parameters are trainable weights plus batch-norm statistics as tfjs counts them.

// %%
import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { setupBackend } from "../lib/backend/mod.ts";
import { buildDetector, summarizeModel, TRUNKS } from "../lib/model/mod.ts";
import { featureMapSizes, priorCounts, SSDV2_PRIORS } from "../lib/detect/mod.ts";
import { scanSplit } from "../lib/data/dataset.ts";
import { chartBundle, notebookContext, pictureGrid, show, svgBundle, tableBundle } from "../lib/notebooks/mod.ts";

const ctx = await notebookContext();
console.log(ctx.banner);
const backend = await setupBackend({ log: () => {} });
console.log(`tfjs backend: ${backend.name}`);

// %% [markdown]
// ## Size and cost for each trunk and branch count
//
// Sixteen detectors (4 trunks x 1-4 branches), built with `buildDetector` and summarised with `summarizeModel`.

// %%
const costRows = TRUNKS.flatMap((trunk) =>
  ([1, 2, 3, 4] as const).map((branches) => {
    const d = buildDetector({ trunk, branches });
    const s = summarizeModel(d.model);
    d.model.dispose();
    return { trunk, branches, params: s.totalParams, macs: s.totalMacs, priors: d.priors.length / 4 };
  })
);
await show(tableBundle({
  caption: "Parameters, MACs per 240x320 image and priors, per trunk and branch count",
  columns: ["trunk", "branches", "parameters", "MMACs", "priors"],
  rows: costRows.map((r) => [r.trunk, r.branches, r.params, r.macs / 1e6, r.priors]),
  digits: 1,
}));
console.log(
  `SSDv2 with 4 branches: ${costRows.find((r) => r.trunk === "ssdv2" && r.branches === 4)!.params.toLocaleString()} ` +
    "parameters (the paper gives no parameter count; its text describes the same block layout)",
);

// %%
await show(
  await chartBundle({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Parameters vs MACs (each point: one trunk with 1-4 branches)",
    data: { values: costRows.map((r) => ({ ...r, mparams: r.params / 1e6, gmacs: r.macs / 1e9 })) },
    mark: { type: "line", point: true },
    width: 360,
    height: 220,
    encoding: {
      x: { field: "mparams", type: "quantitative", title: "parameters (millions)" },
      y: { field: "gmacs", type: "quantitative", title: "GMACs per image" },
      color: { field: "trunk", type: "nominal" },
      order: { field: "branches", type: "quantitative" },
      tooltip: [{ field: "trunk" }, { field: "branches" }, { field: "params" }, { field: "macs" }],
    },
  }),
);

// %% [markdown]
// ## The SSDv2 layers
//
// Output shape (batch dimension left out), parameters and MACs of every layer of SSDv2 with 4 branches that has
// weights or multiplications (activations, reshapes and concatenations are left out). The last layers are the
// per-branch heads: a classification conv (3 scores per prior) and a regression conv (4 offsets per prior).

// %%
const ssdv2 = buildDetector({ trunk: "ssdv2", branches: 4 });
const summary = summarizeModel(ssdv2.model, { skipEmpty: true });
ssdv2.model.dispose(); // the priors stay: they are plain numbers
await show(tableBundle({
  caption: `SSDv2, 4 branches: ${summary.layers.length} layers with weights, ` +
    `${summary.totalParams.toLocaleString()} parameters, ${(summary.totalMacs / 1e6).toFixed(1)} MMACs`,
  columns: ["layer", "type", "output shape", "parameters", "MACs"],
  rows: summary.layers.map((l) => [l.name, l.type, `[${l.outputShape.slice(1).join(", ")}]`, l.params, l.macs]),
}));

// %% [markdown]
// ## The priors
//
// Each feature map cell carries square priors of fixed pixel sizes (docs/design.md): 10/16/24 px on the
// stride-8 map, 32/48, 64/96 and 128/192/256 px on the others, 4,420 priors in all. The drawing shows the priors of a
// few cells of each map (drawn clipped to the image) on a val image stretched to the model input (the model sees every image at 320x240, so
// priors are squares at that scale and stretch with the image). The smallest faces of the data set (see 01) are
// about 10 px at the input: only the stride-8 map covers them.

// %%
const maps = featureMapSizes(SSDV2_PRIORS);
const counts = priorCounts(SSDV2_PRIORS);
await show(tableBundle({
  caption: "Feature maps and priors of SSDv2 at 240x320",
  columns: ["branch", "stride", "map (rows x cols)", "prior sizes (px)", "priors"],
  rows: maps.map(([r, c], k) => [k + 1, SSDV2_PRIORS.steps[k], `${r} x ${c}`, SSDV2_PRIORS.sizes[k].join(", "), counts[k]]),
}));

// %%
// One colour per branch, none of them the class colours (green face_mask, red face) used in every other drawing.
const MAP_COLORS = ["#377eb8", "#ff7f00", "#984ea3", "#a6761d"];
const val = await scanSplit(ctx.data.root, "val");
const sample = val.records[0];
const bytes = await Deno.readFile(sample.imagePath);
const offsets = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0));
const pictures = maps.map(([rows, cols], k) => {
  const nSizes = SSDV2_PRIORS.sizes[k].length;
  // The centre cell, plus two quarter points on the fine maps (the coarse maps' priors would cover the image).
  const cells = [[rows >> 1, cols >> 1]];
  if (k < 2) cells.push([rows >> 2, cols >> 2], [(3 * rows) >> 2, (3 * cols) >> 2]);
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const boxes: [number, number, number, number][] = [];
  for (const [i, j] of cells) {
    for (let s = 0; s < nSizes; s++) {
      const p = (offsets[k] + (i * cols + j) * nSizes + s) * 4;
      const [cx, cy, w, h] = ssdv2.priors.subarray(p, p + 4);
      boxes.push([clip(cx - w / 2), clip(cy - h / 2), clip(cx + w / 2), clip(cy + h / 2)]);
    }
  }
  return {
    bytes,
    width: sample.width,
    height: sample.height,
    boxes,
    labels: boxes.map(() => 0),
    colors: boxes.map(() => MAP_COLORS[k]),
    texts: boxes.map(() => ""),
    caption: `branch ${k + 1}: stride ${SSDV2_PRIORS.steps[k]}, ${rows}x${cols} cells, ` +
      `${SSDV2_PRIORS.sizes[k].join("/")} px`,
  };
});
await show(svgBundle(pictureGrid(pictures, { columns: 2, cellWidth: 320 }), `[priors over ${sample.id}]`));
