import assert from "node:assert/strict";
import { QUAD_PRIORS } from "../detect/testing.ts";
import * as tf from "@tensorflow/tfjs";
import type { Box } from "../types.ts";
import type { Rng } from "../util/rng.ts";
import { loadCheckpoint, readCheckpointIndex } from "./checkpoint.ts";
import { resolveConfig, type RunConfig } from "../runs/config.ts";
import { readWeights } from "../runs/files.ts";
import { Progress } from "./progress.ts";
import {
  type LossFn,
  type MatchFn,
  NonFiniteLossError,
  type TrainBatch,
  type TrainerParts,
  trainModel,
} from "./trainer.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

// A toy detector on 8x8 images: a 2x2 grid of priors, one object per image in one quadrant.
const PRIORS = QUAD_PRIORS;
const QUADS: Box[] = [[0, 0, 0.5, 0.5], [0.5, 0, 1, 0.5], [0, 0.5, 0.5, 1], [0.5, 0.5, 1, 1]];

function toyModel(seed = 3): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed + s });
  let x = tf.layers.conv2d({ filters: 6, kernelSize: 4, strides: 4, kernelInitializer: init(0) }).apply(input);
  x = tf.layers.batchNormalization().apply(x);
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  const c = tf.layers.conv2d({ filters: 3, kernelSize: 1, kernelInitializer: init(1) }).apply(x);
  const o = tf.layers.conv2d({ filters: 4, kernelSize: 1, kernelInitializer: init(2) }).apply(x);
  const logits = tf.layers.reshape({ targetShape: [4, 3] }).apply(c) as tf.SymbolicTensor;
  const offsets = tf.layers.reshape({ targetShape: [4, 4] }).apply(o) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: [logits, offsets] });
}

// Each record: quadrant q with class 1 + (q % 2).
const RECORDS = Array.from({ length: 12 }, (_, i) => ({ id: `img${i}`, quad: i % 4, label: 1 + ((i >> 2) % 2) }));

function image(quad: number, label: number, rng: Rng): Float32Array {
  const out = new Float32Array(8 * 8 * 3);
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const q = (y >= 4 ? 2 : 0) + (x >= 4 ? 1 : 0);
      for (let ch = 0; ch < 3; ch++) {
        const on = q === quad ? (ch === label ? 0.5 : 0.2) : -0.4;
        out[(y * 8 + x) * 3 + ch] = on + rng.uniform(-0.05, 0.05);
      }
    }
  }
  return out;
}

async function* toyBatches(rng: Rng, micro: number): AsyncIterableIterator<TrainBatch> {
  const order = rng.shuffle(RECORDS.slice());
  for (let i = 0; i < order.length; i += micro) {
    const part = order.slice(i, i + micro);
    const images = new Float32Array(part.length * 192);
    part.forEach((r, k) => images.set(image(r.quad, r.label, rng), k * 192));
    yield {
      ids: part.map((r) => r.id),
      images,
      boxes: part.map((r) => [QUADS[r.quad]]),
      labels: part.map((r) => [r.label]),
    };
  }
}

// Each box maps to the prior of its quadrant, with zero offsets (the priors fit exactly).
const toyMatch: MatchFn = (boxes, labels) => {
  const out = { labels: new Int32Array(boxes.length * 4), offsets: new Float32Array(boxes.length * 16) };
  boxes.forEach((bs, i) =>
    bs.forEach((b, g) => {
      out.labels[i * 4 + QUADS.findIndex((q) => q.every((v, k) => v === b[k]))] = labels[i][g];
    })
  );
  return out;
};

const toyLoss: LossFn = (pred, target) =>
  tf.tidy(() => {
    const onehot = tf.oneHot(target.labels.flatten() as tf.Tensor1D, 3);
    const cls = tf.losses.softmaxCrossEntropy(onehot, pred.logits.reshape([-1, 3])) as tf.Scalar;
    const pos = target.labels.greater(0).cast("float32").expandDims(-1);
    const loc = tf.losses.huberLoss(target.offsets, pred.offsets, pos) as tf.Scalar;
    return { total: cls.add(loc) as tf.Scalar, cls, loc };
  });

function config(extra: Record<string, unknown> = {}): RunConfig {
  return resolveConfig({
    name: "toy",
    experiment: "test",
    seed: 5,
    train: { epochs: 3, batchSize: 4, microBatch: 2, lr: 0.05, warmupEpochs: 1, decayEpochs: [2], lrFloor: 1e-3 },
    eval: { everyEpochs: 1 },
    ...extra,
  });
}

function parts(model: tf.LayersModel, cfg: RunConfig, loss: LossFn = toyLoss): TrainerParts {
  return {
    model,
    priors: PRIORS,
    numTrain: RECORDS.length,
    batches: (rng) => toyBatches(rng, cfg.train.microBatch),
    loss,
    match: toyMatch,
    modelMetadata: { trunk: "toy" },
  };
}

const quiet = () => new Progress({ tty: false, write: () => {} });

