import assert from "node:assert/strict";
import sharp from "sharp";
import type { BySizeResult, ConfusionMatrix, PrCurve } from "../metrics/types.ts";
import {
  ablationChartSpec,
  backboneChartSpec,
  bySizeChartSpec,
  chartDisplayBundle,
  CLASS_COLORS,
  compileSpec,
  confusionChartSpec,
  downsampleIndices,
  prChartSpec,
  prCurveIndices,
  renderSvg,
  saveChart,
  svgToPng,
  trainingChartSpec,
  VEGALITE_MIME,
  type VlSpec,
} from "./charts.ts";
import type { RunSummary } from "./summary.ts";

const curve = (name: string, ap: number | null, n = 3): PrCurve => ({
  name,
  npos: ap === null ? 0 : n,
  scores: Array.from({ length: n }, (_, i) => 1 - i / n),
  recall: Array.from({ length: n }, (_, i) => (i + 1) / n),
  precision: Array.from({ length: n }, () => 1),
  interpolated: Array.from({ length: n }, () => 1),
  ap,
  ap11: ap,
});

const runs: RunSummary[] = [1, 2, 3, 4].map((b) => ({
  experiment: `b${b}`,
  trunk: `t${b}`,
  branches: b,
  map: 0.5 + b / 100,
  perClassAp: { face_mask: 0.6, face: 0.4 },
  fps: b === 2 ? undefined : 10 * b,
  dataLabel: "GENERATED data",
  backend: "cpu",
}));

// deno-lint-ignore no-explicit-any
const valuesOf = (spec: VlSpec): any[] => (spec.data as { values: unknown[] }).values;

Deno.test("prCurveIndices: keeps every true positive and the point before it, then thins evenly", () => {
  // ranks: TP FP FP TP FP TP -> recall steps at 0, 3 and 5
  const recall = [1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1];
  assert.deepEqual(prCurveIndices(recall, 100), [0, 2, 3, 4, 5]);
  assert.deepEqual(prCurveIndices(recall, 2), [0, 5]);
  assert.deepEqual(prCurveIndices([], 10), []);
  // 1,000 false positives after one true positive collapse to the two ends of the run.
  const flat = [0.5, ...Array(1000).fill(0.5), 1];
  assert.deepEqual(prCurveIndices(flat, 400), [0, 1000, 1001]);
});

Deno.test("downsampleIndices: evenly spaced ranks, first and last kept", () => {
  assert.deepEqual(downsampleIndices(10, 4), [0, 3, 6, 9]);
  assert.deepEqual(downsampleIndices(3, 10), [0, 1, 2]);
  assert.throws(() => downsampleIndices(10, 1), /at least 2/);
});

Deno.test("prChartSpec: AP in the legend labels, classes without ground truth left out, points capped", () => {
  const spec = prChartSpec([curve("face_mask", 0.75), curve("face", null), curve("x", 0.123456, 1000)], {
    maxPoints: 50,
  });
  const v = valuesOf(spec);
  const labels = [...new Set(v.map((r) => r.cls))];
  assert.deepEqual(labels, ["face_mask (AP 75.00%)", "x (AP 12.35%)"]);
  assert.equal(v.filter((r) => r.cls.startsWith("x")).length, 50);
  // Each class in its CLASS_COLORS colour; a class without one gets a colour that is neither green nor red.
  // deno-lint-ignore no-explicit-any
  const color = (spec.encoding as any).color.scale;
  assert.deepEqual(color, { domain: labels, range: [CLASS_COLORS.face_mask, "#4c78a8"] });
  compileSpec(spec);
});

Deno.test("ablationChartSpec: our bars and the paper's Table 2 values", () => {
  const spec = ablationChartSpec(runs);
  const v = valuesOf(spec);
  const paper = v.filter((r) => r.series.startsWith("paper")).map((r) => r.map);
  assert.deepEqual(paper, [62.35, 67.12, 70.93, 72.79]);
  const ours = v.filter((r) => r.series.startsWith("ours")).map((r) => Math.round(r.map * 100) / 100);
  assert.deepEqual(ours, [51, 52, 53, 54]);
  assert.match(JSON.stringify(spec.title), /not comparable with the paper/);
  compileSpec(spec);
});

Deno.test("trainingChartSpec: loss panel always, mAP panel only with evaluated epochs", () => {
  const rows = [{ epoch: 1, loss: 3, cls: 2, loc: 1 }, { epoch: 2, loss: 2, cls: 1.5, loc: 0.5, map: 0.25 }];
  const spec = trainingChartSpec(rows);
  const panels = spec.vconcat as VlSpec[];
  assert.equal(panels.length, 2);
  assert.equal(valuesOf(panels[0]).length, 6);
  assert.deepEqual(valuesOf(panels[1]), [{ epoch: 2, map: 25 }]);
  assert.equal((trainingChartSpec(rows.slice(0, 1)).vconcat as VlSpec[]).length, 1);
  compileSpec(spec);
});

Deno.test("backboneChartSpec: runs without FPS are left out", () => {
  const spec = backboneChartSpec(runs);
  assert.deepEqual(valuesOf(spec).map((r) => r.trunk), ["t1", "t3", "t4"]);
  compileSpec(spec);
});

Deno.test("compileSpec: rejects a spec vega-lite warns about or cannot compile", () => {
  assert.throws(
    () => compileSpec({ data: { values: [] }, mark: "bogus", encoding: {} }),
    /vega-lite|mark|bogus/i,
  );
  assert.throws(
    () => compileSpec({ data: { values: [] }, mark: "point", encoding: { x: { field: "a", type: "nonsense" } } }),
    /not clean|type/i,
  );
});

