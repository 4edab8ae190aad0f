import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { generateDataset } from "../data/generate.ts";
import { scanSplit } from "../data/dataset.ts";
import { imageInfo, loadImage, normalize } from "../data/image.ts";
import { buildDetector } from "../model/mod.ts";
import { DEFAULT_CONFIG, resolveConfig, type RunConfig } from "../runs/config.ts";
import { writeJsonAtomic } from "../runs/files.ts";
import {
  defaultDetectorFactory,
  detectorFromModel,
  inferenceSettingsOf,
  loadDetector,
  loadRunModel,
  predictDetections,
  prepareImage,
  saveModelFolder,
} from "./detector.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

// lib/model's smallest real detector: the slim trunk at the narrowest width.
const MODEL: RunConfig["model"] = { trunk: "slim", branches: 4, width: 8, priors: "own" };
const EVAL = { scoreThreshold: 0.3, nmsIou: 0.4, topK: 40, preNmsTopK: 200, batchSize: 2 };

/** A run folder of an untrained model built with `seed`, its config's own seed different (the weights must win). */
async function writeRun(dir: string, seed: number): Promise<{ config: RunConfig; model: tf.LayersModel }> {
  const config = resolveConfig({
    name: "untrained",
    experiment: "test/inference",
    seed: seed + 100,
    backend: { name: "cpu" },
    model: MODEL,
    eval: EVAL,
  });
  const d = buildDetector({ trunk: "slim", branches: 4, width: 8, seed });
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(`${dir}/config.json`, config);
  await saveModelFolder(`${dir}/model`, d.model, { model: MODEL, name: config.name, experiment: config.experiment });
  return { config, model: d.model };
}

/** Detections as plain numbers for deep comparison. */
const plain = (ds: { label: number; score: number; box: number[] }[]) =>
  ds.map((d) => ({ label: d.label, score: d.score, box: [...d.box] }));

