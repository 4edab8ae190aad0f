import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildDetector, type DetectorOptions } from "../model/detector.ts";
import { readWeights } from "../runs/files.ts";
import { detectorSource, loadRunSource, portableMetadata } from "./source.ts";
import {
  exportTfjs,
  exportTfjsModel,
  PORTABLE_LAYER_CLASSES,
  TFJS_SHARD,
  tfjsArtifacts,
  toPortableModel,
} from "./tfjs.ts";
import { maxAbsDiff, randomizeNormalization, uniformArray } from "./testing.ts";

// One backend for the model here and the subprocess that loads the export (tfjs' cpu kernels on both sides).
await tf.setBackend("cpu");

const REPO = new URL("../../", import.meta.url).pathname;
const LOADER = new URL("./testdata/load_tfjs.ts", import.meta.url).pathname;
const RUN = `${REPO}results/ablation/branches-4-20261129-122037`;
const CUSTOM = ["ConvBlock", "DepthwiseConvBlock", "DilatedConv2D"];

interface Loaded {
  outputs: Float32Array[];
  names: string[];
  shapes: number[][];
  metadata: Record<string, unknown> | null;
  layerClasses: string[];
}

/** Loads `<dir>/model.json` in a process that imports only @tensorflow/tfjs and runs it on `input`. */
async function loadElsewhere(dir: string, input: Float32Array, shape: number[]): Promise<Loaded> {
  const tmp = await Deno.makeTempDir({ prefix: "export_load_" });
  try {
    const inPath = `${tmp}/input.f32`;
    await Deno.writeFile(inPath, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--allow-read",
        "--allow-write",
        LOADER,
        `${dir}/model.json`,
        inPath,
        shape.join(","),
        `${tmp}/out`,
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `load_tfjs.ts failed:\n${err}`);
    const info = JSON.parse(await Deno.readTextFile(`${tmp}/out.json`));
    const outputs: Float32Array[] = [];
    for (let k = 0; k < info.outputs.length; k++) {
      const raw = await Deno.readFile(`${tmp}/out.${k}.f32`);
      outputs.push(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4));
    }
    return {
      outputs,
      names: info.outputs.map((o: { name: string }) => o.name),
      shapes: info.outputs.map((o: { shape: number[] }) => o.shape),
      metadata: info.metadata,
      layerClasses: info.layerClasses,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

function predict(model: tf.LayersModel, input: Float32Array, shape: number[]): Float32Array[] {
  return tf.tidy(() => {
    const ys = model.predict(tf.tensor(input, shape)) as tf.Tensor[];
    return ys.map((y) => y.dataSync() as Float32Array);
  });
}

function topologyClasses(modelJson: { modelTopology: unknown }): string[] {
  const topo = modelJson.modelTopology as { config: { layers: { class_name: string }[] } };
  return [...new Set(topo.config.layers.map((l) => l.class_name))].sort();
}

const CASES: { label: string; options: DetectorOptions; batch: number }[] = [
  {
    label: "ssdv2, 2 branches, carry priors",
    options: { trunk: "ssdv2", branches: 2, priorReading: "carry" },
    batch: 2,
  },
  { label: "rfb, 4 branches, 72x100", options: { trunk: "rfb", branches: 4, inputSize: [72, 100] }, batch: 2 },
  { label: "aizoo, 3 branches, 64x96", options: { trunk: "aizoo", branches: 3, inputSize: [64, 96] }, batch: 2 },
];

for (const c of CASES) {
  Deno.test(`tfjs export: ${c.label} loads with plain tf.loadLayersModel and gives the same outputs`, async () => {
    const d = buildDetector({ ...c.options, seed: 7 });
    const dir = await Deno.makeTempDir({ prefix: "export_tfjs_" });
    try {
      assert.ok(randomizeNormalization(d.model, 11) > 0);
      const res = await exportTfjsModel(detectorSource(d, { width: 16 }), dir);
      const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
      // official layers-model JSON: one manifest group naming the shard, float32 specs covering its bytes exactly
      assert.equal(json.format, "layers-model");
      assert.deepEqual(json.weightsManifest[0].paths, [TFJS_SHARD]);
      const specs = json.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string }[];
      const values = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      assert.equal((await Deno.stat(`${dir}/${TFJS_SHARD}`)).size, values * 4);
      assert.equal(res.weightBytes, values * 4);
      assert.equal(values, d.model.countParams());
      assert.equal(new Set(specs.map((s) => s.name)).size, specs.length, "weight names are unique");
      const classes = topologyClasses(json);
      for (const k of classes) assert.ok((PORTABLE_LAYER_CLASSES as readonly string[]).includes(k), k);
      for (const k of CUSTOM) assert.ok(!classes.includes(k), k);

      const [h, w] = d.priorConfig.inputSize;
      const shape = [c.batch, h, w, 3];
      const input = uniformArray(c.batch * h * w * 3, 3);
      const want = predict(d.model, input, shape);
      const got = await loadElsewhere(dir, input, shape);
      assert.deepEqual(got.names, ["logits", "offsets"]);
      const P = d.priors.length / 4;
      assert.deepEqual(got.shapes, [[c.batch, P, 3], [c.batch, P, 4]]);
      for (const k of CUSTOM) assert.ok(!got.layerClasses.includes(k));
      const diffs = want.map((wv, k) => maxAbsDiff(wv, got.outputs[k]));
      console.log(`  ${c.label}: max |diff| logits ${diffs[0].toExponential(2)}, offsets ${diffs[1].toExponential(2)}`);
      for (const diff of diffs) assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
      // outputs of a randomised network are not all tiny, so the comparison means something
      assert.ok(Math.max(...want[0].map(Math.abs)) > 0.1);

      const meta = got.metadata as unknown as ReturnType<typeof portableMetadata>;
      assert.deepEqual(meta, JSON.parse(JSON.stringify(portableMetadata(detectorSource(d, { width: 16 })))));
      assert.deepEqual(meta.priors.steps, d.priorConfig.steps);
      assert.deepEqual(meta.priors.sizes, d.priorConfig.sizes);
      assert.deepEqual(meta.priors.inputSize, [h, w]);
      assert.equal(meta.priors.count, P);
      assert.deepEqual(meta.variances, [0.1, 0.2]);
      assert.deepEqual(meta.classNames, ["background", "face_mask", "face"]);
      assert.equal(meta.eval.nmsIou, 0.4);
      assert.equal(meta.architecture.priorReading, c.options.priorReading ?? "own");
    } finally {
      d.model.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("tfjs export: carry priors put the dropped branches' sizes on branch 2 in the metadata", () => {
  const d = buildDetector({ trunk: "ssdv2", branches: 2, priorReading: "carry" });
  try {
    const meta = portableMetadata(detectorSource(d));
    assert.deepEqual(meta.priors.steps, [8, 16]);
    assert.deepEqual(meta.priors.sizes, [[10, 16, 24], [32, 48, 64, 96, 128, 192, 256]]);
    assert.equal(meta.priors.count, 30 * 40 * 3 + 15 * 20 * 7);
  } finally {
    d.model.dispose();
  }
});

Deno.test("tfjs export: the portable copy and the serialisation leave no tensors behind", async () => {
  const d = buildDetector({ trunk: "rfb", branches: 2, inputSize: [64, 64] });
  try {
    const before = tf.memory().numTensors;
    toPortableModel(d.model).dispose();
    await tfjsArtifacts(detectorSource(d));
    assert.equal(tf.memory().numTensors, before);
  } finally {
    d.model.dispose();
  }
});

Deno.test("tfjs export: a layer it cannot express is named in the error", () => {
  const x = tf.input({ shape: [4, 4, 3], name: "image" });
  const flat = tf.layers.flatten({ name: "flat" }).apply(x) as tf.SymbolicTensor;
  const y = tf.layers.dense({ units: 2, name: "dense" }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: y });
  try {
    assert.throws(() => toPortableModel(model), /layer flat is a Flatten, which the portable export cannot express/);
  } finally {
    model.dispose();
  }
});

Deno.test("tfjs export: the loader script imports nothing but @tensorflow/tfjs", async () => {
  const src = await Deno.readTextFile(LOADER);
  const imports = [...src.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
  assert.deepEqual(imports, ["@tensorflow/tfjs"]);
});

Deno.test("tfjs export: a run folder exports with its weights and metadata, and loads elsewhere", async () => {
  const dir = await Deno.makeTempDir({ prefix: "export_run_tfjs_" });
  const src = await loadRunSource(RUN);
  try {
    const res = await exportTfjs(RUN, dir);
    assert.equal(res.metadata.origin.epoch, 70);
    assert.equal(res.metadata.architecture.trunk, "ssdv2");
    assert.equal(res.metadata.priors.count, 4420);
    // every value of the run's weight file reaches the shard (the expansion moves weights, it does not change them)
    const saved = await readWeights(`${RUN}/model`);
    const shard = await Deno.readFile(`${dir}/${TFJS_SHARD}`);
    const exported = new Float32Array(shard.buffer, shard.byteOffset, shard.length / 4).slice().sort();
    const original = Float32Array.from(saved.weights.flatMap((w) => Array.from(w.data))).sort();
    assert.equal(maxAbsDiff(exported, original), 0);

    const shape = [1, 240, 320, 3];
    const input = uniformArray(240 * 320 * 3, 5);
    const want = predict(src.model, input, shape);
    const got = await loadElsewhere(dir, input, shape);
    const diffs = want.map((wv, k) => maxAbsDiff(wv, got.outputs[k]));
    console.log(`  trained run: max |diff| logits ${diffs[0].toExponential(2)}, offsets ${diffs[1].toExponential(2)}`);
    for (const diff of diffs) assert.ok(diff <= 1e-5, `max abs diff ${diff}`);
  } finally {
    src.model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tfjs export: a folder without a run config is refused with the file named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "export_norun_" });
  try {
    await assert.rejects(exportTfjs(dir, `${dir}/out`), new RegExp(`${dir}/config.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
