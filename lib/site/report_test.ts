import assert from "node:assert/strict";
import { EPOCH_COLUMNS } from "../train/log.ts";
import { findChromium, inspectPage } from "./browser.ts";
import { renderPage } from "./html.ts";
import { buildSiteReport, REFERENCE_RESULTS } from "./report.ts";
import { readVegaScripts } from "./vendor.ts";

/** Two evaluated ablation runs on generated data and one backbone run without metrics. */
async function fixture(): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const k of [1, 2]) {
    const dir = `${root}/ablation/quick/branches-${k}-20260101-000000`;
    await Deno.mkdir(dir, { recursive: true });
    const write = (name: string, v: unknown) =>
      Deno.writeTextFile(`${dir}/${name}`, typeof v === "string" ? v : JSON.stringify(v));
    await write("config.json", { model: { trunk: "ssdv2", branches: k }, backend: { name: "cpu" } });
    await write("metrics.json", {
      voc: { face_mask: { ap: 0.2 * k, ap11: 0.2 * k }, face: { ap: 0.1 * k, ap11: 0.1 * k } },
      map: 0.15 * k,
      map11: 0.15 * k,
    });
    await write("provenance.json", { data: { label: "generated", description: "gen" }, backend: { name: "cpu" } });
    for (const c of ["face_mask", "face"]) {
      await write(`pr_${c}.json`, {
        name: c,
        npos: 2,
        scores: [0.9, 0.8],
        recall: [0.5, 1],
        precision: [1, 0.5 * k],
        interpolated: [1, 0.5 * k],
        ap: 0.1 * k,
        ap11: 0.1 * k,
      });
    }
    await write(
      "train_log.csv",
      `${EPOCH_COLUMNS.join(",")}\n1,10,0.01,3,2,1,5,60,,,\n2,10,0.01,2,1.5,0.5,5,60,${0.15 * k},0.2,0.1\n`,
    );
  }
  await Deno.mkdir(`${root}/backbones/slim-1`, { recursive: true });
  await Deno.writeTextFile(`${root}/backbones/slim-1/config.json`, JSON.stringify({ model: { trunk: "slim" } }));
  return root;
}

