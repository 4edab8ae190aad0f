import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { generatePriors, matchPriors, toPixelDetections } from "../detect/mod.ts";
import { detectorFromModel } from "../inference/mod.ts";
import { generateDataset } from "../data/generate.ts";
import { scanSplit } from "../data/dataset.ts";
import { evalOptionsOf, evaluateModel, groundTruthOf } from "./evaluate.ts";
import { resolveConfig } from "../runs/config.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

// Coarse priors keep the constant model small: 8x10 and 4x5 maps.
const PRIOR_CONFIG = { inputSize: [240, 320] as [number, number], steps: [32, 64], sizes: [[64, 96], [128, 192, 256]] };

/** A model that ignores its input and always outputs the given logits and offsets (as dense-layer biases). */
function constantModel(logits: Float32Array, offsets: Float32Array, P: number): tf.LayersModel {
  const input = tf.input({ shape: [240, 320, 3] });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(input);
  const dense = (units: number, bias: Float32Array) =>
    tf.layers.dense({ units, kernelInitializer: "zeros", weights: [tf.zeros([3, units]), tf.tensor1d(bias)] }).apply(
      pooled,
    );
  const l = tf.layers.reshape({ targetShape: [P, 3] }).apply(dense(P * 3, logits)) as tf.SymbolicTensor;
  const o = tf.layers.reshape({ targetShape: [P, 4] }).apply(dense(P * 4, offsets)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [l, o] });
}

Deno.test("evaluateModel: a model that outputs the encoded ground truth scores AP 1; speed recorded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await generateDataset(dir, { seed: 11, train: 1, val: 3 });
    const { records } = await scanSplit(dir, "val");
    assert.equal(records.length, 3);
    const record = records.find((r) => r.boxes.length > 0)!;
    const priors = generatePriors(PRIOR_CONFIG);
    const P = priors.length / 4;
    const match = matchPriors(record.boxes, record.labels, { priors, iouThreshold: 0.45 });
    const logits = new Float32Array(P * 3);
    for (let p = 0; p < P; p++) logits[p * 3 + match.labels[p]] = 12; // near-certain class, background elsewhere
    const model = constantModel(logits, match.offsets, P);
    const evalOptions = {
      priors,
      batchSize: 2,
      scoreThreshold: 0.02,
      nmsIou: 0.4,
      topK: 200,
      preNmsTopK: 1000,
      iouThreshold: 0.5,
    };
    const before = tf.memory().numTensors;
    const out = await evaluateModel(model, [record], evalOptions);
    assert.equal(tf.memory().numTensors, before);
    const present = new Set(record.labels);
    for (const [id, name] of [[1, "face_mask"], [2, "face"]] as const) {
      const ap = out.result.voc[name].ap;
      if (present.has(id)) assert.ok(Math.abs(ap! - 1) < 1e-9, `${name} AP ${ap}`);
      else assert.equal(ap, null);
    }
    assert.ok(Math.abs(out.result.map! - 1) < 1e-9);
    // One kept detection per ground-truth box (NMS removes the other priors matched to the same box).
    assert.equal(out.detections.get(record.id)!.length, record.boxes.length);
    assert.equal(out.speed.images, 1);
    assert.ok(out.speed.forwardSeconds > 0 && out.speed.seconds >= out.speed.forwardSeconds);
    assert.ok(out.speed.overheadRatio >= 1);

    // The same constant output on all three images: the other images' boxes are missed or misplaced, so AP < 1.
    const all = await evaluateModel(model, records, evalOptions);
    assert.equal(all.speed.images, 3);
    assert.equal(all.result.numImages, 3);
    assert.ok(all.result.map! < 1);
    assert.deepEqual(groundTruthOf([record])[0].boxes, record.boxes);
    await assert.rejects(() => evaluateModel(model, [], evalOptions), /no records/);
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evalOptionsOf: the config's eval block and data.prefetch, with the priors given", () => {
  const config = resolveConfig({
    eval: { batchSize: 5, scoreThreshold: 0.1, nmsIou: 0.3, topK: 50, preNmsTopK: 70, iouThreshold: 0.6 },
    data: { prefetch: 3 },
  });
  const priors = new Float32Array([0.5, 0.5, 0.1, 0.1]);
  const o = evalOptionsOf(config, priors);
  assert.equal(o.priors, priors);
  assert.deepEqual(
    { ...o, priors: null },
    {
      priors: null,
      batchSize: 5,
      scoreThreshold: 0.1,
      nmsIou: 0.3,
      topK: 50,
      preNmsTopK: 70,
      iouThreshold: 0.6,
      prefetch: 3,
    },
  );
});

/** A small convolutional model with seeded random weights: its detections differ from image to image. */
function randomConvModel(seed: number): tf.LayersModel {
  const init = (k: number) => tf.initializers.glorotNormal({ seed: seed + k });
  const input = tf.input({ shape: [240, 320, 3] });
  let x = tf.layers.averagePooling2d({ poolSize: 4 }).apply(input) as tf.SymbolicTensor; // 60x80
  for (const k of [1, 2, 3]) {
    x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: "same", kernelInitializer: init(k) })
      .apply(x) as tf.SymbolicTensor;
  } // 8x10
  const y = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: "same", kernelInitializer: init(4) })
    .apply(x) as tf.SymbolicTensor; // 4x5
  const head = (t: tf.SymbolicTensor, priors: number, units: number, k: number) =>
    tf.layers.reshape({ targetShape: [-1, units] }).apply(
      tf.layers.conv2d({ filters: priors * units, kernelSize: 3, padding: "same", kernelInitializer: init(k) })
        .apply(t),
    ) as tf.SymbolicTensor;
  const logits = tf.layers.concatenate({ axis: 1 }).apply([head(x, 2, 3, 5), head(y, 3, 3, 6)]) as tf.SymbolicTensor;
  const offsets = tf.layers.concatenate({ axis: 1 }).apply([head(x, 2, 4, 7), head(y, 3, 4, 8)]) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [logits, offsets] });
}

Deno.test("evaluateModel decodes as lib/inference's detector does: the same detections, image by image", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await generateDataset(dir, { seed: 12, train: 1, val: 5 });
    const { records } = await scanSplit(dir, "val");
    const priors = generatePriors(PRIOR_CONFIG);
    const model = randomConvModel(3);
    const settings = { batchSize: 2, scoreThreshold: 0.3, nmsIou: 0.4, topK: 50, preNmsTopK: 100 };
    const out = await evaluateModel(model, records, { priors, iouThreshold: 0.5, ...settings });
    const detector = detectorFromModel(model, priors, settings);
    const before = tf.memory().numTensors;
    const batch = await detector.detectBatch(records.map((r) => r.imagePath), { minScore: 0 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(batch.length, records.length);
    let total = 0;
    records.forEach((r, i) => {
      const expected = toPixelDetections(out.detections.get(r.id)!, r);
      total += expected.length;
      assert.deepEqual(batch[i].map((d) => ({ box: d.box, label: d.label, score: d.score })), expected, r.id);
    });
    // Detections exist and differ between images, so the comparison says something.
    assert.ok(total > records.length, `${total} detections`);
    assert.notDeepEqual(batch[0].map((d) => d.score), batch[1].map((d) => d.score));
    detector.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