Deno.test("loadDetector: a run folder's weights and eval block; boxes in the image's pixels; same as the model", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await generateDataset(`${tmp}/data`, { seed: 4, train: 0, val: 2 });
    const [rec] = (await scanSplit(`${tmp}/data`, "val")).records;
    const { model } = await writeRun(`${tmp}/run`, 7);
    const reference = detectorFromModel(model, buildDetector({ trunk: "slim", branches: 4, width: 8 }).priors, EVAL);
    const before = tf.memory().numTensors;
    const detector = await loadDetector(`${tmp}/run/`);
    assert.equal(detector.config.name, "untrained");
    assert.deepEqual(detector.settings, EVAL);
    assert.equal(detector.backend, null);
    assert.equal(detector.weightsDir, `${tmp}/run/model`);

    const dets = await detector.detect(rec.imagePath, { minScore: 0 });
    const expected = await reference.detect(rec.imagePath, { minScore: 0 });
    // Built with another seed, so equal detections mean the saved weights were loaded.
    assert.ok(dets.length > 0);
    assert.deepEqual(plain(dets), plain(expected));
    for (const d of dets) {
      assert.ok(d.score > EVAL.scoreThreshold);
      assert.equal(d.class, d.label === 1 ? "face_mask" : "face");
      assert.ok(d.box[2] <= rec.width && d.box[3] <= rec.height && d.box[0] >= 0 && d.box[1] >= 0);
    }
    // The boxes are the decoded normalised boxes scaled by the original size.
    const [run] = await detector.run(await prepareImage(rec.imagePath), { minScore: 0 });
    assert.equal(run.width, rec.width);
    assert.deepEqual(run.detections[0].box, run.normalised[0].box.map((v, i) => v * (i % 2 ? rec.height : rec.width)));

    // minScore only filters: the display threshold keeps the top of the same list.
    const shown = await detector.detect(rec.imagePath, { minScore: 0.34 });
    assert.deepEqual(plain(shown), plain(dets.filter((d) => d.score >= 0.34)));
    await assert.rejects(
      () => detector.detect(rec.imagePath, { minScore: 2 }),
      /minScore must be a number in \[0, 1\]/,
    );
    detector.dispose();
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(() => detector.detect(rec.imagePath), /disposed/);

    // loadRunModel keeps its contract: the config and a model holding the saved weights.
    const loaded = await loadRunModel(`${tmp}/run`);
    assert.equal(loaded.config.seed, 107);
    assert.deepEqual(loaded.model.getWeights()[0].dataSync(), model.getWeights()[0].dataSync());
    loaded.model.dispose();
    reference.dispose();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadDetector: a model folder alone uses the model block of its metadata and the default eval block", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await generateDataset(`${tmp}/data`, { seed: 5, train: 0, val: 1 });
    const [rec] = (await scanSplit(`${tmp}/data`, "val")).records;
    const { model } = await writeRun(`${tmp}/run`, 8);
    model.dispose();
    const fromRun = await loadDetector(`${tmp}/run`, { settings: inferenceSettingsOf(DEFAULT_CONFIG) });
    const fromModel = await loadDetector(`${tmp}/run/model`);
    assert.deepEqual(fromModel.config.model, MODEL);
    assert.equal(fromModel.config.name, "untrained");
    assert.deepEqual(fromModel.settings, inferenceSettingsOf(DEFAULT_CONFIG));
    const a = await fromModel.detect(rec.imagePath, { minScore: 0 });
    assert.ok(a.length > 0);
    assert.deepEqual(plain(a), plain(await fromRun.detect(rec.imagePath, { minScore: 0 })));
    fromRun.dispose();
    fromModel.dispose();

    // Older metadata without `priors` reads as `own`, as older run configs do.
    const manifest = JSON.parse(await Deno.readTextFile(`${tmp}/run/model/model.json`));
    delete manifest.userDefinedMetadata.model.priors;
    await Deno.writeTextFile(`${tmp}/run/model/model.json`, JSON.stringify(manifest));
    const old = await loadDetector(`${tmp}/run/model`);
    assert.equal(old.config.model.priors, "own");
    old.dispose();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadDetector: errors name the folder or file and the problem", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await assert.rejects(() => loadDetector(`${tmp}/none`), /none: neither a run folder .* nor a model folder/);
    const { model } = await writeRun(`${tmp}/run`, 9);
    model.dispose();
    await assert.rejects(() => loadDetector(`${tmp}/run`, { weights: "model_best" }), /run folder without model_best/);
    // A config whose model is wider than the saved weights.
    const config = JSON.parse(await Deno.readTextFile(`${tmp}/run/config.json`));
    await writeJsonAtomic(`${tmp}/run/config.json`, { ...config, model: { ...config.model, width: 16 } });
    const before = tf.memory().numTensors;
    await assert.rejects(() => loadDetector(`${tmp}/run`), /run\/model\/model\.json: weight 0 .* has shape/);
    assert.equal(tf.memory().numTensors, before);
    const manifest = JSON.parse(await Deno.readTextFile(`${tmp}/run/model/model.json`));
    await Deno.writeTextFile(`${tmp}/run/model/model.json`, JSON.stringify({ ...manifest, userDefinedMetadata: {} }));
    await assert.rejects(() => loadDetector(`${tmp}/run/model`), /model\.json: userDefinedMetadata has no "model"/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("detector inputs: path, bytes and tensors give the same detections; tensors report in their own pixels", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await generateDataset(`${tmp}/data`, { seed: 6, train: 0, val: 2 });
    const recs = (await scanSplit(`${tmp}/data`, "val")).records;
    const d = buildDetector({ trunk: "slim", branches: 4, width: 8, seed: 3 });
    const detector = detectorFromModel(d.model, d.priors, EVAL);
    const before = tf.memory().numTensors;
    const fromPath = await detector.detect(recs[0].imagePath, { minScore: 0 });
    const fromBytes = await detector.detect(await Deno.readFile(recs[0].imagePath), { minScore: 0 });
    assert.ok(fromPath.length > 0);
    assert.deepEqual(plain(fromBytes), plain(fromPath));

    const pixels = recs.map((r) => loadImage(r.imagePath).then((rgb) => normalize(rgb)));
    const [p0, p1] = await Promise.all(pixels);
    const t3 = tf.tensor3d(p0, [240, 320, 3]);
    const t4 = tf.tensor4d([...p0, ...p1], [2, 240, 320, 3]);
    const fromTensor = await detector.detect(t3, { minScore: 0 });
    const { width, height } = await imageInfo(recs[0].imagePath);
    // The same boxes, in 320x240 pixels instead of the image's.
    assert.equal(fromTensor.length, fromPath.length);
    fromTensor.forEach((t, i) => {
      assert.equal(t.score, fromPath[i].score);
      const sx = width / 320, sy = height / 240;
      const back = [t.box[0] * sx, t.box[1] * sy, t.box[2] * sx, t.box[3] * sy];
      back.forEach((v, k) => assert.ok(Math.abs(v - fromPath[i].box[k]) < 1e-9));
    });
    const batch = await detector.detectBatch(t4, { minScore: 0 });
    assert.equal(batch.length, 2);
    assert.deepEqual(plain(batch[0]), plain(fromTensor));
    const mixed = await detector.detectBatch([recs[1].imagePath, t3], { minScore: 0 });
    assert.deepEqual(plain(mixed[1]), plain(fromTensor));
    assert.notDeepEqual(plain(mixed[0]), plain(mixed[1]));

    await assert.rejects(() => detector.detect(t4), /detect takes one image, the tensor holds 2/);
    const small = tf.zeros([120, 160, 3]);
    await assert.rejects(() => detector.detect(small as tf.Tensor3D), /must be \[240, 320, 3\].*got \[120,160,3\]/);
    const raw = tf.fill([240, 320, 3], 128);
    await assert.rejects(
      () => detector.detect(raw as tf.Tensor3D),
      /values lie in \[128, 128\], not in \[-0\.5, 0\.5\]/,
    );
    await assert.rejects(() => detector.detect(`${tmp}/missing.jpg`), /missing\.jpg: cannot read file/);
    await assert.rejects(() => detector.detect(new Uint8Array([1, 2, 3])), /<buffer>: not an image/);
    tf.dispose([t3, t4, small, raw]);
    assert.equal(tf.memory().numTensors, before);
    detector.dispose();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("predictDetections: batch composition does not change an image's detections; bad input is refused", async () => {
  const d = buildDetector({ trunk: "slim", branches: 4, width: 8, seed: 2 });
  const per = 240 * 320 * 3;
  const images = new Float32Array(3 * per);
  for (let i = 0; i < images.length; i++) images[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const before = tf.memory().numTensors;
  const all = await predictDetections(d.model, images, d.priors, EVAL);
  const last = await predictDetections(d.model, images.slice(2 * per), d.priors, EVAL);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(all.detections.length, 3);
  assert.ok(all.forwardSeconds > 0 && all.decodeSeconds >= 0);
  assert.equal(last.detections[0].length, all.detections[2].length);
  last.detections[0].forEach((x, i) => {
    assert.equal(x.label, all.detections[2][i].label);
    assert.ok(Math.abs(x.score - all.detections[2][i].score) < 1e-5);
  });
  await assert.rejects(() => predictDetections(d.model, new Float32Array(10), d.priors, EVAL), /not a whole number/);
  d.model.dispose();
});

Deno.test("loadDetector sets up the backend before making weights when asked; the default factory is lib/model's", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { model } = await writeRun(`${tmp}/run`, 10);
    model.dispose();
    const lines: string[] = [];
    const detector = await loadDetector(`${tmp}/run`, { backend: "config", log: (l) => lines.push(l) });
    assert.equal(detector.backend?.name, "cpu");
    assert.equal(tf.getBackend(), "cpu");
    assert.match(lines.join("\n"), /backend: cpu/);
    detector.dispose();
    const built = await defaultDetectorFactory(MODEL, { seed: 1 });
    assert.equal(built.priors.length / 4, buildDetector({ trunk: "slim", branches: 4, width: 8 }).priors.length / 4);
    built.model.dispose();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
