import assert from "node:assert/strict";
import { listRuns, parseRunMetrics, readPrCurves, readRun, upgradeRunMetrics } from "./read.ts";
import { testMetrics, testProvenance, writeTestRun } from "./testing.ts";

const RESULTS = new URL("../../results", import.meta.url).pathname;
const FINISHED = `${RESULTS}/ablation/branches-4-20261129-122037`;

/** Every folder under results/ holding a config.json, found without lib/runs (results/_tmp and results/test aside). */
async function committedRunFolders(dir: string, top = true): Promise<string[]> {
  const found: string[] = [];
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  if (entries.some((e) => e.isFile && e.name === "config.json")) found.push(dir);
  for (const e of entries) {
    if (!e.isDirectory || (top && (e.name === "_tmp" || e.name === "test"))) continue;
    found.push(...await committedRunFolders(`${dir}/${e.name}`, false));
  }
  return found;
}

Deno.test("readRun: every run folder in results/ reads, finished or still training", async () => {
  const dirs = await committedRunFolders(RESULTS);
  assert.ok(dirs.length >= 10, `only ${dirs.length} run folders in results/`);
  for (const dir of dirs) {
    const run = await readRun(dir);
    assert.equal(run.dir, dir);
    assert.ok(run.files.includes("config.json"), dir);
    if (run.metrics) assert.equal(typeof run.metrics.map, "number", dir);
  }
});

Deno.test("readRun: the committed finished run, its 930-image and 1496-image evaluations", async () => {
  const run = await readRun(FINISHED + "/");
  assert.equal(run.dir, FINISHED);
  assert.equal(run.config.model.branches, 4);
  assert.equal(run.metrics!.map!.toFixed(4), "0.8415");
  assert.equal(run.metrics!.data!.images, 930);
  assert.equal(run.metrics!.voc.face_mask.ap!.toFixed(4), "0.8824");
  assert.deepEqual(run.metrics!.model, { params: 1043286, macs: 538038080 });
  // Written before the deployer's fields existed: they read as null, not as undefined.
  assert.equal(run.metrics!.bySize, null);
  assert.equal(run.metrics!.weightsEpoch, null);
  assert.equal(run.metrics!.bestEpoch, 70);
  assert.equal(run.provenance!.data.label, "real");
  assert.equal(run.provenance!.host.cpu, undefined);
  assert.equal(run.log.length, 100);
  assert.equal(run.log[99].epoch, 100);
  assert.deepEqual(run.evaluations.map((e) => e.name), ["aizoo-val1497-val"]);
  const v = run.evaluations[0].metrics;
  assert.equal(v.map!.toFixed(4), "0.8297");
  assert.equal(v.data!.images, 1496);
  assert.equal(v.bySize!.buckets[0].name, "<16");
  assert.equal(v.confusion!.labels.at(-1), "background");
  const curves = await readPrCurves(FINISHED);
  assert.deepEqual(curves.map((c) => c.name), ["face_mask", "face"]);
  assert.equal(curves[1].ap, run.metrics!.voc.face.ap);
});

