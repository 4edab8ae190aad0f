import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend/mod.ts";
import { buildDetector, TRUNKS } from "./detector.ts";
import { summarizeModel } from "./summary.ts";
import { multiboxLoss } from "../loss/mod.ts";
import { matchBatch } from "../detect/mod.ts";

// wasm with the project's training kernels (lib/backend); falls back to whatever setupBackend picks.
await setupBackend({ backend: "wasm", log: () => {} });

Deno.test("detector: every trunk x branch count has outputs and priors of the same length (240x320)", () => {
  // priors per map at 240x320: 30*40*3 = 3600, 15*20*2 = 600, 8*10*2 = 160, 4*5*3 = 60
  const expected = [3600, 4200, 4360, 4420];
  for (const trunk of TRUNKS) {
    for (const k of [1, 2, 3, 4] as const) {
      const d = buildDetector({ trunk, branches: k });
      const P = d.priors.length / 4;
      assert.equal(P, expected[k - 1], `${trunk} ${k}`);
      assert.deepEqual(d.model.outputs.map((o) => o.shape), [[null, P, 3], [null, P, 4]], `${trunk} ${k}`);
      assert.deepEqual(d.model.inputs[0].shape, [null, 240, 320, 3]);
      assert.equal(d.priorConfig.steps.length, k);
      assert.deepEqual([d.trunk, d.branches], [trunk, k]);
      d.model.dispose();
    }
  }
});

Deno.test("detector: a real forward pass at an input size that is not a multiple of 64 matches the priors", () => {
  // 72x100: maps ceil(72/s) x ceil(100/s) = 9x13, 5x7, 3x4, 2x2 -> 351 + 70 + 24 + 12 = 457 priors
  const expected = [351, 421, 445, 457];
  for (const trunk of TRUNKS) {
    for (const k of [1, 4] as const) {
      const d = buildDetector({ trunk, branches: k, inputSize: [72, 100] });
      const [logits, offsets] = tf.tidy(() => d.model.predict(tf.zeros([2, 72, 100, 3])) as tf.Tensor[]);
      assert.deepEqual(logits.shape, [2, expected[k - 1], 3], `${trunk} ${k}`);
      assert.deepEqual(offsets.shape, [2, expected[k - 1], 4], `${trunk} ${k}`);
      assert.equal(d.priors.length / 4, expected[k - 1]);
      tf.dispose([logits, offsets]);
      d.model.dispose();
    }
  }
});

Deno.test("detector: SSDv2 4 branches has 1,043,286 parameters and 538,038,080 MACs at 240x320", () => {
  const d = buildDetector({ trunk: "ssdv2", branches: 4 });
  const s = summarizeModel(d.model);
  // Hand count, c = 16. A 3x3 conv cin->cout has 9*cin*cout weights; BN adds 4 per channel (gamma, beta, moving
  // mean, moving variance); the BB and head convs have a bias. MACs = output cells * taps * cin * cout.
  const cb = (cin: number, cout: number) => 9 * cin * cout + 4 * cout;
  const dcb = (cin: number, cout: number) => 9 * cin + 4 * cin + cin * cout + 4 * cout;
  const conv = (cin: number, cout: number) => 9 * cin * cout + cout;
  const bb = (cin: number) => conv(cin, 16) + conv(16, 16) + conv(cin, 32);
  const head = (a: number) => conv(48, a * 3) + conv(48, a * 4);
  const trunk1 = cb(3, 16) + cb(16, 32) + cb(32, 32) + cb(32, 32) + cb(32, 64) + 3 * cb(64, 64); // 153,968
  const trunk2 = cb(64, 128) + 2 * cb(128, 128); // 370,176
  const trunk3 = dcb(128, 256) + dcb(256, 256); // 105,344
  const trunk4 = dcb(256, 256); // 69,888
  const branches = bb(64) + bb(128) + bb(256) + bb(256) + head(3) + head(2) + head(2) + head(3); // 313,600 + 30,310
  assert.equal(trunk1, 153968);
  assert.equal(trunk1 + trunk2 + trunk3 + trunk4, 699376);
  assert.equal(trunk1 + trunk2 + trunk3 + trunk4 + branches, 1043286);
  assert.equal(s.totalParams, 1043286);
  assert.equal(d.model.countParams(), 1043286); // tfjs' own count agrees
  // MACs per map: 120x160 (first CB), 60x80, 30x40 = 1200 cells, 15x20 = 300, 8x10 = 80, 4x5 = 20
  const m = (cells: number, cin: number, cout: number) => cells * 9 * cin * cout;
  const dm = (cells: number, cin: number, cout: number) => cells * (9 * cin + cin * cout);
  const t1 = m(19200, 3, 16) + m(19200, 16, 32) + m(4800, 32, 32) * 2 + m(1200, 32, 64) + 3 * m(1200, 64, 64);
  const t2 = m(300, 64, 128) + 2 * m(300, 128, 128);
  const t34 = dm(80, 128, 256) + dm(80, 256, 256) + dm(20, 256, 256);
  const bbm = (cells: number, cin: number) => m(cells, cin, 16) + m(cells, 16, 16) + m(cells, cin, 32);
  const hm = (cells: number, a: number) => m(cells, 48, 7 * a);
  const br = bbm(1200, 64) + bbm(300, 128) + bbm(80, 256) + bbm(20, 256) + hm(1200, 3) + hm(300, 2) + hm(80, 2) +
    hm(20, 3);
  assert.equal(t1, 340070400);
  assert.equal(t1 + t2 + t34 + br, 538038080);
  assert.equal(s.totalMacs, 538038080);
  // per-layer entries: the first CB is 120x160x16 with 496 parameters and 120*160*27*16 MACs
  const first = s.layers.find((l) => l.type === "ConvBlock")!;
  assert.deepEqual([first.outputShape, first.params, first.macs], [[null, 120, 160, 16], 496, 8294400]);
  assert.ok(summarizeModel(d.model, { skipEmpty: true }).layers.every((l) => l.params > 0 || l.macs > 0));
  d.model.dispose();
});

