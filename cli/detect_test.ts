import assert from "node:assert/strict";
import sharp from "sharp";
import { generateDataset } from "../lib/data/generate.ts";
import { type DataRecord, scanSplit } from "../lib/data/dataset.ts";
import * as tf from "@tensorflow/tfjs";
import { generatePriors, matchBatch, toPixelDetections } from "../lib/detect/mod.ts";
import { multiboxLoss } from "../lib/loss/mod.ts";
import { loadImage, normalize } from "../lib/data/image.ts";
import { type DetectorFactory, loadRunModel, saveModelFolder } from "../lib/inference/mod.ts";
import { setupBackend } from "../lib/backend/mod.ts";
import { resolveConfig } from "../lib/runs/config.ts";
import { writeJsonAtomic } from "../lib/runs/files.ts";
import { evalOptionsOf, evaluateModel } from "../lib/evaluation/evaluate.ts";
import type { Io } from "./command_args.ts";
import { main as dataCoco } from "./data_coco.ts";
import { expandGlob, expandInputs, globSegmentRegExp, imageIdOf, main } from "./detect.ts";

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, log: (l) => out.push(l), error: (l) => err.push(l) };
}

/** `deno task metrics` in a process of its own (plain JavaScript, so its numbers do not depend on a backend). */
async function metricsCli(args: string[]): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./metrics.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("globSegmentRegExp: *, ?, classes, alternatives; the rest literal", () => {
  const m = (g: string, s: string) => globSegmentRegExp(g).test(s);
  assert.ok(m("*.jpg", "a.jpg") && !m("*.jpg", "a.jpeg") && !m("*.jpg", "ajpg"));
  assert.ok(m("img_??.png", "img_01.png") && !m("img_??.png", "img_1.png"));
  assert.ok(m("[ab]*", "b1") && !m("[ab]*", "c1") && m("[!ab]*", "c1") && m("[0-9]x", "7x"));
  assert.ok(m("*.{jpg,png}", "x.png") && !m("*.{jpg,png}", "x.gif"));
  assert.ok(m("a+b(1).jpg", "a+b(1).jpg") && !m("a+b(1).jpg", "aab1.jpg"));
  assert.throws(() => globSegmentRegExp("{a,b"), /unclosed/);
});

