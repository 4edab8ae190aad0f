import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import sharp from "sharp";
import { loadImage, normalize } from "../data/image.ts";
import { decodeDetections } from "../detect/postprocess.ts";
import { planScene, renderScene } from "../data/generate.ts";
import { buildDetector, type DetectorOptions } from "../model/detector.ts";
import { Rng } from "../util/rng.ts";
import { buildOnnxModel, exportOnnx, ONNX_IR_VERSION, ONNX_METADATA_KEY, ONNX_OPSET, onnxSidecarPath } from "./onnx.ts";
import { detectorSource, loadRunSource } from "./source.ts";
import { maxAbsDiff, randomizeNormalization, uniformArray } from "./testing.ts";
import { toPortableModel } from "./tfjs.ts";

const { onnx } = onnxProto;
await tf.setBackend("cpu");

const RUN = new URL("../../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;
const OPS = new Set([
  "Transpose",
  "Conv",
  "Relu",
  "LeakyRelu",
  "BatchNormalization",
  "Pad",
  "MaxPool",
  "Concat",
  "Add",
  "Reshape",
  "Identity",
  "Constant",
]);

/** Runs an ONNX model with onnxruntime (CPU, one thread) on a NHWC float32 batch. */
async function runOnnx(bytes: Uint8Array, input: Float32Array, shape: number[]) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({ image: new ort.Tensor("float32", input, shape) });
    const get = (k: string) => ({ data: out[k].data as Float32Array, dims: [...out[k].dims] });
    return { logits: get("logits"), offsets: get("offsets"), priors: get("priors") };
  } finally {
    await session.release();
  }
}

function predict(model: tf.LayersModel, input: Float32Array, shape: number[]): Float32Array[] {
  return tf.tidy(() =>
    (model.predict(tf.tensor(input, shape)) as tf.Tensor[]).map((y) => y.dataSync() as Float32Array)
  );
}

const CASES: { label: string; options: DetectorOptions }[] = [
  { label: "ssdv2, 2 branches, carry priors", options: { trunk: "ssdv2", branches: 2, priorReading: "carry" } },
  { label: "rfb, 4 branches, 72x100", options: { trunk: "rfb", branches: 4, inputSize: [72, 100] } },
  { label: "slim, 4 branches, 72x100", options: { trunk: "slim", branches: 4, inputSize: [72, 100] } },
  { label: "aizoo, 3 branches, 64x96", options: { trunk: "aizoo", branches: 3, inputSize: [64, 96] } },
];

for (const c of CASES) {
  for (const foldBatchNorm of [true, false]) {
    Deno.test(`onnx export: ${c.label}, BN ${foldBatchNorm ? "folded" : "as nodes"}, matches TF.js in onnxruntime`, async () => {
      const d = buildDetector({ ...c.options, seed: 3 });
      try {
        randomizeNormalization(d.model, 5);
        const source = detectorSource(d, { width: 16 });
        const built = buildOnnxModel(source, { foldBatchNorm });
        const decoded = onnx.ModelProto.decode(built.bytes);
        assert.equal(Number(decoded.irVersion), ONNX_IR_VERSION);
        assert.deepEqual(decoded.opsetImport.map((o) => [o.domain, Number(o.version)]), [["", ONNX_OPSET]]);
        const ops = new Set(decoded.graph!.node!.map((n) => n.opType as string));
        for (const op of ops) assert.ok(OPS.has(op), `unexpected op ${op}`);
        const portable = toPortableModel(d.model);
        const bnLayers = portable.layers.filter((l) => l.getClassName() === "BatchNormalization").length;
        portable.dispose();
        assert.equal(built.opCounts.BatchNormalization ?? 0, foldBatchNorm ? 0 : bnLayers);
        assert.equal(built.opCounts.Pad ?? 0, 0, "every zero padding feeds a conv and becomes its pads");
        const meta = JSON.parse(decoded.metadataProps.find((p) => p.key === ONNX_METADATA_KEY)!.value!);
        assert.deepEqual(meta, JSON.parse(JSON.stringify(built.metadata)));
        assert.deepEqual(meta.priors.sizes, d.priorConfig.sizes);

        const [h, w] = d.priorConfig.inputSize;
        const shape = [2, h, w, 3];
        const input = uniformArray(2 * h * w * 3, 9);
        const want = predict(d.model, input, shape);
        const got = await runOnnx(built.bytes, input, shape);
        const P = d.priors.length / 4;
        assert.deepEqual(got.logits.dims, [2, P, 3]);
        assert.deepEqual(got.offsets.dims, [2, P, 4]);
        assert.deepEqual(got.priors.dims, [P, 4]);
        assert.equal(maxAbsDiff(got.priors.data, d.priors), 0);
        const diffs = [maxAbsDiff(want[0], got.logits.data), maxAbsDiff(want[1], got.offsets.data)];
        console.log(`  max |diff| logits ${diffs[0].toExponential(2)}, offsets ${diffs[1].toExponential(2)}`);
        for (const diff of diffs) assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
        assert.ok(Math.max(...want[0].map(Math.abs)) > 0.1, "outputs are not all tiny");
      } finally {
        d.model.dispose();
      }
    });
  }
}

