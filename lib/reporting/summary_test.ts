import assert from "node:assert/strict";
import { scoreDetections } from "../metrics/score.ts";
import { isGeneratedData } from "../data/label.ts";
import { parseRunMetrics } from "../runs/read.ts";
import { testMetrics, testProvenance, testRun } from "../runs/testing.ts";
import {
  dataLabels,
  provenanceNotes,
  type RunSummary,
  summarizeRun,
  summaryFromEval,
  usesGeneratedData,
} from "./summary.ts";

Deno.test("summaryFromEval: mAP and per-class AP from an evaluation", () => {
  const r = scoreDetections(
    [{ imageId: "a", boxes: [[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]], labels: [1, 2], difficult: [false, false] }],
    [{ imageId: "a", box: [0, 0, 0.5, 0.5], label: 1, score: 1 }],
  );
  const s = summaryFromEval(r, {
    experiment: "e",
    trunk: "ssdv2",
    branches: 4,
    dataLabel: "GENERATED data",
    backend: "cpu",
  });
  // face_mask found (AP 1), face missed (AP 0): mAP 1/2.
  assert.deepEqual(s.perClassAp, { face_mask: 1, face: 0 });
  assert.equal(s.map, 0.5);
  assert.equal(s.trunk, "ssdv2");
});

Deno.test("provenance: data labels in order, generated data flagged", () => {
  const base = { experiment: "e", trunk: "t", branches: 1, map: 0, perClassAp: {}, backend: "wasm" };
  const runs: RunSummary[] = [
    { ...base, dataLabel: "AIZOO subset 3,069/930" },
    { ...base, dataLabel: "synthetic faces" },
    { ...base, dataLabel: "AIZOO subset 3,069/930" },
  ];
  assert.deepEqual(dataLabels(runs), ["AIZOO subset 3,069/930", "synthetic faces"]);
  assert.ok(isGeneratedData("synthetic faces"));
  const p = provenanceNotes(runs);
  assert.match(p.suffix, /^ \[GENERATED data: /);
  assert.equal(p.notes.length, 2);
  assert.equal(provenanceNotes([runs[0]]).suffix, " [AIZOO subset 3,069/930]");
});

Deno.test("summarizeRun maps the typed run's config, metrics and provenance into a RunSummary", () => {
  const run = testRun({
    config: { name: "branches-2", model: { trunk: "ssdv2", branches: 2 }, backend: { name: "wasm" } },
    metrics: testMetrics(0.375, {
      data: { label: "generated", images: 100 },
      speed: { forwardImgPerSec: 120.5, evalImgPerSec: 80 },
      model: { params: 1043286, macs: 538038080 },
    }),
    provenance: testProvenance({
      data: { label: "generated", description: "gen 400/100", trainImages: 400, valImages: 100 },
      backend: { name: "cpu" },
      trainImgPerSec: 8,
      forwardImgPerSec: 99,
    }),
  });
  assert.deepEqual(summarizeRun(run), {
    experiment: "branches-2",
    trunk: "ssdv2",
    branches: 2,
    map: 0.375,
    perClassAp: { face_mask: 0.425, face: 0.325 },
    params: 1043286,
    macs: 538038080,
    fps: 120.5,
    trainImgPerSec: 8,
    dataLabel: "GENERATED synthetic data (100 val images)",
    backend: "cpu",
  });
  assert.equal(summarizeRun(run, "ablation/x").experiment, "ablation/x");
  assert.equal(usesGeneratedData(run), true);
});

Deno.test("summarizeRun: an unevaluated run keeps its numbers absent; speeds and counts from the provenance", () => {
  const none = testRun({ provenance: null, config: { backend: { name: "cpu" } } });
  const s = summarizeRun(none);
  assert.deepEqual([s.map, s.perClassAp, s.params, s.fps, s.backend], [
    null,
    { face_mask: null, face: null },
    undefined,
    undefined,
    "cpu",
  ]);
  assert.equal(s.dataLabel, "data unknown (no image counts in metrics.json or provenance.json)");
  assert.equal(usesGeneratedData(none), false);
  const training = testRun({
    provenance: testProvenance({ data: { trainImages: 6120, valImages: 1839 }, evalImgPerSec: 50, trainImgPerSec: 30 }),
  });
  assert.equal(summarizeRun(training).dataLabel, "AIZOO data, 6,120 train / 1,839 val images");
  assert.equal(summarizeRun(training).fps, 50);
  assert.equal(summarizeRun(training).trainImgPerSec, 30);
  // The evaluated images (metrics.json) before the provenance's count; never a fixed wording.
  const evaluated = { ...training, metrics: parseRunMetrics(testMetrics(0.5)) };
  assert.equal(summarizeRun(evaluated).dataLabel, "AIZOO data, 6,120 train / 930 val images (not the paper's 1,839)");
  const generated = testRun({ provenance: null, metrics: testMetrics(0.1, { data: { label: "generated" } }) });
  assert.equal(summarizeRun(generated).dataLabel, "GENERATED synthetic data");
});
