import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { fusedBlocksFor } from "../../model/fused.ts";
import { addonBuilt, loadAddon } from "./addon.ts";
import { FUSED_KERNELS, nativeFusedBlocks } from "./fused_blocks.ts";
import { NATIVE_BACKEND } from "./kernels.ts";
import { loadNative } from "./native.ts";
import { onBackends, relErr } from "./testing.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: fused block tests are skipped (run `deno task build:native`)");

const EPS = 1e-3;
const ZP: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

/** The plain tfjs definition of BN (batch statistics in training, moving ones otherwise) + ReLU. */
function plainBnRelu(z: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, mm: tf.Tensor, mv: tf.Tensor, training: boolean) {
  const { mean, variance } = training ? tf.moments(z, [0, 1, 2]) : { mean: mm, variance: mv };
  return { a: tf.relu(tf.batchNorm(z, mean, variance, b, g, EPS)), mean, variance };
}

/** Plain CB: ZP, 'valid' 3x3 conv, BN, ReLU. */
function plainCB(x: tf.Tensor4D, k: tf.Tensor4D, p: tf.Tensor[], stride: 1 | 2, training: boolean) {
  const z = tf.conv2d(tf.pad(x, ZP), k, stride, "valid");
  const r = plainBnRelu(z, p[0], p[1], p[2], p[3], training);
  return { y: r.a, stats: [r.mean, r.variance] };
}

/** Plain DCB: ZP, 'valid' 3x3 depthwise, BN, ReLU, 1x1 conv, BN, ReLU. */
function plainDCB(x: tf.Tensor4D, dk: tf.Tensor4D, pk: tf.Tensor4D, p: tf.Tensor[], stride: 1 | 2, training: boolean) {
  const z1 = tf.depthwiseConv2d(tf.pad(x, ZP), dk, stride, "valid");
  const r1 = plainBnRelu(z1, p[0], p[1], p[2], p[3], training);
  const z2 = tf.conv2d(r1.a as tf.Tensor4D, pk, 1, "valid");
  const r2 = plainBnRelu(z2, p[4], p[5], p[6], p[7], training);
  return { y: r2.a, stats: [r1.mean, r1.variance, r2.mean, r2.variance] };
}

/** gamma, beta, moving mean, moving variance of `c` channels (variance positive). */
function bnParams(c: number, seed: number): tf.Tensor1D[] {
  return [
    tf.randomUniform([c], 0.5, 1.5, "float32", seed),
    tf.randomNormal([c], 0, 0.5, "float32", seed + 1),
    tf.randomNormal([c], 0, 0.5, "float32", seed + 2),
    tf.randomUniform([c], 0.5, 2, "float32", seed + 3),
  ];
}

function bn(p: tf.Tensor[]) {
  return {
    gamma: p[0] as tf.Tensor1D,
    beta: p[1] as tf.Tensor1D,
    movingMean: p[2] as tf.Tensor1D,
    movingVariance: p[3] as tf.Tensor1D,
  };
}

const fused = nativeFusedBlocks(NATIVE_BACKEND);

/** Output, stats and every gradient of sum(y * r) for CB, fused on native, plain elsewhere. */
function cbAll(x: tf.Tensor4D, k: tf.Tensor4D, p: tf.Tensor1D[], stride: 1 | 2): tf.Tensor[] {
  const native = tf.getBackend() === NATIVE_BACKEND;
  const run = (x: tf.Tensor4D, k: tf.Tensor4D, g: tf.Tensor, b: tf.Tensor, training: boolean) => {
    const q = [g, b, p[2], p[3]];
    return native
      ? fused.convBnRelu(x, k, bn(q), { stride, training, epsilon: EPS })
      : plainCB(x, k, q, stride, training);
  };
  const fwd = run(x, k, p[0], p[1], true);
  const stats = fwd.stats.flatMap((s) => (s instanceof tf.Tensor ? [s] : [s.mean, s.variance]));
  const inf = run(x, k, p[0], p[1], false).y;
  const r = tf.randomUniform(fwd.y.shape, -1, 1, "float32", 11);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
    run(a as tf.Tensor4D, b as tf.Tensor4D, c, d, true).y.mul(r).sum()
  )([x, k, p[0], p[1]]);
  r.dispose();
  return [fwd.y, ...stats, inf, ...grads];
}