Deno.test("buildSiteReport: runs table with links, Table 2 beside the paper, curves, generated-data banner", async () => {
  const root = await fixture();
  const report = await buildSiteReport(root, { generatedAt: "T" });
  assert.deepEqual(report.sections.map((s) => s.id), ["reference", "runs", "ablation", "backbones", "curves"]);
  assert.equal(report.sections[0].tables![0], REFERENCE_RESULTS);
  const runs = report.sections[1];
  assert.deepEqual(runs.tables![0].rows.map((r) => [r[1], r[3], r[4], r[8]]), [
    ["branches-1-20260101-000000", 1, 15, ""],
    ["branches-2-20260101-000000", 2, 30, ""],
    ["slim-1", 0, null, "no metrics.json"],
  ]);
  assert.equal(runs.links![0].href, "ablation/quick/branches-1-20260101-000000/");
  const table2 = report.sections[2].tables![0];
  const col = (name: string) => table2.columns.indexOf(name);
  // Ours 15 % and 30 %, paper 62.35 and 67.12, differences in points.
  assert.deepEqual(table2.rows.map((r) => [r[col("mAP ours (%)")], r[col("mAP paper (%)")], r[col("diff (points)")]]), [
    [15, 62.35, -47.35],
    [30, 67.12, -37.12],
  ]);
  assert.equal(report.sections[2].charts!.length, 1);
  assert.match(report.sections[3].warning!, /No evaluated backbone runs/);
  // Two runs x (P-R + training).
  assert.equal(report.sections[4].charts!.length, 4);
  assert.match(report.banner!, /^2 of 3 runs used GENERATED synthetic data/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("buildSiteReport: the backbone table takes the short 4-branch ablation run as its ssdv2 row", async () => {
  const root = await Deno.makeTempDir();
  const mk = async (rel: string, trunk: string) => {
    await Deno.mkdir(`${root}/${rel}`, { recursive: true });
    const w = (n: string, v: unknown) => Deno.writeTextFile(`${root}/${rel}/${n}`, JSON.stringify(v));
    await w("config.json", { model: { trunk, branches: 4 }, train: { epochs: 12 } });
    await w("metrics.json", { map: 0.5, voc: { face_mask: { ap: 0.6 }, face: { ap: 0.4 } } });
    await w("provenance.json", { data: { label: "real" }, backend: { name: "native" }, trainImgPerSec: 40 });
  };
  await mk("ablation/short/branches-4-20261129-000000", "ssdv2");
  let report = await buildSiteReport(root, { generatedAt: "T" });
  let backbones = report.sections.find((s) => s.id === "backbones")!;
  // No backbone run of its own: the section says so rather than showing the ablation run alone.
  assert.match(backbones.warning!, /No evaluated backbone runs/);
  await mk("backbones/short/backbone-slim-20261129-010000", "slim");
  report = await buildSiteReport(root, { generatedAt: "T" });
  backbones = report.sections.find((s) => s.id === "backbones")!;
  assert.equal(backbones.warning, undefined);
  const table = backbones.tables![0];
  assert.deepEqual(table.rows.map((r) => [r[0], r[1]]), [
    ["ssdv2", "ablation/short/branches-4-20261129-000000"],
    ["slim", "backbones/short/backbone-slim-20261129-010000"],
  ]);
  assert.match(table.caption ?? "", /short schedule/);
  assert.match(backbones.notes![0], /same config/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("buildSiteReport: one Table 2 per schedule, longest first, the newest run of each branch count", async () => {
  const root = await Deno.makeTempDir();
  const mk = async (rel: string, branches: number, map: number) => {
    await Deno.mkdir(`${root}/${rel}`, { recursive: true });
    const w = (n: string, v: unknown) => Deno.writeTextFile(`${root}/${rel}/${n}`, JSON.stringify(v));
    await w("config.json", { model: { trunk: "ssdv2", branches } });
    await w("metrics.json", { map, voc: { face_mask: { ap: map }, face: { ap: map } } });
    await w("provenance.json", { data: { label: "real" }, backend: { name: "native" } });
  };
  await mk("ablation/quick/branches-1-20261129-010000", 1, 0.01);
  await mk("ablation/short/branches-1-20261129-000000", 1, 0.2);
  await mk("ablation/short/branches-1-20261129-020000", 1, 0.3); // newer: replaces the one above
  await mk("ablation/short/branches-2-20261129-000000", 2, 0.4);
  const report = await buildSiteReport(root, { generatedAt: "T" });
  const ablation = report.sections.find((s) => s.id === "ablation")!;
  assert.deepEqual(ablation.tables!.map((t) => t.caption?.split(": ").at(-1)), [
    "short schedule (12 epochs, all data)",
    "quick runs (3 epochs on 1,536 images; a pipeline check)",
  ]);
  const short = ablation.tables![0];
  const col = short.columns.indexOf("mAP ours (%)");
  assert.deepEqual(short.rows.map((r) => r[col]), [30, 40]);
  assert.equal(ablation.tables![1].rows.length, 1);
  assert.equal(ablation.charts!.length, 2);
  await Deno.remove(root, { recursive: true });
});

Deno.test("buildSiteReport on an empty results folder says what is missing instead of inventing numbers", async () => {
  const root = await Deno.makeTempDir();
  const report = await buildSiteReport(root, { generatedAt: "T" });
  assert.match(report.sections[1].warning!, /No run folders were found/);
  assert.equal(report.banner, undefined);
  assert.deepEqual(report.sections.flatMap((s) => s.charts ?? []), []);
  await Deno.remove(root);
});

Deno.test({
  name: "the report page with real charts loads offline in Chromium without console errors",
  ignore: !findChromium(),
  fn: async () => {
    const root = await fixture();
    const report = await buildSiteReport(root, { generatedAt: "T" });
    await Deno.writeTextFile(`${root}/index.html`, renderPage(report, { scripts: await readVegaScripts() }));
    const page = await inspectPage(`file://${root}/index.html`, {
      screenshot: Boolean(Deno.env.get("SITE_SCREENSHOT")),
      evaluate: "document.querySelectorAll('.chart svg.marks').length",
    });
    if (page.screenshot) await Deno.writeFile(Deno.env.get("SITE_SCREENSHOT")!, page.screenshot);
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.exceptions, []);
    assert.deepEqual(page.networkRequests, []);
    assert.equal(page.ready, "5");
    assert.equal(page.evaluated, 5);
    await Deno.remove(root, { recursive: true });
  },
});