Deno.test("trainModel: loss goes down, files written, no tensor leak", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = config({
      train: { epochs: 4, batchSize: 4, microBatch: 2, lr: 0.05, warmupEpochs: 1, decayEpochs: [3] },
    });
    const model = toyModel();
    const before = tf.memory().numTensors;
    let evals = 0;
    const p = {
      ...parts(model, cfg),
      validate: () => Promise.resolve({ map: [0.2, 0.5, 0.4, 0.1][evals++], ap: { face_mask: 0.3, face: 0.1 } }),
    };
    const result = await trainModel(p, { config: cfg, runDir: dir, progress: quiet() });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(result.finished, true);
    assert.equal(result.epochs, 4);
    assert.equal(result.steps, 12); // 12 images / batch 4 = 3 steps per epoch
    assert.equal(result.rows.length, 4);
    assert.ok(
      result.rows[3].loss! < result.rows[0].loss! * 0.7,
      `loss ${result.rows[0].loss} -> ${result.rows[3].loss}`,
    );
    assert.equal(result.bestEpoch, 2);
    // The run's result is its last epoch; without checkpoint.keepBest no best checkpoint is kept at all.
    assert.deepEqual(await readCheckpointIndex(`${dir}/checkpoints`), {
      last: "epoch-0004",
      best: null,
      bestMetric: null,
    });
    const kept = await readWeights(`${dir}/model`);
    assert.equal(kept.metadata.epoch, 4);
    assert.equal(kept.metadata.which, "last");
    assert.equal(kept.metadata.trunk, "toy");
    assert.equal(await Deno.stat(`${dir}/model_best`).then(() => true, () => false), false);
    const csv = (await Deno.readTextFile(`${dir}/train_log.csv`)).trim().split("\n");
    assert.equal(csv.length, 5);
    assert.match(csv[2], /^2,3,/);
    assert.match(await Deno.readTextFile(`${dir}/train.log`), /kept the last epoch's weights \(epoch 4\)/);
    // lr of the last step of epoch 1: warm-up ends there (3 steps), so it is the base rate.
    assert.equal(result.rows[0].lr, 0.05);
    assert.ok(Math.abs(result.rows[3].lr! - 0.005) < 1e-12);
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainModel: with checkpoint.keepBest the best epoch is kept beside the last, labelled as selected on validation", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = config({
      train: { epochs: 4, batchSize: 4, microBatch: 2, lr: 0.05, warmupEpochs: 1, decayEpochs: [3] },
      checkpoint: { keepBest: true },
    });
    const model = toyModel();
    let evals = 0;
    const p = {
      ...parts(model, cfg),
      validate: () => Promise.resolve({ map: [0.2, 0.5, 0.4, 0.1][evals++], ap: { face_mask: 0.3, face: 0.1 } }),
    };
    await trainModel(p, { config: cfg, runDir: dir, progress: quiet() });
    assert.deepEqual(await readCheckpointIndex(`${dir}/checkpoints`), {
      last: "epoch-0004",
      best: "epoch-0002",
      bestMetric: 0.5,
    });
    const last = await readWeights(`${dir}/model`);
    const best = await readWeights(`${dir}/model_best`);
    assert.equal(last.metadata.epoch, 4);
    assert.equal(best.metadata.epoch, 2);
    assert.equal(best.metadata.which, "best");
    assert.match(String(best.metadata.selectedOn), /validation/);
    assert.equal(best.metadata.valMap, 0.5);
    assert.ok(last.weights.some((w, i) => w.data.some((v, k) => v !== best.weights[i].data[k])));
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainModel: kill after an epoch and resume = uninterrupted run", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  try {
    const cfg = config();
    const m1 = toyModel();
    const r1 = await trainModel(parts(m1, cfg), { config: cfg, runDir: a, progress: quiet() });
    const m2 = toyModel();
    const stopped = await trainModel(parts(m2, cfg), { config: cfg, runDir: b, progress: quiet(), stopAfterEpoch: 1 });
    assert.equal(stopped.finished, false);
    assert.equal(stopped.epochs, 1);
    m2.dispose();
    const m3 = toyModel(99); // a fresh process builds a model with other initial weights
    const r3 = await trainModel(parts(m3, cfg), { config: cfg, runDir: b, progress: quiet(), resume: true });
    assert.equal(r3.finished, true);
    assert.equal(r3.steps, r1.steps);
    // Rows of earlier sessions come back from the CSV (6 significant digits).
    r3.rows.forEach((r, i) =>
      assert.ok(Math.abs(r.loss! - r1.rows[i].loss!) < 1e-5 * r1.rows[i].loss!, `epoch ${i + 1}`)
    );
    const w1 = m1.getWeights().map((w) => Array.from(w.dataSync()));
    const w3 = m3.getWeights().map((w) => Array.from(w.dataSync()));
    w1.forEach((w, i) => w.forEach((v, k) => assert.ok(Math.abs(v - w3[i][k]) < 1e-6, `weight ${i}[${k}]`)));
    const last = await loadCheckpoint(`${b}/checkpoints`);
    assert.equal(last?.state.epoch, 3);
    assert.match(await Deno.readTextFile(`${b}/train.log`), /resumed from .*epoch-0001 \(epoch 1, step 3\)/);
    m1.dispose();
    m3.dispose();
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("trainModel: NaN loss stops with a clear message and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = config();
    let calls = 0;
    // 6 micro-batches per epoch; the 8th call falls in epoch 2.
    const nanAt8: LossFn = (pred, target) => {
      calls++;
      const l = toyLoss(pred, target);
      if (calls < 8) return l;
      const total = tf.tidy(() => l.total.mul(NaN)) as tf.Scalar;
      l.total.dispose();
      return { ...l, total };
    };
    const model = toyModel();
    const before = tf.memory().numTensors;
    await assert.rejects(
      () => trainModel(parts(model, cfg, nanAt8), { config: cfg, runDir: dir, progress: quiet() }),
      (err: unknown) => {
        assert.ok(err instanceof NonFiniteLossError);
        assert.match(err.message, /loss is NaN at epoch 2, step 1\/3 .*last good checkpoint is .*epoch-0001/);
        assert.equal(err.epoch, 2);
        return true;
      },
    );
    assert.equal(tf.memory().numTensors, before);
    assert.equal((await readCheckpointIndex(`${dir}/checkpoints`)).last, "epoch-0001");
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