function dcbAll(x: tf.Tensor4D, dk: tf.Tensor4D, pk: tf.Tensor4D, p: tf.Tensor1D[], stride: 1 | 2): tf.Tensor[] {
  const native = tf.getBackend() === NATIVE_BACKEND;
  const run = (xs: tf.Tensor[], training: boolean) => {
    const [x, dk, g1, b1, pk, g2, b2] = xs;
    const q = [g1, b1, p[2], p[3], g2, b2, p[6], p[7]];
    return native
      ? fused.depthwiseBlock(x as tf.Tensor4D, {
        dwKernel: dk as tf.Tensor4D,
        bn1: bn(q.slice(0, 4)),
        pwKernel: pk as tf.Tensor4D,
        bn2: bn(q.slice(4)),
      }, { stride, training, epsilon: EPS })
      : plainDCB(x as tf.Tensor4D, dk as tf.Tensor4D, pk as tf.Tensor4D, q, stride, training);
  };
  const inputs = [x, dk, p[0], p[1], pk, p[4], p[5]];
  const fwd = run(inputs, true);
  const stats = fwd.stats.flatMap((s) => (s instanceof tf.Tensor ? [s] : [s.mean, s.variance]));
  const inf = run(inputs, false).y;
  const r = tf.randomUniform(fwd.y.shape, -1, 1, "float32", 12);
  const grads = tf.grads((...xs: tf.Tensor[]) => run(xs, true).y.mul(r).sum())(inputs);
  r.dispose();
  return [fwd.y, ...stats, inf, ...grads];
}

Deno.test({
  name: "fused CB: output, batch stats, inference output and all gradients equal the plain composition",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const names = ["y", "mean", "variance", "y (inference)", "dx", "dkernel", "dgamma", "dbeta"];
    for (const stride of [1, 2] as const) {
      for (const batch of [1, 8]) {
        // 16 -> 32 channels on 15x20 at stride 1 and batch 8: the Winograd convolution in all three passes.
        for (const [h, w, cin, cout] of [[15, 20, 5, 7], [8, 10, 5, 7], [15, 20, 16, 32]]) {
          const x = tf.randomNormal([batch, h, w, cin], 0, 1, "float32", 1) as tf.Tensor4D;
          const k = tf.randomNormal([3, 3, cin, cout], 0, 0.3, "float32", 2) as tf.Tensor4D;
          const p = bnParams(cout, 3);
          const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], () => cbAll(x, k, p, stride));
          assert.equal(got.length, names.length);
          for (let i = 0; i < names.length; i++) {
            const e = relErr(got[i], ref[i]);
            assert.ok(e <= 1e-4, `CB s${stride} b${batch} ${h}x${w} ${cin}->${cout} ${names[i]}: relative error ${e}`);
          }
          if (stride === 2 && h === 15) assert.equal(got[0].length, batch * 8 * 10 * cout);
          tf.dispose([x, k, ...p]);
        }
      }
    }
  },
});