Deno.test("expandInputs: files, folders (images, sorted), globs with ** ; errors name the input", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    for (const f of ["a/x2.png", "a/x1.jpg", "a/B.JPG", "a/notes.txt", "a/b/y.jpg", "a/b/c/z.webp", "a/.hidden.jpg"]) {
      await Deno.mkdir(`${tmp}/${f}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${tmp}/${f}`, "x");
    }
    assert.deepEqual(await expandInputs([`${tmp}/a/`]), [`${tmp}/a/B.JPG`, `${tmp}/a/x1.jpg`, `${tmp}/a/x2.png`]);
    assert.deepEqual(await expandInputs([`${tmp}/a/*.jpg`]), [`${tmp}/a/x1.jpg`]);
    assert.deepEqual(await expandGlob(`${tmp}/a/**/*.jpg`), [`${tmp}/a/b/y.jpg`, `${tmp}/a/x1.jpg`]);
    assert.deepEqual(await expandGlob(`${tmp}/**/z.*`), [`${tmp}/a/b/c/z.webp`]);
    assert.deepEqual(await expandGlob(`${tmp}/a/.h*`), [`${tmp}/a/.hidden.jpg`]);
    // Globs keep image files only; a file named on its own is taken as given, once.
    assert.deepEqual(await expandInputs([`${tmp}/a/*`]), [`${tmp}/a/B.JPG`, `${tmp}/a/x1.jpg`, `${tmp}/a/x2.png`]);
    assert.deepEqual(
      await expandInputs([`${tmp}/a/notes.txt`, `${tmp}/a/{b,q}/*`, `${tmp}/a/notes.txt`]),
      [`${tmp}/a/notes.txt`, `${tmp}/a/b/y.jpg`],
    );
    await assert.rejects(() => expandInputs([`${tmp}/nope.jpg`]), /nope\.jpg: no such file or folder/);
    await assert.rejects(() => expandInputs([`${tmp}/a/*.gif`]), /\*\.gif: no image files match/);
    await Deno.mkdir(`${tmp}/empty`);
    await Deno.writeTextFile(`${tmp}/empty/readme.md`, "x");
    await assert.rejects(() => expandInputs([`${tmp}/empty`]), /empty: folder holds no images/);
    assert.equal(imageIdOf("/x/y/img.001.jpg"), "img.001");
    assert.equal(imageIdOf(".jpg"), ".jpg");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("detect: bad arguments exit 2 with a line naming the problem", async () => {
  const bad = capture();
  assert.equal(await main(["run", "a.jpg", "--bogus"], bad), 2);
  assert.match(bad.err[0].split("\n")[0], /^detect: .*'--bogus'/);
  const few = capture();
  assert.equal(await main(["run"], few), 2);
  assert.match(few.err[0], /give a run folder and at least one image/);
  // Usage errors are one line each, nothing else.
  for (const c of [bad, few]) assert.deepEqual([c.err.length, c.err[0].includes("\n"), c.out.length], [1, false, 0]);
  const threshold = capture();
  assert.equal(await main(["run", "a.jpg", "--threshold", "1.5"], threshold), 2);
  assert.match(threshold.err[0], /--threshold must be a number in \[0, 1\], got 1\.5/);
  const backend = capture();
  assert.equal(await main(["run", "a.jpg", "--backend", "gpu"], backend), 2);
  assert.match(backend.err[0], /--backend must be one of/);
  const missing = capture();
  assert.equal(await main(["run", "/no/such/image.jpg"], missing), 1);
  assert.match(missing.err[0], /\/no\/such\/image\.jpg: no such file or folder/);
  const help = capture();
  assert.equal(await main(["-h"], help), 0);
  assert.match(help.out[0], /usage: deno task detect/);
});

/**
 * Detect -> COCO JSON -> metrics against data:coco's ground truth, beside evaluateModel on the same images: the two
 * routes must give the same numbers. `dataRoot` holds `val/`.
 */
async function roundTrip(runDir: string, dataRoot: string, tmp: string, backend: string, hooks = {}) {
  const io = capture();
  const args = [runDir, `${dataRoot}/val`, "--threshold", "0", "--coco", `${tmp}/out/dets.json`];
  assert.equal(await main([...args, "--json", `${tmp}/out/all.json`, "--no-draw", "--backend", backend], io, hooks), 0);
  assert.equal(await dataCoco(["--data", dataRoot, "--out", `${tmp}/out/gt.json`], capture()), 0);
  const viaCli = await metricsCli(["--gt", `${tmp}/out/gt.json`, "--dets", `${tmp}/out/dets.json`]);
  const viaVoc = await metricsCli(["--gt-voc", dataRoot, "--dets", `${tmp}/out/dets.json`]);
  assert.deepEqual(viaVoc, viaCli);

  await setupBackend({ backend: backend as "cpu", log: () => {} });
  const { model, priors, config } = await loadRunModel(runDir, hooks);
  const records: DataRecord[] = (await scanSplit(dataRoot, "val")).records;
  const evaluation = await evaluateModel(model, records, evalOptionsOf(config, priors));
  model.dispose();
  const r = evaluation.result;
  const coco = viaCli.coco as { ap: number; ap50: number };
  assert.ok(Math.abs((viaCli.map as number) - r.map!) < 1e-9, `metrics ${viaCli.map} vs evaluateModel ${r.map}`);
  assert.ok(Math.abs((viaCli.map11 as number) - r.map11!) < 1e-9);
  assert.ok(Math.abs(coco.ap - r.coco.ap!) < 1e-9 && Math.abs(coco.ap50 - r.coco.ap50!) < 1e-9);
  const dets = JSON.parse(await Deno.readTextFile(`${tmp}/out/dets.json`));
  assert.equal(dets.length, r.numDetections);
  // --json keeps full precision: the boxes are evaluateModel's, scaled to each image.
  const all = JSON.parse(await Deno.readTextFile(`${tmp}/out/all.json`));
  assert.equal(all.length, records.length);
  records.forEach((rec, i) => {
    assert.equal(all[i].image, rec.imagePath);
    const want = toPixelDetections(evaluation.detections.get(rec.id)!, rec).map((d) => d.box);
    assert.deepEqual(all[i].detections.map((d: { box: number[] }) => d.box), want);
  });
  // The printed JSON has one record per image, boxes to 0.1 pixel, and a progress line per image went to stderr.
  const printed = JSON.parse(io.out[0]);
  assert.equal(printed.length, records.length);
  const b = printed[0].detections[0]?.box ?? [];
  assert.ok(b.every((v: number) => Math.abs(v * 10 - Math.round(v * 10)) < 1e-6));
  assert.equal(io.err.filter((l) => /^detect: \[\d+\/\d+\] /.test(l)).length, records.length);
  return r;
}

// A tiny detector (not lib/model's, whose training takes minutes here): two maps of stride 16 and 32, 2 priors a cell.
const TINY_PRIORS = { inputSize: [240, 320] as [number, number], steps: [16, 32], sizes: [[16, 32], [64, 112]] };
const tinyDetector: DetectorFactory = (_model, { seed }) => {
  const init = (k: number) => tf.initializers.heNormal({ seed: seed + k });
  const conv = (filters: number, k: number, strides = 1, activation: "relu" | "linear" = "relu") =>
    tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: "same", activation, kernelInitializer: init(k) });
  const input = tf.input({ shape: [240, 320, 3] });
  const pooled = tf.layers.averagePooling2d({ poolSize: 4 }).apply(input) as tf.SymbolicTensor; // 60x80
  const x = conv(16, 2, 2).apply(conv(16, 1, 2).apply(pooled)) as tf.SymbolicTensor; // 15x20
  const y = conv(16, 3, 2).apply(x) as tf.SymbolicTensor; // 8x10
  const head = (t: tf.SymbolicTensor, units: number, k: number) =>
    tf.layers.reshape({ targetShape: [-1, units] }).apply(
      conv(2 * units, k, 1, "linear").apply(t),
    ) as tf.SymbolicTensor;
  const logits = tf.layers.concatenate({ axis: 1 }).apply([head(x, 3, 4), head(y, 3, 5)]) as tf.SymbolicTensor;
  const offsets = tf.layers.concatenate({ axis: 1 }).apply([head(x, 4, 6), head(y, 4, 7)]) as tf.SymbolicTensor;
  return Promise.resolve({
    model: tf.model({ inputs: input, outputs: [logits, offsets] }),
    priors: generatePriors(TINY_PRIORS),
  });
};

