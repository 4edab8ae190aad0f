import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend/mod.ts";
import { DEFAULT_CONFIG } from "../runs/config.ts";
import { EPOCH_COLUMNS } from "../runs/train_log.ts";
import { testProvenance } from "../runs/testing.ts";
import type { CpuInfo } from "../runs/run.ts";
import { CLASS_COLORS } from "./charts.ts";
import { findChromium, inspectPage } from "../util/devtools.ts";
import { renderPage, type SiteSection } from "./html.ts";
import { buildReport, cpuText, detectionPicture, exampleImages, REFERENCE_RESULTS } from "./site.ts";
import { readVegaScripts } from "./vendor.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const TRAINED_RUN = `${REPO}results/ablation/branches-4-20261129-122037`;
const DATA = Deno.env.get("FACEMASK_DATA");

const BY_SIZE = {
  sizeDefinition: "sqrt(w*h) at 320x240",
  displayThreshold: 0.5,
  iouThreshold: 0.5,
  buckets: [
    {
      name: "0-32",
      lo: 0,
      hi: 32,
      numGt: 10,
      perClass: { face_mask: { numGt: 4, ap: 0.5, recall: 0.25 }, face: { numGt: 6, ap: 0.25, recall: 0.5 } },
    },
    {
      name: "32+",
      lo: 32,
      hi: null,
      numGt: 5,
      perClass: { face_mask: { numGt: 2, ap: 1, recall: 1 }, face: { numGt: 3, ap: 0.75, recall: 2 / 3 } },
    },
  ],
};
const point = (threshold: number, tp: number, fp: number, fn: number) => ({
  threshold,
  tp,
  fp,
  fn,
  precision: tp / (tp + fp),
  recall: tp / (tp + fn),
  f1: (2 * tp) / (2 * tp + fp + fn),
});
const OPERATING = {
  displayThreshold: 0.5,
  iouThreshold: 0.5,
  perClass: {
    face_mask: { npos: 6, display: point(0.5, 4, 1, 2), best: point(0.3, 5, 2, 1) },
    face: { npos: 9, display: point(0.5, 6, 3, 3), best: point(0.5, 6, 3, 3) },
  },
};
const CONFUSION = {
  labels: ["face_mask", "face", "background"],
  counts: [[4, 1, 1], [0, 6, 3], [1, 3, 0]],
  displayThreshold: 0.5,
  iouThreshold: 0.5,
  ignoredDetections: 0,
};

type RunSpec = {
  rel: string;
  name: string;
  experiment: string;
  branches: number;
  priors?: "own" | "carry";
  trunk?: string;
  /** Epochs logged; the schedule is 2. */
  logged: number;
  map?: number;
  cpu?: CpuInfo;
  extra?: Record<string, unknown>;
};

