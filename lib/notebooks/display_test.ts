import assert from "node:assert/strict";
import sharp from "sharp";
import {
  CHART_PNG_SCALE,
  chartBundle,
  chartSvg,
  pngSize,
  show,
  svgBundle,
  svgSize,
  tableBundle,
  tableText,
  VEGALITE_MIME,
} from "./display.ts";
import { frameTable } from "../reporting/html.ts";
import { pictureGrid } from "../reporting/draw.ts";

const fromBase64 = (s: unknown) => Uint8Array.from(atob(String(s)), (c) => c.charCodeAt(0));

const spec = {
  title: "bars",
  data: { values: [{ k: "a", v: 1 }, { k: "b", v: 3 }] },
  mark: "bar",
  encoding: { x: { field: "k", type: "nominal" }, y: { field: "v", type: "quantitative" } },
};

Deno.test("chartSvg draws one rect path per bar and the title", async () => {
  const svg = await chartSvg(spec);
  assert.ok(svg.startsWith("<svg"));
  assert.ok(svg.includes(">bars</text>"));
  const bars = svg.match(/<g class="mark-rect role-mark marks"[^>]*>(.*?)<\/g>/);
  assert.ok(bars);
  assert.equal((bars[1].match(/<path /g) ?? []).length, 2);
});

Deno.test("chartBundle carries the spec, its SVG, a PNG at twice the chart's size shown at its size, a text line", async () => {
  const { data: b, metadata } = await chartBundle(spec);
  assert.deepEqual(Object.keys(b).sort(), [VEGALITE_MIME, "image/png", "image/svg+xml", "text/plain"].sort());
  // The spec goes out unchanged except for the v5 schema JupyterLab's renderer expects.
  assert.deepEqual(b[VEGALITE_MIME], { ...spec, $schema: "https://vega.github.io/schema/vega-lite/v5.json" });
  assert.equal(b["text/plain"], "[Vega-Lite chart: bars]");
  const svg = svgSize(String(b["image/svg+xml"]))!;
  const png = pngSize(fromBase64(b["image/png"]));
  assert.equal(CHART_PNG_SCALE, 2);
  assert.deepEqual(png, { width: svg.width * 2, height: svg.height * 2 });
  assert.deepEqual(metadata, { "image/png": { width: svg.width, height: svg.height } });
});

Deno.test("svgBundle rasterises a picture at its size: the PNG shows the image and the class-coloured box", async () => {
  // A 40x20 image, left half black, right half white, with a face (red) box over the right half.
  const w = 40, h = 20;
  const raw = new Uint8Array(w * h * 3).map((_, i) => (Math.floor(i / 3) % w >= w / 2 ? 255 : 0));
  const bytes = new Uint8Array(await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
  const svg = pictureGrid([{ bytes, width: w, height: h, boxes: [[0.5, 0, 1, 1]], labels: [2], texts: [""] }], {
    columns: 1,
    cellWidth: 80,
  });
  const { data, metadata } = await svgBundle(svg, "[one picture]");
  assert.equal(data["text/plain"], "[one picture]");
  assert.equal(data["image/svg+xml"], svg);
  const png = fromBase64(data["image/png"]);
  // Cell 80 wide, image 40 high, caption row 18 + gap 6.
  assert.deepEqual(pngSize(png), { width: 80, height: 64 });
  assert.deepEqual(metadata, { "image/png": { width: 80, height: 64 } });
  const { data: px, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...px.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
  const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]) <= 24);
  assert.ok(near(at(10, 20), [0, 0, 0]), `left half black, got ${at(10, 20)}`);
  assert.ok(near(at(60, 20), [255, 255, 255]), `right half white, got ${at(60, 20)}`);
  // The box's right edge (x 79) is drawn in the face colour #d73027.
  assert.ok(near(at(79, 20), [0xd7, 0x30, 0x27]), `red box edge, got ${at(79, 20)}`);
});

Deno.test("pngSize reads the IHDR size and rejects other bytes", () => {
  const png = new Uint8Array([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    0,
    0,
    0,
    13,
    73,
    72,
    68,
    82,
    0,
    0,
    1,
    44,
    0,
    0,
    0,
    7,
  ]);
  assert.deepEqual(pngSize(png), { width: 300, height: 7 });
  assert.throws(() => pngSize(new Uint8Array(30)), /not a PNG/);
  assert.equal(svgSize("<svg xmlns='x'>"), null);
});

Deno.test("chartSvg errors name the chart", async () => {
  await assert.rejects(chartSvg({ title: "broken", mark: "nosuchmark" }), /chartSvg: cannot render chart "broken"/);
});

Deno.test("tableText pads columns and shows missing values as a dash", () => {
  assert.equal(
    tableText({ columns: ["class", "AP"], rows: [["face_mask", 0.5], ["face", null]], caption: "APs" }),
    "APs\nclass      AP\n---------  ----\nface_mask  0.50\nface       -",
  );
});

Deno.test("frameTable takes danfo-like frames; tableBundle has html and text", () => {
  const t = frameTable({ columns: ["a", "b"], values: [[1, "x"], [2, "y"]] }, { digits: 1 });
  assert.deepEqual(t, { columns: ["a", "b"], rows: [[1, "x"], [2, "y"]], caption: undefined, digits: 1 });
  const b = tableBundle(t);
  assert.ok(String(b["text/html"]).startsWith("<table><thead><tr><th>a</th><th>b</th>"));
  assert.equal(b["text/plain"], "a  b\n-  -\n1  x\n2  y");
});

Deno.test("show prints the text part outside a notebook", async () => {
  const logged: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => logged.push(a.join(" "));
  try {
    await show({ "text/html": "<b>x</b>", "text/plain": "plain x" });
    await show(Promise.resolve({ data: { "text/plain": "from display data" }, metadata: {} }));
  } finally {
    console.log = orig;
  }
  assert.deepEqual(logged, ["plain x", "from display data"]);
});

Deno.test("chartBundle takes the text of an object title (lib/reporting's charts use them)", async () => {
  const b = await chartBundle({ ...spec, title: { text: "Table 2", subtitle: "data: x" } });
  assert.equal(b.data["text/plain"], "[Vega-Lite chart: Table 2]");
  await assert.rejects(chartSvg({ title: { text: "broken" }, mark: "nosuchmark" }), /cannot render chart "broken"/);
});