/** Fits `model` to `records` for a few Adam steps (a whole batch each): enough for an mAP well away from 0 and 1. */
async function quickTrain(model: tf.LayersModel, priors: Float32Array, records: DataRecord[], steps: number) {
  const per = 240 * 320 * 3;
  const pixels = new Float32Array(records.length * per);
  for (const [i, r] of records.entries()) normalize(await loadImage(r.imagePath), pixels.subarray(i * per));
  const P = priors.length / 4;
  const m = matchBatch(records.map((r) => r.boxes), records.map((r) => r.labels), { priors, iouThreshold: 0.45 });
  const xs = tf.tensor4d(pixels, [records.length, 240, 320, 3]);
  const labels = tf.tensor2d(m.labels, [records.length, P], "int32");
  const offsets = tf.tensor3d(m.offsets, [records.length, P, 4]);
  const optimizer = tf.train.adam(0.01);
  for (let s = 0; s < steps; s++) {
    optimizer.minimize(() => {
      const [l, o] = model.apply(xs, { training: true }) as tf.Tensor3D[];
      return multiboxLoss({ logits: l, offsets: o }, { labels, offsets }).total;
    });
  }
  optimizer.dispose();
  tf.dispose([xs, labels, offsets]);
}

Deno.test("detect round trip on generated data: detect -> COCO -> metrics gives evaluateModel's mAP", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await generateDataset(`${tmp}/data`, { seed: 31, train: 0, val: 8 });
    const config = resolveConfig({
      name: "tiny",
      experiment: "test/detect",
      backend: { name: "wasm" },
      eval: { batchSize: 4 },
    });
    const runDir = `${tmp}/run`;
    await Deno.mkdir(runDir);
    await writeJsonAtomic(`${runDir}/config.json`, config);
    await setupBackend({ backend: "wasm", log: () => {} }); // the weights are made on the run's backend
    const built = await tinyDetector(config.model, { seed: 1 });
    await quickTrain(built.model, built.priors, (await scanSplit(`${tmp}/data`, "val")).records, 25);
    await saveModelFolder(`${runDir}/model`, built.model, { model: config.model });
    built.model.dispose();
    const hooks = { buildDetector: tinyDetector };

    const r = await roundTrip(runDir, `${tmp}/data`, tmp, "wasm", hooks);
    assert.ok(r.map! > 0.2 && r.map! < 0.99, `mAP ${r.map}`);
    assert.ok(r.numDetections > 8 * 50, `${r.numDetections} detections`);

    // Drawn copies: one PNG per image, the size of the original, named by the image; a bad file is reported by name
    // and the others are still done (exit 1).
    const names = [...Deno.readDirSync(`${tmp}/data/val`)].map((e) => e.name).filter((n) => n.endsWith(".jpg")).sort();
    await Deno.mkdir(`${tmp}/mixed`);
    for (const n of names.slice(0, 2)) await Deno.copyFile(`${tmp}/data/val/${n}`, `${tmp}/mixed/${n}`);
    await Deno.writeTextFile(`${tmp}/mixed/broken.jpg`, "not an image");
    const io = capture();
    assert.equal(await main([runDir, `${tmp}/mixed`, "--out", `${tmp}/drawn`, "--threshold", "0.3"], io, hooks), 1);
    assert.match(io.err.join("\n"), /broken\.jpg: not an image/);
    assert.match(io.err.at(-1)!, /1 of 3 image\(s\) could not be read/);
    const printed = JSON.parse(io.out[0]);
    assert.deepEqual(printed.map((p: { image: string }) => p.image), names.slice(0, 2).map((n) => `${tmp}/mixed/${n}`));
    assert.ok(printed.some((p: { detections: unknown[] }) => p.detections.length > 0));
    for (const p of printed) {
      assert.ok(p.detections.every((d: { score: number }) => d.score >= 0.3));
      const meta = await sharp(p.drawn).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["png", p.width, p.height]);
      assert.equal(p.drawn, `${tmp}/drawn/${imageIdOf(p.image)}.detections.png`);
    }
    // Two inputs with one file stem cannot share a COCO image id.
    const clash = capture();
    await Deno.mkdir(`${tmp}/other`);
    await Deno.copyFile(`${tmp}/data/val/${names[0]}`, `${tmp}/other/${names[0]}`);
    const clashArgs = [runDir, `${tmp}/data/val/${names[0]}`, `${tmp}/other/${names[0]}`, "--coco", `${tmp}/c.json`];
    assert.equal(await main(clashArgs, clash, hooks), 1);
    assert.match(clash.err[0], /would share the image id/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

const REAL = Deno.env.get("FACEMASK_DATA");
const RUN = new URL("../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;

Deno.test({
  name: "detect round trip on real val images with the trained branches-4 run (FACEMASK_DATA)",
  ignore: !REAL,
  async fn() {
    const tmp = await Deno.makeTempDir();
    try {
      // The first 40 val images (and their XML) in a folder of their own, so both routes see exactly these.
      const names = [...Deno.readDirSync(`${REAL}/val`)].map((e) => e.name).filter((n) => n.endsWith(".xml")).sort();
      await Deno.mkdir(`${tmp}/data/val`, { recursive: true });
      for (const x of names.slice(0, 40)) {
        const stem = x.replace(/\.xml$/, "");
        const image = [...Deno.readDirSync(`${REAL}/val`)].find((e) => e.name.startsWith(`${stem}.`) && e.name !== x);
        await Deno.copyFile(`${REAL}/val/${x}`, `${tmp}/data/val/${x}`);
        await Deno.copyFile(`${REAL}/val/${image!.name}`, `${tmp}/data/val/${image!.name}`);
      }
      // --no-draw: nothing is written into the run folder.
      const r = await roundTrip(RUN, `${tmp}/data`, tmp, "wasm");
      assert.ok(r.map! > 0.5, `a trained model: mAP ${r.map}`);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