/** A results folder with run folders of the paper-schedule ablation, a short ablation, short backbones and quick runs. */
async function fixture(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "report_fixture_" });
  const mk = async (r: RunSpec) => {
    const dir = `${root}/${r.rel}`;
    await Deno.mkdir(dir, { recursive: true });
    const write = (name: string, v: unknown) =>
      Deno.writeTextFile(`${dir}/${name}`, typeof v === "string" ? v : JSON.stringify(v));
    const finished = r.logged >= 2;
    await write("config.json", {
      ...DEFAULT_CONFIG,
      name: r.name,
      experiment: r.experiment,
      model: { ...DEFAULT_CONFIG.model, trunk: r.trunk ?? "ssdv2", branches: r.branches, priors: r.priors ?? "own" },
      train: { ...DEFAULT_CONFIG.train, epochs: 2 },
    });
    await write(
      "provenance.json",
      testProvenance({
        commit: "0123456789abcdef",
        data: { label: "real", root: "/somewhere/aizoo-facemask", trainImages: 3069, valImages: 930 },
        backend: { name: "native", threads: 2 },
        host: { hostname: "h", os: "linux", arch: "x86_64", cpus: 2, deno: "2", ...(r.cpu ? { cpu: r.cpu } : {}) },
        start: "2026-01-01T00:00:00Z",
        end: finished ? "2026-01-01T01:00:00Z" : null,
        trainImgPerSec: 36,
      }),
    );
    const lines = Array.from({ length: r.logged }, (_, i) => {
      const map = i === 1 ? String(r.map ?? 0.5) : "";
      return `${i + 1},10,0.01,${3 - i},${2 - i / 2},${1 - i / 4},36,60,${map},${map},${map}`;
    });
    await write("train_log.csv", `${EPOCH_COLUMNS.join(",")}\n${lines.join("\n")}\n`);
    if (!finished || r.map === undefined) return;
    await write("metrics.json", {
      map: r.map,
      voc: { face_mask: { ap: r.map + 0.05 }, face: { ap: r.map - 0.05 } },
      data: { label: "real", images: 930 },
      speed: { forwardImgPerSec: 120, evalImgPerSec: 80 },
      weightsEpoch: 2,
      ...r.extra,
    });
    for (const c of ["face_mask", "face"]) {
      await write(`pr_${c}.json`, {
        name: c,
        npos: 2,
        scores: [0.9, 0.8],
        recall: [0.5, 1],
        precision: [1, 0.5],
        interpolated: [1, 0.5],
        ap: r.map,
        ap11: r.map,
      });
    }
  };
  await mk({
    rel: "ablation/branches-4-20260101-000000",
    name: "branches-4",
    experiment: "ablation",
    branches: 4,
    logged: 2,
    map: 0.8,
    cpu: { model: "AMD EPYC", isa: "AVX2" },
    extra: { bySize: BY_SIZE, operating: OPERATING, confusion: CONFUSION },
  });
  await mk({
    rel: "ablation/carry-1-20260102-000000",
    name: "carry-1",
    experiment: "ablation",
    branches: 1,
    priors: "carry",
    logged: 1,
  });
  for (const k of [2, 4]) {
    await mk({
      rel: `ablation/short/branches-${k}-20260103-000000`,
      name: `branches-${k}`,
      experiment: "ablation/short",
      branches: k,
      logged: 2,
      map: 0.3 + k / 10,
    });
  }
  await mk({
    rel: "backbones/short/backbone-slim-20260104-000000",
    name: "backbone-slim",
    experiment: "backbones/short",
    branches: 4,
    trunk: "slim",
    logged: 2,
    map: 0.4,
  });
  await mk({
    rel: "ablation/quick/branches-1-20260105-000000",
    name: "branches-1",
    experiment: "ablation/quick",
    branches: 1,
    logged: 2,
    map: 0.01,
  });
  return root;
}

const section = (sections: SiteSection[], id: string) => sections.find((s) => s.id === id)!;