Deno.test("onnx export: building leaves no tensors behind", () => {
  const d = buildDetector({ trunk: "rfb", branches: 2, inputSize: [64, 64] });
  try {
    const before = tf.memory().numTensors;
    buildOnnxModel(detectorSource(d));
    assert.equal(tf.memory().numTensors, before);
  } finally {
    d.model.dispose();
  }
});

Deno.test("onnx export: the sidecar sits beside the file", () => {
  assert.equal(onnxSidecarPath("out/ssdv2.onnx"), "out/ssdv2.meta.json");
  assert.equal(onnxSidecarPath("out/model"), "out/model.meta.json");
});

/** Up to `n` model inputs: val images of FACEMASK_DATA when set, else generated scenes; with their labels. */
async function sampleImages(n: number): Promise<{ label: string; pixels: Float32Array }[]> {
  const root = Deno.env.get("FACEMASK_DATA");
  const out: { label: string; pixels: Float32Array }[] = [];
  if (root) {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${root}/val`)) if (e.name.endsWith(".jpg")) names.push(e.name);
    for (const name of names.sort().slice(0, n)) {
      out.push({ label: `val/${name}`, pixels: normalize(await loadImage(`${root}/val/${name}`)) });
    }
    return out;
  }
  const rng = new Rng(21);
  for (let i = 0; i < n; i++) {
    const scene = planScene(rng);
    const raw = await renderScene(scene);
    const png = await sharp(raw, { raw: { width: scene.width, height: scene.height, channels: 3 } }).png().toBuffer();
    out.push({ label: `generated scene ${i}`, pixels: normalize(await loadImage(new Uint8Array(png))) });
  }
  return out;
}

Deno.test("onnx export: the trained run's ONNX file gives the TF.js model's outputs on images", async () => {
  const dir = await Deno.makeTempDir({ prefix: "export_run_onnx_" });
  const src = await loadRunSource(RUN);
  try {
    const res = await exportOnnx(RUN, `${dir}/ssdv2.onnx`);
    const sidecar = JSON.parse(await Deno.readTextFile(`${dir}/ssdv2.meta.json`));
    assert.equal(sidecar.file, "ssdv2.onnx");
    assert.deepEqual(sidecar.variances, [0.1, 0.2]);
    assert.deepEqual(sidecar.classNames, ["background", "face_mask", "face"]);
    assert.deepEqual(sidecar.priors.steps, [8, 16, 32, 64]);
    assert.equal(sidecar.origin.epoch, 70);
    assert.equal(res.opCounts.BatchNormalization ?? 0, 0);
    const bytes = await Deno.readFile(res.file);
    const images = await sampleImages(3);
    assert.equal(images.length, 3);
    for (const img of images) {
      const shape = [1, 240, 320, 3];
      const want = predict(src.model, img.pixels, shape);
      const got = await runOnnx(bytes, img.pixels, shape);
      const diffs = [maxAbsDiff(want[0], got.logits.data), maxAbsDiff(want[1], got.offsets.data)];
      console.log(
        `  ${img.label}: max |diff| logits ${diffs[0].toExponential(2)}, offsets ${diffs[1].toExponential(2)}`,
      );
      for (const diff of diffs) assert.ok(diff <= 1e-4, `${img.label}: max abs diff ${diff}`);
      assert.equal(maxAbsDiff(got.priors.data, src.priors), 0);
      // decoded with nothing but the file's own outputs and metadata, the detections are the TF.js model's
      const settings = { ...sidecar.eval, variances: sidecar.variances as [number, number] };
      const ours = decodeDetections({ logits: want[0], offsets: want[1] }, { priors: src.priors, ...src.eval })[0];
      const theirs = decodeDetections(
        { logits: got.logits.data, offsets: got.offsets.data },
        { priors: got.priors.data, ...settings },
      )[0];
      const strong = (ds: typeof ours) => ds.filter((x) => x.score > 0.5);
      assert.equal(strong(theirs).length, strong(ours).length, img.label);
      strong(ours).forEach((x, i) => {
        assert.equal(strong(theirs)[i].label, x.label);
        assert.ok(maxAbsDiff(strong(theirs)[i].box, x.box) < 1e-4, img.label);
      });
      console.log(`    ${strong(ours).length} detections above 0.5, the same from both`);
    }
  } finally {
    src.model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("onnx export: a folder without a run config is refused with the file named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "export_norun_" });
  try {
    await assert.rejects(exportOnnx(dir, `${dir}/x.onnx`), new RegExp(`${dir}/config.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
