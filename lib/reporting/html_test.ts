import assert from "node:assert/strict";
import { escapeHtml, formatCell, renderPage, renderTable, type Report, scriptJson } from "./html.ts";

Deno.test("escapeHtml escapes the five HTML metacharacters", () => {
  assert.equal(
    escapeHtml(`<a href="x">Tom & 'Jerry'</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;",
  );
});

Deno.test("formatCell: fixed decimals, em dash for missing and non-finite", () => {
  assert.equal(formatCell(72.7855, 2), "72.79");
  assert.equal(formatCell(3, 4), "3");
  assert.equal(formatCell(0.5), "0.50");
  assert.equal(formatCell(null), "\u2014");
  assert.equal(formatCell(undefined), "\u2014");
  assert.equal(formatCell(NaN), "\u2014");
  assert.equal(formatCell("x"), "x");
});

Deno.test("renderTable writes header, escaped cells and right-aligned numbers", () => {
  const html = renderTable({
    caption: "AP <val>",
    columns: ["class", "AP"],
    rows: [["face_mask", 0.5], ["a&b", null]],
  });
  assert.equal(
    html,
    "<table><caption>AP &lt;val&gt;</caption><thead><tr><th>class</th><th>AP</th></tr></thead><tbody>\n" +
      '<tr><td>face_mask</td><td class="num">0.50</td></tr>\n<tr><td>a&amp;b</td><td>\u2014</td></tr>\n</tbody></table>',
  );
});

Deno.test("renderTable rejects a row of the wrong length, naming the table and row", () => {
  assert.throws(
    () => renderTable({ caption: "T", columns: ["a", "b"], rows: [["x", 1], ["y"]] }),
    /"T": row 1 has 1 cells, expected 2/,
  );
});

Deno.test("scriptJson cannot close a script element and round-trips", () => {
  const value = { s: "</script><!-- & \u2028" };
  const text = scriptJson(value);
  assert.ok(!text.includes("<"));
  assert.ok(!text.includes(">"));
  assert.deepEqual(JSON.parse(text), value);
});

const spec = {
  $schema: "https://vega.github.io/schema/vega-lite/v5.json",
  data: { values: [{ a: "x", b: 1 }] },
  mark: "bar",
  encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
};

function report(overrides: Partial<Report> = {}): Report {
  return {
    title: "SSDv2 <reproduction>",
    generatedAt: "2026-01-01T00:00:00Z",
    banner: "generated data",
    sections: [{
      id: "ablation",
      title: "Ablation",
      notes: ["k-branch keeps branches 1..k"],
      tables: [{ columns: ["k", "mAP"], rows: [[1, 0.25]] }],
      charts: [{ title: "bars", spec, svg: "<svg></svg>" }],
      links: [{ href: "ablation/run-1/", label: "run 1" }],
    }],
    ...overrides,
  };
}

Deno.test("renderPage: title escaped, sections, chart placeholders with fallback, spec data embedded", () => {
  const html = renderPage(report(), { scripts: { vega: "/*VEGA*/", vegaLite: "/*VL*/" } });
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.ok(html.includes("<title>SSDv2 &lt;reproduction&gt;</title>"));
  assert.ok(html.includes('<p class="banner">generated data</p>'));
  assert.ok(html.includes('<section id="ablation">'));
  assert.ok(html.includes('<div id="chart-ablation-0" class="chart"><svg></svg></div>'));
  assert.ok(html.includes('<a href="ablation/run-1/">run 1</a>'));
  assert.ok(html.includes("<script>/*VEGA*/</script>"));
  assert.ok(html.includes("<script>/*VL*/</script>"));
  const m = html.match(/<script type="application\/json" id="site-charts">(.*?)<\/script>/);
  assert.ok(m);
  // The spec as given, less its $schema URL (the page holds no external address).
  const { $schema: _schema, ...bare } = spec;
  assert.deepEqual(JSON.parse(m[1]), [{ id: "chart-ablation-0", spec: bare }]);
  assert.ok(!html.includes("vega.github.io"));
  // No external resources: every src/href is relative or a fragment.
  assert.equal(/(src|href)="(https?:)?\/\//.test(html), false);
});

Deno.test("renderPage inlines scripts so a literal </script> inside cannot end the element", () => {
  const html = renderPage(report(), { scripts: { vega: 'var s = "</script>";', vegaLite: "" } });
  assert.ok(html.includes('var s = "<\\/script>";'));
});

Deno.test("renderPage refuses charts that would fetch data, and bad or duplicate section ids", () => {
  const withUrl = report();
  withUrl.sections[0].charts = [{ title: "c", spec: { ...spec, data: { url: "http://x/data.csv" } } }];
  assert.throws(() => renderPage(withUrl), /chart "c" in section "ablation": chart data must be inline/);
  const badId = report();
  badId.sections[0].id = "has space";
  assert.throws(() => renderPage(badId), /section id "has space"/);
  const dup = report();
  dup.sections.push({ ...dup.sections[0] });
  assert.throws(() => renderPage(dup), /duplicate section id "ablation"/);
});

Deno.test("renderPage: pictures inline as SVG figures, collapsed sections folded and left out of the navigation", () => {
  const r = report();
  r.sections[0].pictures = [{
    title: "detections <val>",
    svg: '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
  }];
  r.sections.push({ id: "quick", title: "Quick runs", collapsed: true, notes: ["pipeline checks"] });
  const html = renderPage(r);
  assert.ok(
    html.includes(
      '<figure class="picture"><figcaption>detections &lt;val&gt;</figcaption><svg xmlns="http://www.w3.org/2000/svg">' +
        "<rect/></svg></figure>",
    ),
  );
  assert.ok(html.includes('<section id="quick"><details><summary>Quick runs</summary>'));
  assert.ok(html.includes("<p>pipeline checks</p>\n</details></section>"));
  assert.ok(html.includes('<nav><a href="#ablation">Ablation</a></nav>'));
  r.sections[0].pictures = [{ title: "x", svg: "<img src=x>" }];
  assert.throws(() => renderPage(r), /picture "x" is not an SVG/);
});
