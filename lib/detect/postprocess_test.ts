import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { decodeDetections, softmaxRows, toPixelDetections } from "./postprocess.ts";
import { generatePriors, SSDV2_PRIORS } from "./priors.ts";
import { Rng } from "../util/rng.ts";

// p0..p3 tile the unit square in quarters; p4 = corners [0.05, 0, 0.55, 0.5] overlaps p0 by 0.225 / 0.275 = 0.818.
const PRIORS = new Float32Array([
  ...[0.25, 0.25, 0.5, 0.5],
  ...[0.75, 0.25, 0.5, 0.5],
  ...[0.25, 0.75, 0.5, 0.5],
  ...[0.75, 0.75, 0.5, 0.5],
  ...[0.3, 0.25, 0.5, 0.5],
]);
// Probabilities per prior (background, face_mask, face); logits = ln(prob) so the softmax gives them back exactly.
const PROBS = [
  [0.1, 0.8, 0.1],
  [0.98, 0.01, 0.01],
  [0.5, 0.3, 0.2],
  [0.97, 0.015, 0.015],
  [0.1, 0.6, 0.3],
];
const LOGITS = new Float32Array(PROBS.flat().map(Math.log));

function near(actual: number, expected: number, tol = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
}

function summary(dets: { box: number[]; label: number; score: number }[]) {
  return dets.map((d) => `${d.label}:${d.score.toFixed(3)}:${d.box.map((v) => v.toFixed(3)).join(",")}`).sort();
}

// Worked out by hand: class 1 candidates above 0.02 are p0 0.8, p4 0.6, p2 0.3; p4 overlaps p0 by 0.818 > 0.4 and is
// dropped; p2 does not touch p0. Class 2: p4 0.3, p2 0.2, p0 0.1; p2 only touches p4 along an edge (IoU 0) and is
// kept, p0 overlaps p4 by 0.818 and is dropped. p1 and p3 have no class above 0.02.
const EXPECTED = summary([
  { label: 1, score: 0.8, box: [0, 0, 0.5, 0.5] },
  { label: 1, score: 0.3, box: [0, 0.5, 0.5, 1] },
  { label: 2, score: 0.3, box: [0.05, 0, 0.55, 0.5] },
  { label: 2, score: 0.2, box: [0, 0.5, 0.5, 1] },
]);

Deno.test("postprocess: softmax, threshold and per-class NMS on a hand-made case (arrays)", () => {
  const dets = decodeDetections({ logits: LOGITS, offsets: new Float32Array(20) }, { priors: PRIORS });
  assert.equal(dets.length, 1);
  assert.deepEqual(summary(dets[0]), EXPECTED);
  for (let i = 1; i < dets[0].length; i++) assert.ok(dets[0][i - 1].score >= dets[0][i].score);
  const top2 = decodeDetections({ logits: LOGITS, offsets: new Float32Array(20) }, { priors: PRIORS, topK: 2 })[0];
  assert.deepEqual(top2.map((d) => d.score.toFixed(3)), ["0.800", "0.300"]);
  // a looser NMS (0.9) keeps p4 for class 1 and p0 for class 2
  const loose = decodeDetections({ logits: LOGITS, offsets: new Float32Array(20) }, { priors: PRIORS, nmsIou: 0.9 });
  assert.equal(loose[0].length, 6);
  // threshold 0.25 leaves class 1: p0, p2 (p4 suppressed) and class 2: p4
  const strict = decodeDetections({ logits: LOGITS, offsets: new Float32Array(20) }, {
    priors: PRIORS,
    scoreThreshold: 0.25,
  });
  assert.equal(strict[0].length, 3);
});

Deno.test("postprocess: tensors in give the same detections, batched, without leaking tensors", () => {
  const logits = tf.tensor3d([...LOGITS, ...LOGITS], [2, 5, 3]);
  const offsets = tf.zeros([2, 5, 4]) as tf.Tensor3D;
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    const dets = decodeDetections({ logits, offsets }, { priors: PRIORS });
    assert.equal(dets.length, 2);
    assert.deepEqual(summary(dets[1]), EXPECTED);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([logits, offsets]);
});

