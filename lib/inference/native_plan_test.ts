import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend/mod.ts";
import { addonBuilt, loadAddon } from "../backend/native/addon.ts";
import { loadNative } from "../backend/native/native.ts";
import { relErr } from "../backend/native/testing.ts";
import type { PlanConv } from "../backend/native/plan.ts";
import { generateDataset } from "../data/generate.ts";
import { scanSplit } from "../data/dataset.ts";
import { buildDetector, type TrunkName } from "../model/mod.ts";
import { loadDetector } from "./detector.ts";
import { compileNativePlan, disposeNativePlan, NativePlanError, nativePlanFor, predictOutputs } from "./native_plan.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: native plan tests are skipped (run `deno task build:native`)");

const RUN = new URL("../../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;
const SIZE: [number, number] = [64, 96];

if (!ignore) {
  await setupBackend({ backend: "wasm", log: () => {} });
  assert.equal((await loadNative()).ok, true);
  await tf.setBackend("native");
} else {
  await tf.setBackend("cpu");
}

/**
 * Trained-looking weights: BN statistics and affine parameters far from their initial 0 / 1, and non-zero biases, so
 * that folding them into the convolutions is really exercised.
 */
function randomizeBn(model: tf.LayersModel, seed: number): void {
  const values = model.weights.map((w, i) => {
    const n = ((w as unknown as { originalName?: string }).originalName ?? w.name).split("/").pop()!;
    const shape = w.shape as number[];
    const s = seed * 1000 + i;
    if (n.endsWith("gamma")) return tf.randomUniform(shape, 0.5, 1.5, "float32", s);
    if (n.endsWith("beta")) return tf.randomNormal(shape, 0.1, 0.3, "float32", s);
    if (n.endsWith("moving_mean")) return tf.randomNormal(shape, 0, 0.3, "float32", s);
    if (n.endsWith("moving_variance")) return tf.randomUniform(shape, 0.3, 2, "float32", s);
    if (n === "bias") return tf.randomNormal(shape, 0, 0.1, "float32", s);
    return w.read().clone();
  });
  model.setWeights(values);
  tf.dispose(values);
}

function images(batch: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform([batch, ...SIZE, 3], -0.5, 0.5, "float32", seed).dataSync() as Float32Array);
}

/** model.predict's outputs on `x`, read back. */
function predicted(model: tf.LayersModel, x: Float32Array, batch: number): Float32Array[] {
  return tf.tidy(() => {
    const outs = model.predict(tf.tensor(x, [batch, ...SIZE, 3])) as tf.Tensor[];
    return outs.map((o) => o.dataSync() as Float32Array);
  });
}

/** Spread of the values relative to their largest magnitude: a dead network (all ReLUs off) has none. */
function spread(a: Float32Array): number {
  let m = 0, s = 0, s2 = 0;
  for (const v of a) {
    m = Math.max(m, Math.abs(v));
    s += v;
    s2 += v * v;
  }
  return Math.sqrt(Math.max(0, s2 / a.length - (s / a.length) ** 2)) / m;
}

Deno.test("compileNativePlan: SSDv2 becomes convolutions and concatenations only, BN and activations folded", () => {
  const d = buildDetector({ trunk: "ssdv2", branches: 4, inputSize: SIZE });
  try {
    const spec = compileNativePlan(d.model);
    const kinds = spec.ops.map((o) => o.op);
    // 8 + 3 CB, 3 DCB of two convolutions, 3 branch-block convolutions and 2 heads per branch; one concat per branch.
    assert.equal(kinds.filter((k) => k === "conv").length, 11 + 6 + 4 * 3 + 4 * 2);
    assert.equal(kinds.filter((k) => k === "concat").length, 4);
    assert.equal(spec.ops.length, 41);
    const convs = spec.ops.filter((o) => o.op === "conv") as PlanConv[];
    // Every convolution has a bias (BN folded or the layer's own); the branch blocks' ReLU went into their convs.
    assert.ok(convs.every((c) => c.bias instanceof Float32Array));
    assert.equal(
      convs.filter((c) => c.activation === "leakyrelu" && c.alpha === Math.fround(0.3) || c.alpha === 0.3)
        .length,
      4,
    );
    assert.equal(convs.filter((c) => (c.activation ?? "linear") === "linear").length, 8, "only the heads are linear");
    // Logits: per image P x 3 values, the branches' head maps one after the other.
    const P = d.priors.length / 4;
    assert.deepEqual(spec.outputs.map((o) => o.perImage), [P * 3, P * 4]);
    const offsets = spec.outputs[0].pieces.map((p) => p.offset);
    assert.deepEqual(offsets, offsets.slice().sort((a, b) => a - b));
    assert.equal(offsets[0], 0);
  } finally {
    d.model.dispose();
  }
});

