import assert from "node:assert/strict";
import { chartBundle, chartSvg, frameTable, show, tableBundle, tableText, VEGALITE_MIME } from "./display.ts";

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

Deno.test("chartBundle carries the spec, its SVG and a text line", async () => {
  const b = await chartBundle(spec);
  assert.deepEqual(Object.keys(b).sort(), [VEGALITE_MIME, "image/svg+xml", "text/plain"].sort());
  // The spec goes out unchanged except for the v5 schema JupyterLab's renderer expects.
  assert.deepEqual(b[VEGALITE_MIME], { ...spec, $schema: "https://vega.github.io/schema/vega-lite/v5.json" });
  assert.equal(b["text/plain"], "[Vega-Lite chart: bars]");
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
  } finally {
    console.log = orig;
  }
  assert.deepEqual(logged, ["plain x"]);
});

Deno.test("chartBundle takes the text of an object title (lib/report's charts use them)", async () => {
  const b = await chartBundle({ ...spec, title: { text: "Table 2", subtitle: "data: x" } });
  assert.equal(b["text/plain"], "[Vega-Lite chart: Table 2]");
  await assert.rejects(chartSvg({ title: { text: "broken" }, mark: "nosuchmark" }), /cannot render chart "broken"/);
});