Deno.test("listRuns: run folders by path, experiments relative to the results folder, scratch and non-runs skipped", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeTestRun(`${root}/ablation/quick/branches-2-x`, {
      metrics: testMetrics(0.4),
      provenance: testProvenance(),
    });
    await writeTestRun(`${root}/ablation/quick/branches-1-x`);
    await writeTestRun(`${root}/backbones/slim-y`, { provenance: testProvenance() });
    // A folder inside a run folder is not another run, whatever it holds.
    await writeTestRun(`${root}/backbones/slim-y/model_best`);
    await Deno.mkdir(`${root}/ablation/table-only`, { recursive: true });
    await Deno.writeTextFile(`${root}/ablation/table-only/table2.csv`, "k,map\n");
    for (const skipped of [".hidden/run", "_tmp/scratch", "node_modules/pkg"]) await writeTestRun(`${root}/${skipped}`);
    const runs = await listRuns(`${root}/`);
    assert.deepEqual(runs.map((r) => [r.experiment, r.runId, r.relPath]), [
      ["ablation/quick", "branches-1-x", "ablation/quick/branches-1-x"],
      ["ablation/quick", "branches-2-x", "ablation/quick/branches-2-x"],
      ["backbones", "slim-y", "backbones/slim-y"],
    ]);
    assert.equal(runs[1].dir, `${root}/ablation/quick/branches-2-x`);
    assert.deepEqual(runs[1].files, ["config.json", "metrics.json", "provenance.json"]);
    assert.equal(runs[1].metrics!.map, 0.4);
    assert.deepEqual([runs[0].metrics, runs[0].provenance, runs[0].log, runs[0].evaluations], [null, null, [], []]);
    assert.deepEqual(await listRuns(`${root}/nonexistent`), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readRun: evaluations under eval/ sorted by name; a folder without metrics.json is not one yet", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeTestRun(`${root}/r`, {
      metrics: testMetrics(0.8),
      evaluations: { "zz-val": testMetrics(0.2), "aizoo-val1497-val": testMetrics(0.7) },
      log: ["1,4,0.01,5,3,2,4,10,,,", "2,4,0.01,4,2.5,1.5,4,10,0.3,0.4,0.2"],
    });
    await Deno.mkdir(`${dir}/eval/in-progress`);
    const run = await readRun(dir);
    assert.deepEqual(run.evaluations.map((e) => [e.name, e.metrics.map]), [["aizoo-val1497-val", 0.7], [
      "zz-val",
      0.2,
    ]]);
    assert.deepEqual(run.log.map((r) => [r.epoch, r.loss, r.val_map]), [[1, 5, null], [2, 4, 0.3]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("upgradeRunMetrics: scores under final or val move up; params and MACs move into model", () => {
  const voc = { face_mask: { ap: 0.9 }, face: { ap: 0.7 } };
  const fromFinal = parseRunMetrics({ final: { voc, map: 0.8 }, speed: { forwardImgPerSec: 100 } });
  assert.deepEqual([fromFinal.map, fromFinal.voc.face.ap, fromFinal.voc.face.ap11, fromFinal.map11], [
    0.8,
    0.7,
    null,
    null,
  ]);
  assert.equal(fromFinal.speed!.forwardImgPerSec, 100);
  assert.equal(fromFinal.speed!.evalImgPerSec, null);
  assert.equal(parseRunMetrics({ val: { voc, map: 0.6 } }).map, 0.6);
  // A top-level score wins over a nested one.
  assert.equal(parseRunMetrics({ voc, map: 0.5, val: { voc, map: 0.6 } }).map, 0.5);
  assert.deepEqual(parseRunMetrics({ voc, map: 0.5, params: 10, macs: 20 }).model, { params: 10, macs: 20 });
  assert.deepEqual(parseRunMetrics({ voc, map: 0.5 }, { provenance: { params: 7 } }).model, { params: 7, macs: null });
  assert.equal(parseRunMetrics({ voc, map: 0.5 }).model, null);
  assert.deepEqual(parseRunMetrics({ voc, map: 0.5 }).skippedImages, []);
  // What is already current stays as it is.
  const current = testMetrics(0.5, { model: { params: 1, macs: 2 } });
  assert.deepEqual(upgradeRunMetrics(current), current);
});

Deno.test("readRun: a bad metrics.json, provenance.json or train_log.csv is an error naming the file and the field", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await writeTestRun(`${root}/r`, { metrics: testMetrics(0.5, { data: { label: "fake", images: 3 } }) });
    await assert.rejects(readRun(dir), /r\/metrics\.json: field "data\.label": expected one of "generated", "real"/);
    await Deno.writeTextFile(`${dir}/metrics.json`, JSON.stringify({ voc: {} }));
    await assert.rejects(readRun(dir), /r\/metrics\.json: field "map": missing/);
    await Deno.writeTextFile(`${dir}/metrics.json`, JSON.stringify(testMetrics(0.5, { bySize: { buckets: 1 } })));
    await assert.rejects(readRun(dir), /r\/metrics\.json: field "bySize\.sizeDefinition": missing/);
    await Deno.writeTextFile(`${dir}/metrics.json`, "{oops");
    await assert.rejects(readRun(dir), /r\/metrics\.json: not valid JSON/);
    await Deno.writeTextFile(`${dir}/metrics.json`, JSON.stringify(testMetrics(0.5)));
    const p = testProvenance();
    await Deno.writeTextFile(`${dir}/provenance.json`, JSON.stringify({ ...p, data: { ...p.data, valImages: "930" } }));
    await assert.rejects(readRun(dir), /r\/provenance\.json: field "data\.valImages": expected an integer >= 0/);
    await Deno.writeTextFile(`${dir}/provenance.json`, JSON.stringify(p));
    await Deno.writeTextFile(`${dir}/train_log.csv`, "epoch,loss\n1,2\n");
    await assert.rejects(readRun(dir), /r\/train_log\.csv: line 1: unexpected header/);
    await Deno.remove(`${dir}/train_log.csv`);
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ model: { branches: 2 } }));
    await assert.rejects(readRun(dir), /r\/config\.json: field "name": missing/);
    await assert.rejects(
      readRun(`${root}/none`),
      /none\/config\.json: config: cannot read the run's config: file not found/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readPrCurves: one curve per class file present, named by its class; uneven arrays are an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await readPrCurves(dir), []);
    const curve = {
      npos: 2,
      scores: [0.9, 0.8],
      recall: [0.5, 1],
      precision: [1, 0.5],
      interpolated: [1, 0.5],
      ap: 0.75,
    };
    await Deno.writeTextFile(`${dir}/pr_face.json`, JSON.stringify({ ...curve, class: "face" }));
    const [face] = await readPrCurves(dir);
    assert.deepEqual([face.name, face.ap, face.ap11, face.recall], ["face", 0.75, null, [0.5, 1]]);
    await Deno.writeTextFile(`${dir}/pr_face_mask.json`, JSON.stringify({ ...curve, recall: [1] }));
    await assert.rejects(readPrCurves(dir), /pr_face_mask\.json: scores, recall, precision and interpolated differ/);
    await Deno.writeTextFile(`${dir}/pr_face_mask.json`, JSON.stringify({ ...curve, recall: "all" }));
    await assert.rejects(readPrCurves(dir), /pr_face_mask\.json: field "recall": expected an array/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
