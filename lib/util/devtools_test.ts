import assert from "node:assert/strict";
import { findChromium, inspectPage } from "./devtools.ts";
import { renderPage } from "../reporting/html.ts";
import { readVegaScripts } from "../reporting/vendor.ts";

const chromium = findChromium();

Deno.test({
  name: "inspectPage reports console errors, exceptions and off-machine requests",
  ignore: !chromium,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const page = `${dir}/p.html`;
    await Deno.writeTextFile(
      page,
      `<html><head><title>T</title></head><body><img src="http://127.0.0.1:9/x.png">
<script>console.log("fine"); console.error("bad", 1); document.body.dataset.ready = "yes";
setTimeout(() => { throw new Error("late"); }, 0);</script></body></html>`,
    );
    const r = await inspectPage(`file://${page}`, { evaluate: "document.title", readyTimeoutMs: 3000 });
    assert.equal(r.ready, "yes");
    assert.equal(r.evaluated, "T");
    assert.ok(r.consoleErrors.includes("bad 1"), JSON.stringify(r.consoleErrors));
    assert.equal(r.exceptions.length, 1);
    assert.match(r.exceptions[0], /Error: late/);
    assert.deepEqual(r.networkRequests, ["http://127.0.0.1:9/x.png"]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "a rendered report page draws its Vega-Lite chart offline without console errors",
  ignore: !chromium,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const page = `${dir}/index.html`;
    const spec = {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      data: { values: [{ k: "1", mAP: 0.2 }, { k: "2", mAP: 0.4 }] },
      mark: "bar",
      encoding: { x: { field: "k", type: "nominal" }, y: { field: "mAP", type: "quantitative" } },
    };
    const html = renderPage({
      title: "t",
      generatedAt: "now",
      sections: [{ id: "s", title: "S", charts: [{ title: "c", spec }, { title: "d", spec }] }],
    }, { scripts: await readVegaScripts() });
    await Deno.writeTextFile(page, html);
    const r = await inspectPage(`file://${page}`, {
      screenshot: true,
      evaluate: "[...document.querySelectorAll('.chart svg .mark-rect path')].length",
    });
    assert.deepEqual(r.consoleErrors, []);
    assert.deepEqual(r.exceptions, []);
    assert.deepEqual(r.networkRequests, []);
    assert.equal(r.ready, "2");
    // Two charts with two bars each, drawn by vega as one path per bar.
    assert.equal(r.evaluated, 4);
    assert.deepEqual([...r.screenshot!.slice(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "inspectPage awaits a promise the expression returns, reports its rejection, passes extra chromium switches",
  ignore: !chromium,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const page = `${dir}/p.html`;
    await Deno.writeTextFile(page, `<html><body><script>document.body.dataset.ready = "1";</script></body></html>`);
    const ok = await inspectPage(`file://${page}`, {
      evaluate: "new Promise((r) => setTimeout(() => r({ n: 6 * 7 }), 50))",
      chromiumArgs: ["--lang=de"],
    });
    assert.deepEqual(ok.evaluated, { n: 42 });
    assert.deepEqual(ok.exceptions, []);
    const bad = await inspectPage(`file://${page}`, { evaluate: "Promise.reject(new Error('nope'))" });
    assert.equal(bad.evaluated, undefined);
    assert.equal(bad.exceptions.length, 1);
    assert.match(bad.exceptions[0], /^evaluate: Error: nope/);
    await Deno.remove(dir, { recursive: true });
  },
});
