import assert from "node:assert/strict";
import {
  listRuns,
  pickRun,
  readRunFolder,
  type RunFolder,
  runScores,
  runSummary,
  sharedSsdv2Experiment,
  usesGeneratedData,
} from "./runs.ts";

async function fixture(): Promise<string> {
  const root = await Deno.makeTempDir();
  const mk = async (rel: string, files: Record<string, unknown>) => {
    await Deno.mkdir(`${root}/${rel}`, { recursive: true });
    for (const [name, v] of Object.entries(files)) {
      await Deno.writeTextFile(`${root}/${rel}/${name}`, typeof v === "string" ? v : JSON.stringify(v));
    }
  };
  await mk("ablation/quick/branches-2-x", {
    "config.json": { model: { branches: 2 } },
    "metrics.json": {
      voc: { face_mask: { ap: 0.5, ap11: 0.4 }, face: { ap: 0.25, ap11: 0.2 } },
      map: 0.375,
      map11: 0.3,
      coco: { ap: 0.1 },
    },
    "provenance.json": { data: { label: "generated", source: "generated" } },
    "log.csv": "epoch,loss\n",
  });
  await mk("ablation/quick/branches-1-x", { "config.json": { model: { branches: 1 } } });
  await mk("backbones/slim-y", {
    "config.json": {},
    "metrics.json": { final: { voc: { face_mask: { ap: 0.9 } }, map: 0.8 } },
    "provenance.json": { data: { label: "real", source: "env" } },
  });
  await mk("ablation/table-only", { "table2.csv": "k,map\n" });
  await mk(".hidden/run", { "config.json": {} });
  await mk("_tmp/scratch-run", { "config.json": {} });
  return root;
}

Deno.test("listRuns finds folders with config.json, sorted, with experiment and relative path", async () => {
  const root = await fixture();
  const runs = await listRuns(root);
  assert.deepEqual(runs.map((r) => [r.experiment, r.runId, r.relPath]), [
    ["ablation/quick", "branches-1-x", "ablation/quick/branches-1-x"],
    ["ablation/quick", "branches-2-x", "ablation/quick/branches-2-x"],
    ["backbones", "slim-y", "backbones/slim-y"],
  ]);
  assert.deepEqual(runs[1].files, ["config.json", "log.csv", "metrics.json", "provenance.json"]);
  assert.equal(runs[0].metrics, undefined);
  await Deno.remove(root, { recursive: true });
});

Deno.test("listRuns of a missing folder is empty", async () => {
  assert.deepEqual(await listRuns("/nonexistent/results"), []);
});

Deno.test("runScores reads the summary at top level or under final; absent numbers are null", async () => {
  const root = await fixture();
  const [r1, r2, r3] = await listRuns(root);
  assert.deepEqual(runScores(r2), { map: 0.375, map11: 0.3, ap: { face_mask: 0.5, face: 0.25 }, cocoAp: 0.1 });
  assert.deepEqual(runScores(r1), { map: null, map11: null, ap: { face_mask: null, face: null }, cocoAp: null });
  assert.deepEqual(runScores(r3), { map: 0.8, map11: null, ap: { face_mask: 0.9, face: null }, cocoAp: null });
  assert.equal(usesGeneratedData(r2), true);
  assert.equal(usesGeneratedData(r3), false);
  assert.equal(usesGeneratedData(r1), false);
  await Deno.remove(root, { recursive: true });
});

