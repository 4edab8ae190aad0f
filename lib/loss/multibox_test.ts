import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { mineHardNegatives, multiboxLoss, selectHardest } from "./multibox.ts";

function near(actual: number, expected: number, tol = 1e-5): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
}

// Image 0: prior 0 is a face_mask (logits 0,0,0 -> CE ln 3); negatives with class probabilities
// p1 (0.5, 0.25, 0.25) -> background loss ln 2, p2 (0.25, 0.5, 0.25) -> ln 4, p3 (0.8, 0.1, 0.1) -> ln 1.25.
// Image 1 has no positive, so it contributes nothing. Offsets: positive prior 0 predicts (0.5, -2, 0, 0) against
// target 0 -> Smooth L1 0.5 * 0.25 + (2 - 0.5) = 1.625. Offsets of other priors are wrong on purpose (ignored).
function makeCase() {
  const probs = [[1 / 3, 1 / 3, 1 / 3], [0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.8, 0.1, 0.1]];
  const logits = tf.tensor3d([...probs.flat(), ...probs.flat()].map(Math.log), [2, 4, 3]);
  const offsets = tf.tensor3d([0.5, -2, 0, 0, ...new Array(28).fill(3)], [2, 4, 4]);
  const labels = tf.tensor2d([1, 0, 0, 0, 0, 0, 0, 0], [2, 4], "int32");
  const tOffsets = tf.zeros([2, 4, 4]) as tf.Tensor3D;
  return { pred: { logits, offsets }, target: { labels, offsets: tOffsets } };
}

function values(l: { total: tf.Scalar; cls: tf.Scalar; loc: tf.Scalar }) {
  const out = { total: l.total.dataSync()[0], cls: l.cls.dataSync()[0], loc: l.loc.dataSync()[0] };
  tf.dispose([l.total, l.cls, l.loc]);
  return out;
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`multibox loss (${backend}): value on a hand-worked case, hard negatives 1:1, 2:1, 3:1`, async () => {
    await tf.setBackend(backend);
    const { pred, target } = makeCase();
    // 1:1 keeps the hardest negative p2 (ln 4); 2:1 adds p1 (ln 2); 3:1 takes all three. N = 1.
    const r1 = values(multiboxLoss(pred, target, { negPosRatio: 1 }));
    near(r1.cls, Math.log(3) + Math.log(4));
    near(r1.loc, 1.625);
    near(r1.total, Math.log(3) + Math.log(4) + 1.625);
    near(values(multiboxLoss(pred, target, { negPosRatio: 2 })).cls, Math.log(3) + Math.log(4) + Math.log(2));
    near(values(multiboxLoss(pred, target)).cls, Math.log(3) + Math.log(4) + Math.log(2) + Math.log(1.25));
    tf.dispose([pred.logits, pred.offsets, target.labels, target.offsets]);
  });

  Deno.test(`multibox loss (${backend}): gradient is finite, non-zero and matches softmax - onehot`, async () => {
    await tf.setBackend(backend);
    const { pred, target } = makeCase();
    const g = tf.grads((lg: tf.Tensor, of: tf.Tensor) =>
      multiboxLoss({ logits: lg as tf.Tensor3D, offsets: of as tf.Tensor3D }, target, { negPosRatio: 1 }).total
    )([pred.logits, pred.offsets]);
    const gl = g[0].arraySync() as number[][][];
    const go = g[1].arraySync() as number[][][];
    // d CE / d logits = softmax - onehot, over N = 1: prior 0 (label 1): (1/3, -2/3, 1/3); p2 (label 0):
    // (0.25 - 1, 0.5, 0.25); p1, p3 and image 1 are not selected -> 0.
    [1 / 3, -2 / 3, 1 / 3].forEach((v, i) => near(gl[0][0][i], v));
    [-0.75, 0.5, 0.25].forEach((v, i) => near(gl[0][2][i], v));
    [0, 0, 0].forEach((v, i) => near(gl[0][1][i], v));
    // d SmoothL1 / d offset: d for |d| < 1, sign(d) beyond: (0.5, -1, 0, 0); nothing on negatives
    [0.5, -1, 0, 0].forEach((v, i) => near(go[0][0][i], v));
    assert.ok(go[1].flat().every((v) => v === 0));
    assert.ok([...gl.flat(2), ...go.flat(2)].every(Number.isFinite));
    tf.dispose([...g, pred.logits, pred.offsets, target.labels, target.offsets]);
  });

  Deno.test(`multibox loss (${backend}): no positives gives 0, not NaN, and a finite gradient`, async () => {
    await tf.setBackend(backend);
    const logits = tf.randomNormal([2, 6, 3], 0, 1, "float32", 1) as tf.Tensor3D;
    const offsets = tf.randomNormal([2, 6, 4], 0, 1, "float32", 2) as tf.Tensor3D;
    const target = { labels: tf.zeros([2, 6], "int32") as tf.Tensor2D, offsets: tf.zeros([2, 6, 4]) as tf.Tensor3D };
    const r = values(multiboxLoss({ logits, offsets }, target));
    assert.deepEqual(r, { total: 0, cls: 0, loc: 0 });
    const g = tf.grad((lg: tf.Tensor) => multiboxLoss({ logits: lg as tf.Tensor3D, offsets }, target).total)(logits);
    assert.ok(Array.from(g.dataSync()).every((v) => v === 0));
    tf.dispose([g, logits, offsets, target.labels, target.offsets]);
  });

  Deno.test(`multibox loss (${backend}): repeated calls do not leak tensors`, async () => {
    await tf.setBackend(backend);
    const { pred, target } = makeCase();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      tf.tidy(() => {
        tf.grads((lg: tf.Tensor, of: tf.Tensor) =>
          multiboxLoss({ logits: lg as tf.Tensor3D, offsets: of as tf.Tensor3D }, target).total
        )([pred.logits, pred.offsets]);
      });
      values(multiboxLoss(pred, target));
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([pred.logits, pred.offsets, target.labels, target.offsets]);
  });
}