Deno.test({
  name: "fused CB: the input gradient runs only when autograd needs it (never for the image); values still match",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const x = tf.randomNormal([2, 15, 20, 3], 0, 1, "float32", 21) as tf.Tensor4D;
    const k1 = tf.randomNormal([3, 3, 3, 6], 0, 0.3, "float32", 22) as tf.Tensor4D;
    const k2 = tf.randomNormal([3, 3, 6, 5], 0, 0.3, "float32", 23) as tf.Tensor4D;
    const p1 = bnParams(6, 24), p2 = bnParams(5, 28);
    const r = tf.randomUniform([2, 4, 5, 5], -1, 1, "float32", 29);
    // Two chained CBs (stride 2 each: 15x20 -> 8x10 -> 4x5); gradients of the parameters only, as an optimizer asks.
    const loss = (k1: tf.Tensor, g1: tf.Tensor, b1: tf.Tensor, k2: tf.Tensor) => {
      const q1 = [g1, b1, p1[2], p1[3]], q2 = [p2[0], p2[1], p2[2], p2[3]];
      const opts = { stride: 2 as const, training: true, epsilon: EPS };
      if (tf.getBackend() !== NATIVE_BACKEND) {
        const a = plainCB(x, k1 as tf.Tensor4D, q1, 2, true).y as tf.Tensor4D;
        return plainCB(a, k2 as tf.Tensor4D, q2, 2, true).y.mul(r).sum();
      }
      const a = fused.convBnRelu(x, k1 as tf.Tensor4D, bn(q1), opts);
      tf.dispose(a.stats.flatMap((s) => [s.mean, s.variance]));
      const b = fused.convBnRelu(a.y, k2 as tf.Tensor4D, bn(q2), opts);
      tf.dispose(b.stats.flatMap((s) => [s.mean, s.variance]));
      return b.y.mul(r).sum();
    };
    const params = [k1, p1[0], p1[1], k2];
    const gradsOf = () => tf.grads(loss)(params);
    const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], gradsOf);
    const names = ["dk1", "dgamma1", "dbeta1", "dk2"];
    for (let i = 0; i < names.length; i++) {
      const e = relErr(got[i], ref[i]);
      assert.ok(e <= 1e-4, `chained CB ${names[i]}: relative error ${e}`);
    }
    await tf.setBackend(NATIVE_BACKEND);
    const inputGradCalls = async (f: () => tf.Tensor[]) => {
      const info = await tf.profile(() => tf.dispose(f()));
      return info.kernels.filter((k) => k.name === FUSED_KERNELS.cbGradInput).length;
    };
    // Only the second block's input gradient is on the path to k1, gamma1, beta1; the image's is never computed.
    assert.equal(await inputGradCalls(gradsOf), 1);
    // Asking for the image's gradient too computes both.
    assert.equal(
      await inputGradCalls(() => tf.grads((_x: tf.Tensor, k: tf.Tensor) => loss(k, p1[0], p1[1], k2))([x, k1])),
      2,
    );
    gradsOf().forEach((t) => t.dispose());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(gradsOf());
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, k1, k2, r, ...p1, ...p2]);
  },
});

Deno.test({
  name: "fused DCB: output, batch stats of both stages, inference output and all gradients equal the plain one",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const names = [
      "y",
      "mean1",
      "var1",
      "mean2",
      "var2",
      "y (inference)",
      "dx",
      "ddw",
      "dg1",
      "db1",
      "dpw",
      "dg2",
      "db2",
    ];
    for (const stride of [1, 2] as const) {
      for (const batch of [1, 8]) {
        for (const [h, w] of [[15, 20], [8, 10]]) {
          const x = tf.randomNormal([batch, h, w, 6], 0, 1, "float32", 4) as tf.Tensor4D;
          const dk = tf.randomNormal([3, 3, 6, 1], 0, 0.3, "float32", 5) as tf.Tensor4D;
          const pk = tf.randomNormal([1, 1, 6, 9], 0, 0.3, "float32", 6) as tf.Tensor4D;
          const p = [...bnParams(6, 7), ...bnParams(9, 8)];
          const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], () => dcbAll(x, dk, pk, p, stride));
          assert.equal(got.length, names.length);
          for (let i = 0; i < names.length; i++) {
            const e = relErr(got[i], ref[i]);
            assert.ok(e <= 1e-4, `DCB s${stride} b${batch} ${h}x${w} ${names[i]}: relative error ${e}`);
          }
          tf.dispose([x, dk, pk, ...p]);
        }
      }
    }
  },
});

Deno.test({
  name: "fused blocks: registered for the model layers only on the native backend; bad kernels get clear errors",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    assert.equal(fusedBlocksFor(NATIVE_BACKEND)?.backendName, NATIVE_BACKEND);
    assert.equal(fusedBlocksFor("wasm"), null);
    await tf.setBackend(NATIVE_BACKEND);
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const k = tf.zeros([3, 3, 2, 4]) as tf.Tensor4D;
    const p = bnParams(4, 1);
    assert.throws(
      () => fused.convBnRelu(x, k, bn(p), { stride: 1, training: false, epsilon: EPS }),
      /convBnRelu: kernel must be \[3, 3, 3, cout\], got \[3,3,2,4\]/,
    );
    tf.dispose([x, k, ...p]);
  },
});