Deno.test("readRunFolder errors name the folder and the problem", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/e/r`, { recursive: true });
  await assert.rejects(readRunFolder(`${root}/e/r`, root), /e\/r: not a run folder \(no config.json\)/);
  await Deno.writeTextFile(`${root}/e/r/config.json`, "{oops");
  await assert.rejects(readRunFolder(`${root}/e/r`, root), /config\.json: not a valid JSON object/);
  await assert.rejects(readRunFolder("/elsewhere/r", root), /is not inside/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("runSummary maps config, metrics and provenance into lib/report's RunSummary fields", async () => {
  const root = await fixture();
  const [r1, r2] = await listRuns(root);
  r2.config = { model: { trunk: "ssdv2", branches: 2 }, backend: { name: "cpu" } };
  r2.provenance = {
    data: { label: "generated", description: "gen 400/100" },
    forwardImgPerSec: 120.5,
    trainImgPerSec: 8,
  };
  assert.deepEqual(runSummary(r2), {
    experiment: "ablation/quick/branches-2-x",
    trunk: "ssdv2",
    branches: 2,
    map: 0.375,
    perClassAp: { face_mask: 0.5, face: 0.25 },
    params: undefined,
    macs: undefined,
    fps: 120.5,
    trainImgPerSec: 8,
    dataLabel: "GENERATED synthetic data (gen 400/100)",
    backend: "cpu",
  });
  // Where lib/train's writeEvaluation puts the model's size: metrics.json `model`.
  r2.metrics = { ...r2.metrics, model: { params: 1043286, macs: 538038080 } };
  assert.equal(runSummary(r2).params, 1043286);
  assert.equal(runSummary(r2).macs, 538038080);
  assert.equal(runSummary(r1).dataLabel, "data unknown (no image counts in metrics.json or provenance.json)");
  assert.equal(runSummary(r1).map, null);
  // Real data: the counts the run recorded, the evaluated images (metrics.json) first; never a fixed wording.
  r1.provenance = { data: { label: "real", trainImages: 6120, valImages: 1839 } };
  assert.equal(runSummary(r1).dataLabel, "AIZOO data, 6,120 train / 1,839 val images");
  r1.metrics = { map: 0.5, data: { label: "real", images: 930 } };
  assert.equal(runSummary(r1).dataLabel, "AIZOO data, 6,120 train / 930 val images (not the paper's 1,839)");
  await Deno.remove(root, { recursive: true });
});

Deno.test("pickRun prefers the listed experiment, then more epochs, then the latest id; skips generated data", () => {
  const run = (experiment: string, runId: string, epochs: number, label: string, metrics = true): RunFolder => ({
    experiment,
    runId,
    relPath: `${experiment}/${runId}`,
    path: `/r/${experiment}/${runId}`,
    config: { model: { trunk: "ssdv2", branches: 4 }, train: { epochs } },
    metrics: metrics ? { map: 0.5 } : undefined,
    provenance: { data: { label } },
    files: [],
  });
  const runs = [
    run("ablation/quick", "b4-20260101-000000", 3, "real"),
    run("ablation", "b4-20260101-000000", 100, "real"),
    run("ablation", "b4-20260102-000000", 100, "real"),
    run("ablation", "b4-20260103-000000", 100, "real", false),
    run("ablation", "b4-20260104-000000", 100, "generated"),
    run("ablation", "b4-20250101-000000", 120, "real"),
  ];
  // Among evaluated real "ablation" runs, 120 epochs beats the later 100-epoch runs.
  assert.equal(pickRun(runs, { experiments: ["ablation", "ablation/quick"] })?.runId, "b4-20250101-000000");
  assert.equal(pickRun(runs.slice(0, 3), { experiments: ["ablation"] })?.runId, "b4-20260102-000000");
  assert.equal(pickRun(runs, { experiments: ["ablation/quick", "ablation"] })?.experiment, "ablation/quick");
  assert.equal(pickRun(runs, { generated: true, experiments: ["ablation"] })?.runId, "b4-20250101-000000");
  assert.equal(pickRun(runs.slice(4, 5), { generated: true })?.runId, "b4-20260104-000000");
  assert.equal(pickRun(runs, { branches: 2 }), null);
  assert.equal(pickRun(runs, { trunk: "slim" }), null);
  assert.equal(pickRun(runs.slice(3, 5)), null);
});

Deno.test("sharedSsdv2Experiment: the short and paper backbone grids share the ablation's 4-branch run, quick does not", () => {
  assert.equal(sharedSsdv2Experiment("backbones"), "ablation");
  assert.equal(sharedSsdv2Experiment("backbones/short"), "ablation/short");
  assert.equal(sharedSsdv2Experiment("backbones/quick"), null);
  assert.equal(sharedSsdv2Experiment("ablation/short"), null);
});