Deno.test("multibox loss: hard negative mining keeps ratio x positives per image, ties by index", () => {
  // image 0: one positive (prior 0); negatives' losses 0.5, 0.5, 0.1 -> ratio 1 keeps prior 1 (tie with 2)
  // image 1: two positives -> ratio 1 keeps both remaining negatives (only 2 exist)
  const { mask, numPositives } = mineHardNegatives([9, 0.5, 0.5, 0.1, 0, 0, 0.3, 0.2], [1, 0, 0, 0, 2, 1, 0, 0], {
    numPriors: 4,
    negPosRatio: 1,
  });
  assert.deepEqual(Array.from(mask), [1, 1, 0, 0, 1, 1, 1, 1]);
  assert.equal(numPositives, 3);
});

/** The ranking as a full sort by (loss descending, index ascending): what the selection must agree with. */
function sortedMask(bgLoss: ArrayLike<number>, labels: ArrayLike<number>, P: number, ratio: number): Float32Array {
  const mask = new Float32Array(labels.length);
  for (let b = 0; b < labels.length / P; b++) {
    const negs: number[] = [];
    let npos = 0;
    for (let p = b * P; p < (b + 1) * P; p++) {
      if (labels[p] > 0) {
        mask[p] = 1;
        npos++;
      } else negs.push(p);
    }
    negs.sort((i, j) => bgLoss[j] - bgLoss[i] || i - j);
    for (const p of negs.slice(0, Math.min(Math.floor(ratio * npos), negs.length))) mask[p] = 1;
  }
  return mask;
}

Deno.test("multibox loss: the selection keeps the same negatives as a full sort (random, tied, sorted, infinite)", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const kinds = ["random", "few values", "all equal", "ascending", "descending", "with infinities"];
  for (const kind of kinds) {
    for (const P of [1, 2, 3, 17, 300]) {
      for (const ratio of [1, 3, 1000]) {
        const B = 3;
        const labels = Array.from({ length: B * P }, () => (rand() < 0.05 ? 1 + Math.floor(rand() * 2) : 0));
        labels[0] = 1; // at least one positive, so negatives are mined
        const loss = Array.from({ length: B * P }, (_, i) => {
          if (kind === "few values") return Math.floor(rand() * 3) * 0.5;
          if (kind === "all equal") return 0.25;
          if (kind === "ascending") return i;
          if (kind === "descending") return -i;
          if (kind === "with infinities") return rand() < 0.2 ? Infinity : rand() < 0.1 ? -0 : rand();
          return rand();
        });
        const got = mineHardNegatives(Float32Array.from(loss), labels, { numPriors: P, negPosRatio: ratio });
        assert.deepEqual(
          Array.from(got.mask),
          Array.from(sortedMask(loss, labels, P, ratio)),
          `${kind} P=${P} r=${ratio}`,
        );
      }
    }
  }
});

Deno.test("multibox loss: the selection's fallback sort (after maxRounds partitions) keeps the same set", () => {
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const maxRounds of [0, 1, 2]) {
    for (const n of [5, 64, 257]) {
      const key = Array.from({ length: n }, () => Math.floor(rand() * 7));
      const byRank = Array.from({ length: n }, (_, i) => i).sort((i, j) => key[j] - key[i] || i - j);
      for (const k of [1, Math.floor(n / 3), n - 1]) {
        const idx = Int32Array.from({ length: n }, (_, i) => i);
        selectHardest(idx, n, k, key, maxRounds);
        const got = Array.from(idx.subarray(0, k)).sort((a, b) => a - b);
        assert.deepEqual(got, byRank.slice(0, k).sort((a, b) => a - b), `maxRounds ${maxRounds} n ${n} k ${k}`);
      }
    }
  }
});

Deno.test("multibox loss: the selection ends on NaN losses and keeps the right count", () => {
  const P = 50;
  const labels = new Array(P).fill(0);
  labels[3] = 1;
  labels[9] = 2;
  const loss = Array.from({ length: P }, (_, i) => (i % 3 === 0 ? NaN : i / P));
  const { mask, numPositives } = mineHardNegatives(loss, labels, { numPriors: P });
  assert.equal(numPositives, 2);
  assert.equal(mask.reduce((a, v) => a + v, 0), 2 + 6);
});

Deno.test("multibox loss: bad shapes and labels are refused", () => {
  tf.tidy(() => {
    const pred = { logits: tf.zeros([1, 4, 3]) as tf.Tensor3D, offsets: tf.zeros([1, 4, 4]) as tf.Tensor3D };
    const offsets = tf.zeros([1, 4, 4]) as tf.Tensor3D;
    assert.throws(() => multiboxLoss(pred, { labels: tf.zeros([1, 4]) as tf.Tensor2D, offsets }), /int32/);
    assert.throws(
      () => multiboxLoss(pred, { labels: tf.tensor2d([[0, 3, 0, 0]], [1, 4], "int32"), offsets }),
      /outside 0\.\.2/,
    );
    assert.throws(
      () => multiboxLoss(pred, { labels: tf.zeros([1, 4], "int32") as tf.Tensor2D, offsets: tf.zeros([1, 3, 4]) }),
      /\[1, 4, 4\]/,
    );
  });
});