Deno.test("detector: branches keep only the trunk stages they need", () => {
  const one = buildDetector({ trunk: "ssdv2", branches: 1 });
  const types = one.model.layers.map((l) => l.getClassName());
  assert.equal(types.filter((t) => t === "ConvBlock").length, 8); // trunk 1 only
  assert.equal(types.filter((t) => t === "DepthwiseConvBlock").length, 0);
  const three = buildDetector({ trunk: "ssdv2", branches: 3 });
  assert.equal(three.model.layers.filter((l) => l.getClassName() === "DepthwiseConvBlock").length, 2);
  one.model.dispose();
  three.model.dispose();
});

Deno.test("detector: seeds make weights reproducible; bad options are refused", () => {
  const a = buildDetector({ trunk: "slim", branches: 1, seed: 7 });
  const b = buildDetector({ trunk: "slim", branches: 1, seed: 7 });
  const c = buildDetector({ trunk: "slim", branches: 1, seed: 8 });
  const w = (d: typeof a) => d.model.getWeights()[0].dataSync();
  assert.deepEqual(w(a), w(b));
  assert.notDeepEqual(w(a), w(c));
  for (const d of [a, b, c]) d.model.dispose();
  assert.throws(() => buildDetector({ trunk: "vgg" as "ssdv2", branches: 4 }), /unknown trunk "vgg"/);
  assert.throws(() => buildDetector({ trunk: "ssdv2", branches: 5 as 4 }), /branches must be/);
});

Deno.test("detector: saves and loads in the TF.js format with identical outputs", async () => {
  const d = buildDetector({ trunk: "rfb", branches: 4, inputSize: [64, 64] });
  let saved: tf.io.ModelArtifacts | undefined;
  await d.model.save(tf.io.withSaveHandler((art) => {
    saved = art;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  const x = tf.randomUniform([1, 64, 64, 3], -0.5, 0.5, "float32", 4);
  const ya = d.model.predict(x) as tf.Tensor[];
  const yb = loaded.predict(x) as tf.Tensor[];
  for (let i = 0; i < 2; i++) {
    const diff = tf.max(tf.abs(tf.sub(ya[i], yb[i]))).dataSync()[0];
    assert.ok(diff < 1e-5, `output ${i} differs by ${diff}`);
  }
  tf.dispose([x, ...ya, ...yb]);
  d.model.dispose();
  loaded.dispose();
});

Deno.test("detector: 20 forward + loss + gradient steps of SSDv2 do not grow the tensor count", () => {
  // Small input keeps this quick on two cores; the graph is the full 4-branch SSDv2.
  const d = buildDetector({ trunk: "ssdv2", branches: 4, inputSize: [64, 96] });
  const x = tf.randomUniform([2, 64, 96, 3], -0.5, 0.5, "float32", 1);
  const m = matchBatch([[[0.1, 0.1, 0.4, 0.5]], [[0.5, 0.2, 0.9, 0.9], [0.05, 0.6, 0.2, 0.8]]], [[1], [2, 1]], {
    priors: d.priors,
  });
  const P = d.priors.length / 4;
  const labels = tf.tensor2d(m.labels, [2, P], "int32");
  const offsets = tf.tensor3d(m.offsets, [2, P, 4]);
  const opt = tf.train.momentum(1e-3, 0.9);
  const step = () => {
    const cost = opt.minimize(() => {
      const [lg, of] = d.model.apply(x, { training: true }) as tf.Tensor3D[];
      return multiboxLoss({ logits: lg, offsets: of }, { labels, offsets }).total;
    }, true);
    const v = cost!.dataSync()[0];
    cost!.dispose();
    return v;
  };
  const first = step(); // creates the optimizer slots
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 19; i++) last = step();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(last) && last < first, `loss ${first} -> ${last}`);
  tf.dispose([x, labels, offsets]);
  opt.dispose();
  d.model.dispose();
});
