/** Source of notebooks/04_evaluate.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 04 · Evaluating the trained SSDv2
//
// The paper reports Pascal VOC AP at IoU 0.5: 80.97% for face_mask, 64.61% for face (mAP 72.79%) on its 1,839
// test images. We evaluate as the public code does (docs/design.md): keep detections scoring above 0.02,
// per-class NMS at IoU 0.4, at most 200 per image, then all-point VOC AP per class; `difficult` boxes count neither
// way. Beside it we give 11-point AP and COCO-style AP@[.5:.95] with its small/medium/large split (ours).
//
// Under `full` this reloads the kept weights of the SSDv2 run shown in 03 and evaluates them on the 930 val images
// of our subset (lib/inference `loadDetector`, lib/evaluation `evaluateModel`, lib/metrics `scoreDetections`). Under `smoke` it
// trains a tiny run on generated images first; its numbers mean nothing.

// %%
import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { boxIou } from "../lib/metrics/mod.ts";
import { dataLabelOf } from "../lib/data/label.ts";
import { perClassTable, prChartSpec, summaryFromEval } from "../lib/reporting/mod.ts";
import { evalOptionsOf, evaluateModel } from "../lib/evaluation/evaluate.ts";
import { loadRunData } from "../lib/experiments/pipeline.ts";
import { loadDetector } from "../lib/inference/mod.ts";
import { CLASS_NAMES, type Detection, OBJECT_CLASSES } from "../lib/types.ts";
import {
  chartBundle,
  displayPath,
  notebookContext,
  pictureGrid,
  show,
  showTable,
  ssdv2MissingNote,
  ssdv2RunDir,
  svgBundle,
  tableBundle,
} from "../lib/notebooks/mod.ts";

const ctx = await notebookContext();
console.log(ctx.banner);

const runDir = await ssdv2RunDir(ctx);
// Relative to the repository: the outputs must not carry the paths of the machine that ran them.
console.log(runDir === null ? ssdv2MissingNote(ctx.resultsDir) : `run folder: ${displayPath(runDir)}`);

// %% [markdown]
// ## Evaluation of the kept weights on the val split

// %%
const DISPLAY_SCORE = 0.5; // docs/design.md's display threshold for pictures
let evaluation: Awaited<ReturnType<typeof evaluateModel>> | null = null;
let dataLabel = "";
let val: Awaited<ReturnType<typeof loadRunData>>["val"] = [];
if (runDir !== null) {
  const detector = await loadDetector(runDir, { backend: "config", log: () => {} });
  const { config, model, priors } = detector;
  const backend = detector.backend!;
  // All val images (limitVal 0), whatever the run validated on while it trained.
  const data = await loadRunData({ ...config, data: { ...config.data, limitVal: 0 } }, {
    data: ctx.data.root,
    checksum: false,
  });
  val = data.val;
  evaluation = await evaluateModel(model, val, evalOptionsOf(config, priors));
  detector.dispose();
  const s = evaluation.speed;
  console.log(
    `${s.images} images (${data.provenance.label} data) on ${backend.name}: ${s.evalImgPerSec.toFixed(1)} img/s ` +
      `end to end, forward pass ${s.forwardImgPerSec.toFixed(1)} img/s, ${evaluation.result.numDetections} detections`,
  );
  const summary = summaryFromEval(evaluation.result, {
    experiment: `${config.experiment}/${config.name}`,
    trunk: config.model.trunk,
    branches: config.model.branches,
    dataLabel: dataLabelOf(data.provenance.label, s.images, data.provenance.trainImages),
    backend: backend.name,
  });
  dataLabel = summary.dataLabel;
  await showTable(await perClassTable(summary));
  const r = evaluation.result;
  const pct = (x: number | null) => (x === null ? null : 100 * x);
  await show(tableBundle({
    caption: "Other measures (%): 11-point VOC mAP and COCO-style AP",
    columns: ["VOC mAP (all-point)", "VOC mAP (11-point)", "COCO AP@[.5:.95]", "AP50", "AP75", "small", "medium", "large"],
    rows: [[r.map, r.map11, r.coco.ap, r.coco.ap50, r.coco.ap75, r.coco.small, r.coco.medium, r.coco.large].map(pct)],
  }));
}

// %% [markdown]
// ## Precision-recall curves
//
// One curve per class; the area under the monotone envelope of each curve is its all-point AP.

// %%
if (evaluation !== null) {
  const curves = OBJECT_CLASSES.map((c) => evaluation!.result.pr[c]);
  await show(await chartBundle(prChartSpec(curves, { dataLabel })));
}

// %% [markdown]
// ## Detections on val images
//
// Detections scoring at least 0.5 (solid, with their score) over the ground truth (dashed): face_mask green, face
// red. Images are the first eight of the val split.

// %%
function picture(record: (typeof val)[number], dets: Detection[], bytes: Uint8Array, caption: string) {
  const shown = dets.filter((d) => d.score >= DISPLAY_SCORE);
  return {
    bytes,
    width: record.width,
    height: record.height,
    boxes: [...record.boxes, ...shown.map((d) => d.box)],
    labels: [...record.labels, ...shown.map((d) => d.label)],
    dashed: [...record.boxes.map(() => true), ...shown.map(() => false)],
    texts: [...record.boxes.map(() => ""), ...shown.map((d) => `${CLASS_NAMES[d.label]} ${d.score.toFixed(2)}`)],
    caption,
  };
}
if (evaluation !== null) {
  const first = val.slice(0, 8);
  const pictures = await Promise.all(first.map(async (r) => {
    const dets = evaluation!.detections.get(r.id) ?? [];
    const n = dets.filter((d) => d.score >= DISPLAY_SCORE).length;
    return picture(r, dets, await Deno.readFile(r.imagePath), `${r.id}: ${r.boxes.length} faces, ${n} detections`);
  }));
  await show(svgBundle(pictureGrid(pictures, { columns: 4, cellWidth: 230 }), "[detections on val images]"));
}

// %% [markdown]
// ## The worst misses
//
// For each val image, the ground-truth faces (not `difficult`) that no detection of their class with score >= 0.5
// overlaps at IoU >= 0.5. The eight images with the most such misses, and how the misses split by class and size,
// show where the detector fails (the paper's claim is that SSDv2 does better on small faces).

// %%
if (evaluation !== null) {
  const misses = val.map((r) => {
    const dets = (evaluation!.detections.get(r.id) ?? []).filter((d) => d.score >= DISPLAY_SCORE);
    const missed = r.boxes.map((b, k) =>
      !r.difficult[k] && !dets.some((d) => d.label === r.labels[k] && boxIou(d.box, b) >= 0.5)
    );
    return { record: r, missed, count: missed.filter(Boolean).length };
  });
  const byClass = OBJECT_CLASSES.map((name, i) => {
    const label = i + 1;
    const all = misses.flatMap((m) => m.record.labels.map((l, k) => ({ l, k, m })).filter((x) => x.l === label));
    const missed = all.filter((x) => x.m.missed[x.k]);
    const side = (x: { k: number; m: (typeof misses)[number] }) => {
      const b = x.m.record.boxes[x.k];
      return Math.sqrt((b[2] - b[0]) * 320 * (b[3] - b[1]) * 240);
    };
    const small = (xs: typeof all) => xs.filter((x) => side(x) < 32).length;
    return [name, all.length, missed.length, all.length ? missed.length / all.length : null, small(all), small(missed)];
  });
  await show(tableBundle({
    caption: "Missed faces at score >= 0.5, IoU >= 0.5 (side = sqrt(w*h) at the 320x240 input)",
    columns: ["class", "faces", "missed", "miss rate", "faces < 32 px", "missed < 32 px"],
    rows: byClass,
  }));
  const worst = misses.filter((m) => m.count > 0).sort((a, b) => b.count - a.count).slice(0, 8);
  if (worst.length === 0) console.log("no missed faces at this threshold");
  else {
    const pictures = await Promise.all(worst.map(async (m) =>
      picture(
        m.record,
        evaluation!.detections.get(m.record.id) ?? [],
        await Deno.readFile(m.record.imagePath),
        `${m.record.id}: ${m.count} of ${m.record.boxes.length} missed`,
      )
    ));
    await show(svgBundle(pictureGrid(pictures, { columns: 4, cellWidth: 230 }), "[worst misses]"));
  }
}
