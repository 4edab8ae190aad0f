import assert from "node:assert/strict";
import { writeTestRun } from "../lib/runs/testing.ts";

const CLI = new URL("./report.ts", import.meta.url).pathname;

async function report(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout), stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task report writes the page of a results folder; a --data folder without val/ is an error", async () => {
  const root = await Deno.makeTempDir({ prefix: "report_cli_" });
  try {
    const run = `${root}/ablation/quick/branches-1-20260101-000000`;
    // A run folder as training writes it (every reader checks config.json and metrics.json).
    await writeTestRun(run, {
      config: { model: { trunk: "ssdv2", branches: 1 } },
      metrics: { map: 0.25, voc: { face_mask: { ap: 0.3 } } },
    });
    const r = await report(["--results", root, "--data", `${root}/nowhere`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--data .*nowhere: no val\/ folder in it/);
    const ok = await report(["--results", root], { FACEMASK_DATA: "" });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /wrote .*index\.html \(\d+ KiB, 10 sections, 0 charts\)/);
    const html = await Deno.readTextFile(`${root}/index.html`);
    // No 4-branch SSDv2 run in this folder: the detections section says so rather than drawing anything.
    assert.match(html, /No evaluated SSDv2 \(4 branches\) run on real data: no example detections/);
    // The quick run is folded away at the end, not on the main page.
    assert.match(html, /<section id="quick"><details><summary>Quick runs/);
    assert.ok(!html.includes(root), "the page holds the results folder's absolute path");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task report rejects an unknown backend with a usage error", async () => {
  const r = await report(["--backend", "gpu", "--results", "/nonexistent"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--backend must be one of auto, tensorflow, native, wasm, cpu, got 'gpu'/);
});