Deno.test({
  name: "fused blocks: tensors, wasm heap and oneDNN primitive cache stay flat over 200 momentum-SGD steps",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend(NATIVE_BACKEND);
    const v = (t: tf.Tensor) => tf.variable(t);
    const k1 = v(tf.randomNormal([3, 3, 3, 8], 0, 0.3, "float32", 1));
    const p1 = bnParams(8, 2).map(v);
    const dk = v(tf.randomNormal([3, 3, 8, 1], 0, 0.3, "float32", 3));
    const pk = v(tf.randomNormal([1, 1, 8, 16], 0, 0.3, "float32", 4));
    const p2 = [...bnParams(8, 5), ...bnParams(16, 6)].map(v);
    const x = tf.randomNormal([4, 15, 20, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    const opt = tf.train.momentum(1e-3, 0.9);
    const step = () =>
      tf.tidy(() => {
        opt.minimize(() => {
          const a = fused.convBnRelu(x, k1 as tf.Variable<tf.Rank.R4>, bn(p1), {
            stride: 2,
            training: true,
            epsilon: EPS,
          });
          const b = fused.depthwiseBlock(a.y, {
            dwKernel: dk as tf.Variable<tf.Rank.R4>,
            bn1: bn(p2.slice(0, 4)),
            pwKernel: pk as tf.Variable<tf.Rank.R4>,
            bn2: bn(p2.slice(4)),
          }, { stride: 2, training: true, epsilon: EPS });
          return b.y.square().mean() as tf.Scalar;
        });
      });
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
    for (let i = 0; i < 20; i++) step();
    const tensors = tf.memory().numTensors, bytes = tf.memory().numBytes, heapBytes = heap();
    const prims = loadAddon().cacheSize();
    for (let i = 20; i < 200; i++) step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.memory().numBytes, bytes);
    assert.equal(heap(), heapBytes);
    assert.equal(loadAddon().cacheSize(), prims);
    tf.dispose([k1, dk, pk, ...p1, ...p2, x]);
    opt.dispose();
  },
});

Deno.test({
  name: "native dilated conv: DilatedConv2D output and gradients equal its plain zero-filled-kernel form, no leaks",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend("cpu");
    const { DilatedConv2D } = await import("../../model/blocks.ts");
    for (const dilation of [2, 3, 5]) {
      for (const [batch, h, w] of [[1, 15, 20], [3, 8, 10]]) {
        const layer = new DilatedConv2D({ filters: 6, dilation, useBias: true, seed: dilation });
        const x = tf.randomNormal([batch, h, w, 5], 0, 1, "float32", 11) as tf.Tensor4D;
        tf.dispose(layer.apply(x) as tf.Tensor);
        layer.setWeights([layer.getWeights()[0], tf.randomNormal([6], 0, 1, "float32", 12)]);
        const r = tf.randomUniform([batch, h, w, 6], -1, 1, "float32", 13);
        const [k, b] = layer.trainableWeights.map((v) => v.read() as tf.Variable);
        const loss = (xx: tf.Tensor) => (layer.apply(xx) as tf.Tensor).mul(r).sum() as tf.Scalar;
        const run = () => {
          const { value, grads } = tf.variableGrads(() => loss(x), [k, b]);
          value.dispose();
          return [layer.apply(x) as tf.Tensor, tf.grad(loss)(x), grads[k.name], grads[b.name]];
        };
        const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], run);
        for (const [i, name] of ["y", "dx", "dkernel", "dbias"].entries()) {
          const e = relErr(got[i], ref[i]);
          assert.ok(e <= 1e-4, `dilation ${dilation} b${batch} ${h}x${w} ${name}: relative error ${e}`);
        }
        // The native run went through oneDNN's dilated convolution, not the zero-filled kernel.
        const profile = await tf.profile(() => tf.dispose(run()));
        assert.ok(profile.kernelNames.includes(FUSED_KERNELS.dilated), profile.kernelNames.join(","));
        assert.ok(profile.kernelNames.includes(FUSED_KERNELS.dilatedGradFilter), profile.kernelNames.join(","));
        const before = tf.memory().numTensors;
        tf.dispose(run());
        assert.equal(tf.memory().numTensors, before, "tensors left behind by a native dilated step");
        tf.dispose([x, r]);
        layer.dispose();
      }
    }
  },
});