Deno.test("compileNativePlan: the other trunks fold ZeroPadding2D, standalone BN and Add (sum post-op)", () => {
  const slim = buildDetector({ trunk: "slim", branches: 4, width: 8, inputSize: SIZE });
  const rfb = buildDetector({ trunk: "rfb", branches: 1, width: 8, inputSize: SIZE });
  const aizoo = buildDetector({ trunk: "aizoo", branches: 2, inputSize: SIZE });
  try {
    const s = compileNativePlan(slim.model);
    const dw = s.ops.filter((o) => o.op === "conv" && o.groups > 1 && o.strides[0] === 2) as PlanConv[];
    assert.ok(dw.some((c) => c.pad.join() === "1,1,1,1" && c.bias), "the padded depthwise conv of t4");
    const r = compileNativePlan(rfb.model);
    assert.equal(r.ops.filter((o) => o.op === "add").length, 0);
    assert.equal(
      (r.ops.filter((o) => o.op === "conv" && o.sum !== null && o.sum !== undefined) as PlanConv[])
        .filter((c) => c.activation === "relu").length,
      1,
    );
    assert.ok(r.ops.some((o) => o.op === "conv" && o.dilations[0] === 5 && o.pad.join() === "5,5,5,5"));
    const a = compileNativePlan(aizoo.model);
    assert.equal(a.ops.filter((o) => o.op === "maxPool").length, 4);
  } finally {
    for (const d of [slim, rfb, aizoo]) d.model.dispose();
  }
});

Deno.test("compileNativePlan: a layer it cannot compile is named in a NativePlanError", () => {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "fine" }).apply(input);
  const pooled = tf.layers.averagePooling2d({ poolSize: 2, name: "mystery_pool" }).apply(conv) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: pooled });
  try {
    assert.throws(
      () => compileNativePlan(model),
      (e: Error) =>
        e instanceof NativePlanError && e.layer === "mystery_pool" &&
        /layer "mystery_pool": AveragePooling2D layers cannot be compiled/.test(e.message),
    );
  } finally {
    model.dispose();
  }
});

for (const branches of [1, 2, 3, 4] as const) {
  for (const reading of ["own", "carry"] as const) {
    Deno.test({
      name: `native plan: ssdv2 with ${branches} branch(es), ${reading} priors, equals model.predict at batch 1 and 3`,
      ignore,
      fn() {
        const d = buildDetector({ trunk: "ssdv2", branches, priorReading: reading, inputSize: SIZE, seed: branches });
        randomizeBn(d.model, branches);
        const plan = nativePlanFor(d.model)!;
        try {
          assert.ok(plan, "the plan compiles");
          for (const b of [1, 3]) {
            const x = images(b, 10 * branches + b);
            const want = predicted(d.model, x, b);
            const got = plan.run(x, b);
            for (let k = 0; k < 2; k++) {
              assert.equal(got[k].length, want[k].length);
              const e = relErr(got[k], want[k]);
              assert.ok(e < 1e-4, `batch ${b} output ${k}: relative error ${e}`);
              assert.ok(spread(want[k]) > 1e-3, `output ${k} varies`);
            }
          }
        } finally {
          disposeNativePlan(d.model);
          d.model.dispose();
        }
      },
    });
  }
}

for (const [trunk, branches] of [["slim", 4], ["rfb", 2], ["aizoo", 3]] as [TrunkName, 1 | 2 | 3 | 4][]) {
  Deno.test({
    name: `native plan: the ${trunk} trunk equals model.predict at batch 2`,
    ignore,
    fn() {
      const d = buildDetector({ trunk, branches, width: 8, inputSize: SIZE, seed: 5 });
      randomizeBn(d.model, 7);
      const plan = nativePlanFor(d.model)!;
      try {
        const x = images(2, 3);
        const want = predicted(d.model, x, 2);
        const got = plan.run(x, 2);
        for (let k = 0; k < 2; k++) {
          assert.ok(relErr(got[k], want[k]) < 1e-4, `output ${k}: ${relErr(got[k], want[k])}`);
        }
      } finally {
        disposeNativePlan(d.model);
        d.model.dispose();
      }
    },
  });
}

