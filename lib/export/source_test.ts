import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildDetector } from "../model/detector.ts";
import { DEFAULT_CONFIG } from "../runs/config.ts";
import { readWeights } from "../runs/files.ts";
import { detectorSource, loadRunSource, portableMetadata } from "./source.ts";
import { maxAbsDiff } from "./testing.ts";

await tf.setBackend("cpu");

const RUN = new URL("../../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;

Deno.test("source: a run folder loads with its weights, eval settings and origin", async () => {
  const src = await loadRunSource(RUN + "/");
  try {
    const saved = await readWeights(`${RUN}/model`);
    const values = src.model.getWeights();
    assert.equal(values.length, saved.weights.length);
    values.forEach((v, i) => assert.equal(maxAbsDiff(v.dataSync(), saved.weights[i].data), 0));
    assert.deepEqual(src.architecture, { trunk: "ssdv2", branches: 4, width: 16, priorReading: "own" });
    assert.equal(src.priors.length / 4, 4420);
    assert.deepEqual(src.eval, { scoreThreshold: 0.02, nmsIou: 0.4, topK: 200, preNmsTopK: 1000 });
    assert.equal(src.origin.run, RUN);
    assert.equal(src.origin.epoch, 70);
    assert.equal(src.origin.weights, "model");
    const meta = portableMetadata(src);
    assert.deepEqual(meta.input.shape, [null, 240, 320, 3]);
    assert.deepEqual(meta.priors.sizes, [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]]);
    assert.equal(meta.priors.count, 4420);
  } finally {
    src.model.dispose();
  }
});

Deno.test("source: a missing weights folder is named in the error", async () => {
  await assert.rejects(loadRunSource(RUN, { weights: "model_nowhere" }), /model_nowhere\/model\.json: file not found/);
});

Deno.test("source: a detector built here gets the default eval settings and its prior layout", () => {
  const d = buildDetector({ trunk: "slim", branches: 3, inputSize: [64, 96], priorReading: "carry" });
  try {
    const src = detectorSource(d, { width: 16, origin: { note: "test" } });
    const e = DEFAULT_CONFIG.eval;
    assert.deepEqual(src.eval, {
      scoreThreshold: e.scoreThreshold,
      nmsIou: e.nmsIou,
      topK: e.topK,
      preNmsTopK: e.preNmsTopK,
    });
    const meta = portableMetadata(src);
    assert.deepEqual(meta.priors.steps, [8, 16, 32]);
    assert.deepEqual(meta.priors.sizes, [[10, 16, 24], [32, 48], [64, 96, 128, 192, 256]]);
    assert.deepEqual(meta.priors.inputSize, [64, 96]);
    assert.match(meta.input.preprocessing, /96x64.*pixel \/ 255 - 0\.5/);
    assert.deepEqual(meta.origin, { note: "test" });
    // JSON-safe: survives a round trip unchanged
    assert.deepEqual(JSON.parse(JSON.stringify(meta)), meta);
  } finally {
    d.model.dispose();
  }
});

Deno.test("source: priors that do not follow the config, or a wrong class list, are refused", () => {
  const d = buildDetector({ trunk: "aizoo", branches: 1, inputSize: [64, 64] });
  try {
    const src = detectorSource(d);
    const shifted = src.priors.slice();
    shifted[0] += 0.01;
    assert.throws(() => portableMetadata({ ...src, priors: shifted }), /priors do not follow its prior config/);
    assert.throws(() => portableMetadata({ ...src, classNames: ["bg", "x"] }), /scores 3 classes, 2 class names/);
  } finally {
    d.model.dispose();
  }
});