Deno.test("renderSvg / svgToPng: axis titles in the SVG, PNG at twice the size, text drawn with a font", async () => {
  const svg = await renderSvg(prChartSpec([curve("face_mask", 0.75)]));
  assert.match(svg, /^<svg/);
  assert.match(svg, />Recall</);
  assert.match(svg, />Precision</);
  assert.match(svg, /face_mask \(AP 75\.00%\)/);
  const w = Number(svg.match(/width="(\d+)"/)![1]);
  const png = svgToPng(svg);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, "png");
  assert.equal(meta.width, 2 * w);
  // A text-only SVG must produce dark pixels: without a usable font resvg would draw nothing.
  const text = '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30"><text x="2" y="24" ' +
    'font-family="sans-serif" font-size="24">Hg</text></svg>';
  const { data } = await sharp(svgToPng(text, { scale: 1 })).greyscale().raw().toBuffer({ resolveWithObject: true });
  assert.ok(data.some((v: number) => v < 100), "no text was drawn: install fonts-dejavu-core");
});

Deno.test("saveChart writes .vl.json, .svg and .png; chartDisplayBundle uses the v5 MIME key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const spec = backboneChartSpec(runs);
    const p = await saveChart(spec, `${dir}/bb`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(p.vl)), spec);
    assert.match(await Deno.readTextFile(p.svg), /Inference speed/);
    assert.deepEqual([...(await Deno.readFile(p.png)).slice(1, 4)], [80, 78, 71]); // "PNG"
    const bundle = await chartDisplayBundle(spec);
    assert.equal(VEGALITE_MIME, "application/vnd.vegalite.v5+json");
    assert.deepEqual(Object.keys(bundle), [VEGALITE_MIME, "image/svg+xml"]);
    assert.equal((bundle[VEGALITE_MIME] as VlSpec).$schema, "https://vega.github.io/schema/vega-lite/v5.json");
    assert.match(bundle["image/svg+xml"] as string, /^<svg/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const BY_SIZE: BySizeResult = {
  sizeDefinition: "sqrt(w * h)",
  displayThreshold: 0.5,
  iouThreshold: 0.5,
  buckets: [
    {
      name: "<16",
      lo: 0,
      hi: 16,
      numGt: 3,
      perClass: { face_mask: { numGt: 1, ap: 0.25, recall: 0 }, face: { numGt: 2, ap: 0.5, recall: 0.5 } },
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

Deno.test("bySizeChartSpec: grouped bars per bucket in the class colours; no bar without ground truth", async () => {
  const spec = bySizeChartSpec(BY_SIZE, { dataLabel: "GENERATED data" });
  assert.deepEqual(valuesOf(spec), [
    { bucket: "<16", cls: "face_mask", ap: 25, recall: 0, numGt: 1 },
    { bucket: "<16", cls: "face", ap: 50, recall: 50, numGt: 2 },
    { bucket: ">=16", cls: "face", ap: 100, recall: 100, numGt: 1 },
  ]);
  // deno-lint-ignore no-explicit-any
  const enc = spec.encoding as any;
  assert.deepEqual(enc.color.scale, { domain: ["face_mask", "face"], range: ["#1a9850", "#d73027"] });
  assert.deepEqual(CLASS_COLORS, { face_mask: "#1a9850", face: "#d73027" });
  assert.deepEqual(enc.x.sort, ["<16", ">=16"]);
  assert.equal(enc.xOffset.field, "cls");
  assert.match(JSON.stringify(spec.title), /not comparable with the paper/);
  const svg = await renderSvg(spec);
  assert.match(svg, /fill="#1a9850"/);
  assert.match(svg, /fill="#d73027"/);
  assert.match(svg, />Face size at the input \(px\)</);
});

Deno.test("confusionChartSpec: one cell per (ground truth, predicted) pair with its count", async () => {
  const m: ConfusionMatrix = {
    labels: ["face_mask", "face", "background"],
    counts: [[10, 2, 3], [1, 20, 4], [5, 6, 0]],
    displayThreshold: 0.5,
    iouThreshold: 0.5,
    ignoredDetections: 0,
  };
  const spec = confusionChartSpec(m);
  const v = valuesOf(spec);
  assert.equal(v.length, 9);
  // Colour is the share of the row: 2 of the 15 face_mask boxes, 5 of the 11 false alarms.
  assert.deepEqual(v[1], { gt: "face_mask", pred: "face", count: 2, share: 2 / 15 });
  assert.deepEqual(v[6], { gt: "background", pred: "face_mask", count: 5, share: 5 / 11 });
  assert.deepEqual(v[8], { gt: "background", pred: "background", count: 0, share: 0 });
  // deno-lint-ignore no-explicit-any
  const layer = spec.layer as any[];
  assert.equal(layer[0].encoding.color.field, "share");
  assert.equal(layer[1].encoding.text.field, "count");
  const empty = confusionChartSpec({ ...m, counts: [[0, 0, 0], [0, 0, 0], [0, 0, 0]] });
  assert.ok(valuesOf(empty).every((c) => c.share === 0));
  const svg = await renderSvg(spec);
  for (const n of [10, 2, 3, 1, 20, 4, 5, 6]) assert.match(svg, new RegExp(`>${n}</text>`));
  assert.match(svg, />Ground truth</);
  assert.match(svg, />Predicted</);
});