Deno.test({
  name: "predictOutputs: the plan on native, rebuilt when the weights change, no tensors kept, released on dispose",
  ignore,
  async fn() {
    const addon = loadAddon();
    const d = buildDetector({ trunk: "ssdv2", branches: 2, inputSize: SIZE });
    randomizeBn(d.model, 3);
    const x = images(2, 4);
    const plansBefore = addon.planStats();
    await predictOutputs(d.model, x, 2); // builds the plan
    const tensors = tf.memory().numTensors;
    const first = await predictOutputs(d.model, x, 2);
    assert.equal(first.path, "plan");
    assert.equal(nativePlanFor(d.model), nativePlanFor(d.model), "one plan per model while the weights stay");
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(addon.planStats().live, plansBefore.live + 1);
    // New weights (as training or setModelWeights give): the next pass must see them.
    const old = nativePlanFor(d.model)!;
    randomizeBn(d.model, 9);
    const after = await predictOutputs(d.model, x, 2);
    assert.ok(old.disposed, "the stale plan was released");
    const want = predicted(d.model, x, 2);
    assert.ok(relErr(after.logits, want[0]) < 1e-4 && relErr(after.offsets, want[1]) < 1e-4);
    assert.ok(relErr(after.logits, first.logits) > 1e-3, "the outputs moved with the weights");
    assert.equal(addon.planStats().live, plansBefore.live + 1);
    // SSD_NATIVE_PLAN=0: model.predict, same numbers.
    Deno.env.set("SSD_NATIVE_PLAN", "0");
    try {
      const viaPredict = await predictOutputs(d.model, x, 2);
      assert.equal(viaPredict.path, "predict");
      assert.ok(relErr(viaPredict.logits, after.logits) < 1e-4);
    } finally {
      Deno.env.delete("SSD_NATIVE_PLAN");
    }
    disposeNativePlan(d.model);
    assert.deepEqual(addon.planStats(), plansBefore);
    assert.equal(tf.memory().numTensors, tensors);
    d.model.dispose();
  },
});

Deno.test({
  name: "predictOutputs: a model the compiler refuses runs through model.predict",
  ignore,
  async fn() {
    const input = tf.input({ shape: [8, 8, 3] });
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.globalAveragePooling2d({ name: "gap" }).apply(a) as tf.SymbolicTensor;
    const c = tf.layers.globalMaxPooling2d({ name: "gmp" }).apply(a) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: [b, c] });
    try {
      assert.equal(nativePlanFor(model), null);
      const out = await predictOutputs(model, new Float32Array(2 * 8 * 8 * 3).fill(0.25), 2);
      assert.equal(out.path, "predict");
      assert.equal(out.logits.length, 6);
    } finally {
      model.dispose();
    }
  },
});

let runExists = false;
try {
  runExists = Deno.statSync(`${RUN}/model/model.json`).isFile;
} catch {
  runExists = false;
}

Deno.test({
  name: "loadDetector: the trained 4-branch run gives the same detections with and without the plan",
  ignore: ignore || !runExists,
  async fn() {
    const tmp = await Deno.makeTempDir();
    const detector = await loadDetector(RUN, { backend: "native", log: () => {} });
    try {
      await generateDataset(`${tmp}/data`, { seed: 11, train: 0, val: 3 });
      const files = (await scanSplit(`${tmp}/data`, "val")).records.map((r) => r.imagePath);
      const real = Deno.env.get("FACEMASK_DATA");
      if (real) files.push(...(await scanSplit(real, "val")).records.slice(0, 5).map((r) => r.imagePath));
      const withPlan = await detector.detectBatch(files, { minScore: 0.05 });
      assert.ok(nativePlanFor(detector.model), "the plan ran");
      Deno.env.set("SSD_NATIVE_PLAN", "0");
      let without;
      try {
        without = await detector.detectBatch(files, { minScore: 0.05 });
      } finally {
        Deno.env.delete("SSD_NATIVE_PLAN");
      }
      assert.ok(withPlan.flat().length > 0, "something was detected");
      assert.equal(withPlan.length, without.length);
      withPlan.forEach((dets, i) => {
        assert.deepEqual(dets.map((d) => d.label), without[i].map((d) => d.label), files[i]);
        dets.forEach((d, j) => {
          const o = without[i][j];
          assert.ok(Math.abs(d.score - o.score) < 1e-4, `${files[i]}: score ${d.score} vs ${o.score}`);
          d.box.forEach((v, k) => assert.ok(Math.abs(v - o.box[k]) < 1e-2, `${files[i]}: box ${d.box} vs ${o.box}`));
        });
      });
    } finally {
      detector.dispose();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
