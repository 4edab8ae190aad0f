import assert from "node:assert/strict";
import { scoreDetections } from "../metrics/score.ts";
import { isGeneratedData } from "../data/label.ts";
import { dataLabels, provenanceNotes, type RunSummary, summaryFromEval } from "./summary.ts";

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