Deno.test("buildReport: paper-schedule Table 2 first, curves of the table runs, evaluation and speed tables", async () => {
  const root = await fixture();
  const base = root.split("/").pop()!;
  try {
    const report = await buildReport(root, { generatedAt: "T" });
    assert.deepEqual(report.sections.map((s) => s.id), [
      "reference",
      "table2",
      "backbones",
      "curves",
      "detections",
      "evaluation",
      "speed",
      "demo",
      "runs",
      "quick",
    ]);
    assert.equal(report.sections[0].tables![0], REFERENCE_RESULTS);

    // Table 2 (lib/reporting/table2.ts): the finished 4-branch run fills both readings; the carry k=1 run is pending.
    const table2 = section(report.sections, "table2");
    const t2 = table2.tables![0];
    assert.match(t2.caption!, /paper's schedule/);
    assert.deepEqual(t2.rows.map((r) => [r[0], r[1], r[2], r[3], r[5], r[6], r[8]]), [
      ["carry", 4, 1, 80, 85, 75, 72.79],
      ["own", 4, 1, 80, 85, 75, 72.79],
    ]);
    assert.ok(table2.notes!.some((n) =>
      n.includes(`carry k=1 seed 1 (${base}/ablation/carry-1-20260102-000000)`) &&
      n.includes("epoch 1 of 2")
    ));
    const folders = table2.tables![1];
    assert.deepEqual(folders.rows.map((r) => [r[0], r[5]]), [
      [`${base}/ablation/carry-1-20260102-000000`, "under way"],
      [`${base}/ablation/branches-4-20260101-000000`, "in table"],
    ]);
    // The shorter schedule follows as its own table, 40 and 50 %.
    const short = table2.tables![2];
    assert.match(short.caption!, /Shorter schedule: short schedule/);
    assert.deepEqual(short.rows.map((r) => r[short.columns.indexOf("mAP ours (%)")]), [50, 70]);
    assert.equal(table2.charts!.length, 2);

    // Curves: every run of the tables (Table 2's two, the backbone table's two, the short ablation's), none quick.
    const titles = section(report.sections, "curves").charts!.map((c) => c.title);
    assert.deepEqual(titles.slice(0, 3), [
      `P-R: ${base}/ablation/branches-4-20260101-000000`,
      `Training: ${base}/ablation/branches-4-20260101-000000`,
      `Training: ${base}/ablation/carry-1-20260102-000000`,
    ]);
    assert.ok(titles.includes(`P-R: ${base}/backbones/short/backbone-slim-20260104-000000`));
    assert.ok(titles.includes(`P-R: ${base}/ablation/short/branches-2-20260103-000000`));
    assert.ok(!titles.some((t) => t.includes("quick")));
    // 4 runs with P-R + training, 1 unfinished with training only.
    assert.equal(titles.length, 9);

    assert.match(section(report.sections, "detections").warning!, /No data folder given/);

    // By size, operating points and confusion of the Table 2 run, from its metrics.json.
    const evaluation = section(report.sections, "evaluation");
    assert.deepEqual(evaluation.tables!.map((t) => t.caption!.split(":")[0]), [
      "AP and recall by face size",
      "Operating points",
      "Confusion matrix",
    ]);
    const bySize = evaluation.tables![0];
    assert.match(bySize.caption!, new RegExp(`${base}/ablation/branches-4-20260101-000000 on its own val split`));
    assert.deepEqual(bySize.rows.map((r) => [r[0], r[1], r[4], r[5]]), [["0-32", 10, 50, 25], ["32+", 5, 100, 75]]);
    assert.deepEqual(evaluation.tables![2].rows[1], ["face", 0, 6, 3]);
    assert.deepEqual(evaluation.charts!.map((c) => c.title.split(":")[0]), ["AP by face size", "Confusion"]);

    // Speed with the CPU: recorded for the Table 2 run, "CPU not recorded" for the others.
    const speed = section(report.sections, "speed").tables![0];
    const cpu = speed.columns.indexOf("CPU");
    assert.deepEqual(speed.rows[0].slice(0, 8), [
      `${base}/ablation/branches-4-20260101-000000`,
      "ssdv2",
      4,
      "native",
      2,
      120,
      80,
      36,
    ]);
    assert.equal(speed.rows[0][cpu], "AMD EPYC (AVX2)");
    assert.equal(speed.rows[1][cpu], "CPU not recorded");
    assert.ok(section(report.sections, "speed").notes!.some((n) => /CPU not recorded/.test(n)));

    assert.match(section(report.sections, "demo").warning!, /demo\/index\.html is not built yet/);
    // The main page's run list leaves the quick checks out; they sit in the collapsed last section.
    const runs = section(report.sections, "runs");
    assert.equal(runs.tables![0].rows.length, 5);
    assert.ok(!runs.links!.some((l) => l.href.includes("quick")));
    const quick = section(report.sections, "quick");
    assert.equal(quick.collapsed, true);
    assert.deepEqual(quick.links!.map((l) => l.href), ["ablation/quick/branches-1-20260105-000000/"]);
    assert.equal(report.banner, undefined);

    // No path of this machine in the page: runs are named relative to the results folder's parent.
    const html = renderPage(report);
    assert.ok(!html.includes(root), "the page holds the fixture's absolute path");
    assert.ok(!html.includes("/somewhere/"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("buildReport: the demo link when results/demo/index.html exists; by-size from reproduce.json", async () => {
  const root = await fixture();
  const base = root.split("/").pop()!;
  try {
    await Deno.mkdir(`${root}/demo`);
    await Deno.writeTextFile(`${root}/demo/index.html`, "<html></html>");
    // A reproduce of the short 2-branch run (not a Table 2 run with its own by-size results).
    await Deno.mkdir(`${root}/reproduce`);
    const reproduced = { reading: "own", branches: 4, seed: 1, role: "table" };
    const evaluation = { map: 0.8, ap: { face_mask: 0.85, face: 0.75 }, recorded: 0.8, diffPoints: 0, seconds: 9 };
    await Deno.writeTextFile(
      `${root}/reproduce/reproduce.json`,
      JSON.stringify({
        cpu: { model: "Intel Xeon", isa: "AVX-512" },
        date: "D",
        tolerancePoints: 0.1,
        seconds: 60,
        runs: [
          {
            ...reproduced,
            run: `${base}/ablation/branches-4-20260101-000000`,
            evaluations: [{ ...evaluation, label: "x (the run's own)", images: 930, bySize: BY_SIZE }],
          },
          {
            ...reproduced,
            run: `${base}/ablation/carry-1-20260102-000000`,
            evaluations: [{ ...evaluation, label: "aizoo-val1497-val", images: 1496, bySize: BY_SIZE }],
          },
        ],
        unfinished: [],
        mismatches: [],
      }),
    );
    const report = await buildReport(root, { generatedAt: "T" });
    assert.deepEqual(section(report.sections, "demo").links, [
      { href: "demo/index.html", label: `${base}/demo/index.html` },
    ]);
    const captions = section(report.sections, "evaluation").tables!.map((t) => t.caption!);
    // The 4-branch run's own by-size table comes from its metrics.json once; the carry run's from reproduce.json.
    assert.equal(captions.filter((c) => c.startsWith("AP and recall by face size")).length, 2);
    assert.ok(captions.includes(
      `AP and recall by face size: ${base}/ablation/carry-1-20260102-000000 on aizoo-val1497-val, from ` +
        "reproduce.json (1496 images)",
    ));
    assert.ok(section(report.sections, "speed").notes!.some((n) => n.includes("Intel Xeon (AVX-512)")));
    // A reproduce.json that is not what reproduceTable2 writes is an error naming the file and the field.
    await Deno.writeTextFile(`${root}/reproduce/reproduce.json`, JSON.stringify({ date: "D" }));
    await assert.rejects(buildReport(root), /reproduce\/reproduce\.json: field "cpu": missing/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("buildReport on an empty results folder says what is missing instead of inventing numbers", async () => {
  const root = await Deno.makeTempDir();
  const report = await buildReport(root, { generatedAt: "T" });
  assert.match(section(report.sections, "runs").warning!, /No run folders were found/);
  assert.match(section(report.sections, "table2").warning!, /No finished paper-schedule Table 2 run/);
  assert.equal(report.banner, undefined);
  assert.deepEqual(report.sections.flatMap((s) => s.charts ?? []), []);
  assert.equal(report.sections.some((s) => s.id === "quick"), false);
  await Deno.remove(root);
});

Deno.test("cpuText: model and ISA, the model alone, or CPU not recorded", () => {
  assert.equal(cpuText({ host: { cpu: { model: "AMD EPYC", isa: "AVX2" } } }), "AMD EPYC (AVX2)");
  assert.equal(cpuText({ host: { cpu: { model: "M2", isa: "unknown" } } }), "M2");
  assert.equal(cpuText({ host: { cpu: { model: "unknown", isa: "unknown" } } }), "CPU not recorded");
  assert.equal(cpuText({ host: {} }), "CPU not recorded");
  assert.equal(cpuText(null), "CPU not recorded");
  assert.equal(cpuText(undefined), "CPU not recorded");
});

Deno.test({
  name: "detectionPicture: the trained SSDv2 finds the faces of val images holding both classes, in class colours",
  ignore: !DATA,
  fn: async () => {
    const examples = await exampleImages(DATA!, 2);
    assert.equal(examples.length, 2);
    for (const e of examples) assert.ok(e.labels.includes(1) && e.labels.includes(2), e.id);
    await setupBackend({ backend: "cpu", log: () => {} });
    const before = tf.memory().numTensors;
    const drawn = await detectionPicture(TRAINED_RUN, DATA!, { count: 2, backend: "cpu" });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(drawn.images, 2);
    // Each image has at least one face of each class; a model at 84 % val mAP finds most of them.
    const faces = examples.reduce((n, e) => n + e.boxes.length, 0);
    assert.ok(drawn.detections >= faces / 2 && drawn.detections <= 3 * faces, `${drawn.detections} for ${faces}`);
    // Ground truth dashed, detections solid, both classes in their colours.
    const solid = [...drawn.svg.matchAll(/<rect [^>]*stroke="(#[0-9a-f]+)" stroke-width="2"\/>/g)].map((m) => m[1]);
    assert.equal(solid.length, drawn.detections);
    assert.ok(solid.includes(CLASS_COLORS.face_mask) && solid.includes(CLASS_COLORS.face), solid.join(" "));
    assert.equal((drawn.svg.match(/stroke-dasharray/g) ?? []).length, faces);
  },
});

Deno.test({
  name: "the report page with real charts loads offline in Chromium without console errors",
  ignore: !findChromium(),
  fn: async () => {
    const root = await fixture();
    try {
      const report = await buildReport(root, { generatedAt: "T" });
      const charts = report.sections.reduce((n, s) => n + (s.charts?.length ?? 0), 0);
      await Deno.writeTextFile(`${root}/index.html`, renderPage(report, { scripts: await readVegaScripts() }));
      const page = await inspectPage(`file://${root}/index.html`, {
        screenshot: Boolean(Deno.env.get("SITE_SCREENSHOT")),
        evaluate: "document.querySelectorAll('.chart svg.marks').length",
      });
      if (page.screenshot) await Deno.writeFile(Deno.env.get("SITE_SCREENSHOT")!, page.screenshot);
      assert.deepEqual(page.consoleErrors, []);
      assert.deepEqual(page.exceptions, []);
      assert.deepEqual(page.networkRequests, []);
      // Table 2 and the short ablation (2), the backbone chart (1), 9 curves, by-size and confusion (2).
      assert.equal(charts, 14);
      assert.equal(page.ready, String(charts));
      assert.equal(page.evaluated, charts);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