Deno.test("postprocess: offsets are decoded and boxes clipped to the image", () => {
  // p0 with tx = -5: cx = 0.25 - 5 * 0.1 * 0.5 = 0; tw = ln(2) / 0.2: w = 1 -> [-0.5, 0, 0.5, 0.5] -> [0, 0, 0.5, 0.5].
  // logits [0, 5, 0]: class 1 has e^5 / (e^5 + 2) = 0.98674, class 2 has 1 / (e^5 + 2) = 0.00663 < 0.02.
  const dets = decodeDetections(
    { logits: new Float32Array([0, 5, 0]), offsets: new Float32Array([-5, 0, Math.log(2) / 0.2, 0]) },
    { priors: PRIORS.subarray(0, 4) },
  )[0];
  assert.equal(dets.length, 1);
  assert.equal(dets[0].label, 1);
  near(dets[0].score, Math.exp(5) / (Math.exp(5) + 2));
  [0, 0, 0.5, 0.5].forEach((v, i) => near(dets[0].box[i], v));
});

Deno.test("postprocess: pixel form, softmax rows and bad input", () => {
  const px = toPixelDetections([{ box: [0.1, 0.2, 0.5, 1], label: 2, score: 0.9 }], { width: 320, height: 240 });
  assert.deepEqual(px, [{ box: [32, 48, 160, 240], label: 2, score: 0.9 }]);
  assert.throws(() => toPixelDetections([], { width: 0, height: 240 }), /positive/);
  const sm = softmaxRows(new Float32Array([0, Math.log(3), 1000, 1000]), 2);
  [0.25, 0.75, 0.5, 0.5].forEach((v, i) => near(sm[i], v));
  assert.throws(
    () => decodeDetections({ logits: LOGITS, offsets: new Float32Array(19) }, { priors: PRIORS }),
    /multiple of P \* 4/,
  );
});

Deno.test("postprocess: a batch of 32 images on the SSDv2 priors decodes in well under a forward pass", () => {
  const priors = generatePriors(SSDV2_PRIORS);
  const P = priors.length / 4;
  const rng = new Rng(1);
  const logits = new Float32Array(32 * P * 3).map(() => rng.uniform(-3, 3));
  const offsets = new Float32Array(32 * P * 4).map(() => rng.uniform(-1, 1));
  const t0 = performance.now();
  const dets = decodeDetections({ logits, offsets }, { priors });
  const ms = performance.now() - t0;
  assert.equal(dets.length, 32);
  for (const d of dets) {
    assert.ok(d.length <= 200);
    for (const x of d) assert.ok(x.box.every((v) => v >= 0 && v <= 1) && x.score > 0.02 && x.label >= 1);
  }
  // stopping each class's NMS at topK survivors changes nothing: the top 20 equal the first 20 of an unbounded run
  const few = decodeDetections({ logits: logits.subarray(0, 2 * P * 3), offsets: offsets.subarray(0, 2 * P * 4) }, {
    priors,
    topK: 20,
  });
  const all = decodeDetections({ logits: logits.subarray(0, 2 * P * 3), offsets: offsets.subarray(0, 2 * P * 4) }, {
    priors,
    topK: 1e9,
  });
  for (let b = 0; b < 2; b++) {
    assert.ok(all[b].length > 200);
    assert.deepEqual(few[b], all[b].slice(0, 20));
  }
  // random logits are the worst case (most priors pass 0.02); a forward pass of 32 images takes seconds
  assert.ok(ms < 2000, `decoding 32 images took ${ms.toFixed(0)} ms`);
  console.log(`decodeDetections: 32 random images in ${ms.toFixed(0)} ms`);
});
