import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { Rng } from "../util/rng.ts";
import {
  type ConvInputGradStrategy,
  ORIGINAL_WASM_KERNELS,
  registerWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
  wasmConvInputGrad,
  wasmKernelLimits,
} from "./wasm_kernels.ts";

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

registerWasmTrainingKernels();

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1);
  return a;
}

/** Runs one kernel on the named backend from plain arrays and returns its output values and shape. */
async function runOn(
  backend: "cpu" | "wasm",
  kernel: string,
  inputs: Record<string, { data: Float32Array; shape: number[] }>,
  attrs: Record<string, unknown>,
): Promise<{ data: Float32Array; shape: number[] }> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor(v.data, v.shape);
  const out = tf.engine().runKernel(kernel, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { data: (await out.data()) as Float32Array, shape: out.shape };
  out.dispose();
  Object.values(tensors).forEach((t) => t.dispose());
  return result;
}

/** Max |a - b| relative to max |b| (the reference). */
function relError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

function outSize(size: number, k: number, stride: number, pad: Pad, lo: number, hi: number): number {
  if (pad === "same") return Math.ceil(size / stride);
  if (pad === "valid") return Math.ceil((size - k + 1) / stride);
  return Math.floor((size + lo + hi - k) / stride) + 1;
}

function padsOf(pad: Pad): [number, number, number, number] {
  if (typeof pad === "number") return [pad, pad, pad, pad];
  if (Array.isArray(pad)) return [pad[1][0], pad[1][1], pad[2][0], pad[2][1]];
  return [0, 0, 0, 0];
}

const PADS: Pad[] = ["same", "valid", 1, [[0, 0], [1, 1], [1, 1], [0, 0]], [[0, 0], [0, 2], [1, 0], [0, 0]]];

interface Case {
  batch: number;
  h: number;
  w: number;
  k: number;
  stride: number;
  pad: Pad;
}

function grid(): Case[] {
  const cases: Case[] = [];
  for (const k of [1, 3]) {
    for (const stride of [1, 2]) {
      for (const pad of PADS) {
        for (const batch of [1, 8]) {
          // odd sizes at stride 2 (15x20, 7x9) exercise tfjs 'same' padding (0,1) vs (1,1)
          const [h, w] = batch === 1 ? [15, 20] : [7, 9];
          cases.push({ batch, h, w, k, stride, pad });
        }
      }
    }
  }
  return cases;
}

function label(c: Case, extra = ""): string {
  return `k${c.k} s${c.stride} pad=${JSON.stringify(c.pad)} b${c.batch} ${c.h}x${c.w}${extra}`;
}

Deno.test("registerWasmTrainingKernels: the three kernels exist on wasm and a second call adds nothing", () => {
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, "wasm"), `${name} registered`);
  assert.deepEqual(registerWasmTrainingKernels(), []);
});

Deno.test("Conv2DBackpropFilter by hand: 1x1 filter gradient is sum of x*dy", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor4d([1, 2], [1, 1, 2, 1]);
  const dy = tf.tensor4d([3, 4, -1, 2], [1, 1, 2, 2]);
  const dw = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
    strides: [1, 1],
    pad: "valid",
    dataFormat: "NHWC",
    filterShape: [1, 1, 1, 2],
  }) as tf.Tensor;
  // dW[0] = 1*3 + 2*(-1) = 1 ; dW[1] = 1*4 + 2*2 = 8
  assert.deepEqual(Array.from(await dw.data()), [1, 8]);
  assert.deepEqual(dw.shape, [1, 1, 1, 2]);
  tf.dispose([x, dy, dw]);
});

Deno.test("Depthwise backprop kernels by hand: 1x2 filter on a 1x3 image, 'valid'", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor4d([1, 2, 3], [1, 1, 3, 1]);
  const dy = tf.tensor4d([1, 10], [1, 1, 2, 1]);
  const w = tf.tensor4d([5, 7], [1, 2, 1, 1]);
  const attrs = { strides: [1, 1], pad: "valid", dilations: [1, 1] };
  const dw = tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy }, {
    ...attrs,
    filterShape: [1, 2, 1, 1],
  }) as tf.Tensor;
  // dW[0] = x0*dy0 + x1*dy1 = 1 + 20 = 21 ; dW[1] = x1*dy0 + x2*dy1 = 2 + 30 = 32
  assert.deepEqual(Array.from(await dw.data()), [21, 32]);
  const dx = tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy, filter: w }, {
    ...attrs,
    inputShape: [1, 1, 3, 1],
  }) as tf.Tensor;
  // dx0 = w0*dy0 = 5 ; dx1 = w1*dy0 + w0*dy1 = 7 + 50 = 57 ; dx2 = w1*dy1 = 70
  assert.deepEqual(Array.from(await dx.data()), [5, 57, 70]);
  tf.dispose([x, dy, w, dw, dx]);
});

Deno.test("Conv2DBackpropFilter equals the cpu backend over the shape grid (rel. error <= 1e-4)", async () => {
  const rng = new Rng(1);
  for (const c of grid()) {
    const [ci, co] = [3, 5];
    const [t, b, l, r] = padsOf(c.pad);
    const oh = outSize(c.h, c.k, c.stride, c.pad, t, b);
    const ow = outSize(c.w, c.k, c.stride, c.pad, l, r);
    const inputs = {
      x: { data: randomArray(rng, c.batch * c.h * c.w * ci), shape: [c.batch, c.h, c.w, ci] },
      dy: { data: randomArray(rng, c.batch * oh * ow * co), shape: [c.batch, oh, ow, co] },
    };
    const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: "NHWC", filterShape: [c.k, c.k, ci, co] };
    const ref = await runOn("cpu", "Conv2DBackpropFilter", inputs, attrs);
    const got = await runOn("wasm", "Conv2DBackpropFilter", inputs, attrs);
    assert.deepEqual(got.shape, [c.k, c.k, ci, co], label(c));
    const err = relError(got.data, ref.data);
    assert.ok(err <= 1e-4, `${label(c)}: rel. error ${err}`);
  }
});

Deno.test("Conv2DBackpropInput: the override replaces tfjs-wasm's kernel and keeps the original", () => {
  const original = ORIGINAL_WASM_KERNELS.get("Conv2DBackpropInput");
  assert.ok(original, "original config kept");
  assert.equal(original.backendName, "wasm");
  assert.ok(original.setupFunc, "tfjs-wasm's kernel binds its entry point in setup");
  const current = tf.getKernel("Conv2DBackpropInput", "wasm");
  assert.ok(current && current.kernelFunc !== original.kernelFunc);
  assert.equal(current.setupFunc, original.setupFunc);
  assert.deepEqual(registerWasmTrainingKernels(), []);
  assert.equal(tf.getKernel("Conv2DBackpropInput", "wasm")?.kernelFunc, current.kernelFunc);
});

Deno.test("Conv2DBackpropInput by hand: stride 2, 'valid', 1x2 filter on a 1x5 image", async () => {
  await tf.setBackend("wasm");
  // forward: y[o] = w0*x[2o] + w1*x[2o+1], o = 0, 1 (x[4] unused), so dx = [w0 dy0, w1 dy0, w0 dy1, w1 dy1, 0]
  const dy = tf.tensor4d([1, 10], [1, 1, 2, 1]);
  const w = tf.tensor4d([5, 7], [1, 2, 1, 1]);
  const dx = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
    strides: [2, 2],
    pad: "valid",
    dataFormat: "NHWC",
    inputShape: [1, 1, 5, 1],
  }) as tf.Tensor;
  assert.deepEqual(dx.shape, [1, 1, 5, 1]);
  assert.deepEqual(Array.from(await dx.data()), [5, 7, 50, 70, 0]);
  // two in, two out channels, 1x1, stride 1: dx[ci] = sum_co w[ci, co] dy[co]
  const dy2 = tf.tensor4d([1, 2], [1, 1, 1, 2]);
  const w2 = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const dx2 = tf.engine().runKernel("Conv2DBackpropInput", { dy: dy2, filter: w2 }, {
    strides: 1,
    pad: "same",
    dataFormat: "NHWC",
    inputShape: [1, 1, 1, 2],
  }) as tf.Tensor;
  assert.deepEqual(Array.from(await dx2.data()), [1 + 4, 3 + 8]);
  tf.dispose([dy, w, dx, dy2, w2, dx2]);
});

for (const strategy of ["phases", "dilate"] as ConvInputGradStrategy[]) {
  Deno.test(`Conv2DBackpropInput (${strategy}) equals the cpu backend over the shape grid (rel. error <= 1e-4)`, async () => {
    const rng = new Rng(5);
    const cases = grid();
    // padding wider than K-1 (dy rows that touch only padding): the phases crop dy
    cases.push({ batch: 2, h: 6, w: 7, k: 3, stride: 1, pad: 3 });
    cases.push({ batch: 2, h: 9, w: 8, k: 3, stride: 2, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] });
    // odd 'same' sizes in the SSDv2 trunk (15x20 -> 8x10 -> 4x5)
    cases.push({ batch: 2, h: 8, w: 10, k: 3, stride: 2, pad: "same" });
    cases.push({ batch: 2, h: 5, w: 5, k: 1, stride: 2, pad: "same" });
    const saved = wasmConvInputGrad.strategy;
    wasmConvInputGrad.strategy = strategy;
    try {
      for (const c of cases) {
        const [ci, co] = [3, 5];
        const [t, b, l, r] = padsOf(c.pad);
        const oh = outSize(c.h, c.k, c.stride, c.pad, t, b);
        const ow = outSize(c.w, c.k, c.stride, c.pad, l, r);
        const xShape = [c.batch, c.h, c.w, ci];
        const inputs = {
          dy: { data: randomArray(rng, c.batch * oh * ow * co), shape: [c.batch, oh, ow, co] },
          filter: { data: randomArray(rng, c.k * c.k * ci * co), shape: [c.k, c.k, ci, co] },
        };
        const attrs = { strides: [c.stride, c.stride], pad: c.pad, dataFormat: "NHWC", inputShape: xShape };
        const ref = await runOn("cpu", "Conv2DBackpropInput", inputs, attrs);
        const got = await runOn("wasm", "Conv2DBackpropInput", inputs, attrs);
        assert.deepEqual(got.shape, xShape, label(c));
        const err = relError(got.data, ref.data);
        assert.ok(err <= 1e-4, `${label(c)}: rel. error ${err}`);
      }
    } finally {
      wasmConvInputGrad.strategy = saved;
    }
  });
}

Deno.test("Conv2DBackpropInput: wider channels match tfjs-wasm's original kernel; disabling routes to it", async () => {
  const rng = new Rng(6);
  const inputs = {
    dy: { data: randomArray(rng, 2 * 8 * 10 * 40), shape: [2, 8, 10, 40] },
    filter: { data: randomArray(rng, 3 * 3 * 36 * 40), shape: [3, 3, 36, 40] },
  };
  const attrs = { strides: [2, 2], pad: "same", dataFormat: "NHWC", inputShape: [2, 15, 20, 36] };
  const ref = await runOn("cpu", "Conv2DBackpropInput", inputs, attrs);
  const got = await runOn("wasm", "Conv2DBackpropInput", inputs, attrs);
  assert.ok(relError(got.data, ref.data) <= 1e-4);
  wasmConvInputGrad.enabled = false;
  try {
    const before = tf.getKernel("Conv2DBackpropInput", "wasm");
    const viaOriginal = await runOn("wasm", "Conv2DBackpropInput", inputs, attrs);
    assert.ok(relError(viaOriginal.data, ref.data) <= 1e-4);
    assert.equal(tf.getKernel("Conv2DBackpropInput", "wasm"), before, "nothing re-registered");
  } finally {
    wasmConvInputGrad.enabled = true;
  }
});

Deno.test("Conv2DBackpropFilter: chunking over the batch gives the same result", async () => {
  const rng = new Rng(2);
  const inputs = {
    x: { data: randomArray(rng, 5 * 9 * 11 * 4), shape: [5, 9, 11, 4] },
    dy: { data: randomArray(rng, 5 * 5 * 6 * 6), shape: [5, 5, 6, 6] },
  };
  const attrs = {
    strides: [2, 2],
    pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
    dataFormat: "NHWC",
    filterShape: [3, 3, 4, 6],
  };
  const ref = await runOn("cpu", "Conv2DBackpropFilter", inputs, attrs);
  const saved = wasmKernelLimits.maxPatchFloats;
  try {
    wasmKernelLimits.maxPatchFloats = 2 * 36 * 30; // two images per chunk: chunks of 2, 2, 1
    const got = await runOn("wasm", "Conv2DBackpropFilter", inputs, attrs);
    assert.ok(relError(got.data, ref.data) <= 1e-4);
  } finally {
    wasmKernelLimits.maxPatchFloats = saved;
  }
});

for (const multiplier of [1, 2]) {
  for (const channels of [8, 3]) {
    Deno.test(`Depthwise backprop kernels equal the cpu backend (C=${channels}, multiplier ${multiplier})`, async () => {
      const rng = new Rng(10 + channels + multiplier);
      const cases: { c: Case; dil: number }[] = grid().map((c) => ({ c, dil: 1 }));
      // dilation 2 (stride 1 only: tfjs forbids both above 1)
      cases.push({ c: { batch: 2, h: 9, w: 10, k: 3, stride: 1, pad: "same" }, dil: 2 });
      cases.push({ c: { batch: 1, h: 9, w: 10, k: 3, stride: 1, pad: "valid" }, dil: 2 });
      for (const { c, dil } of cases) {
        const cm = channels * multiplier;
        const keff = (c.k - 1) * dil + 1;
        const [t, b, l, r] = padsOf(c.pad);
        const oh = outSize(c.h, keff, c.stride, c.pad, t, b);
        const ow = outSize(c.w, keff, c.stride, c.pad, l, r);
        const xShape = [c.batch, c.h, c.w, channels];
        const fShape = [c.k, c.k, channels, multiplier];
        const x = { data: randomArray(rng, c.batch * c.h * c.w * channels), shape: xShape };
        const dy = { data: randomArray(rng, c.batch * oh * ow * cm), shape: [c.batch, oh, ow, cm] };
        const filter = { data: randomArray(rng, c.k * c.k * cm), shape: fShape };
        const attrs = { strides: [c.stride, c.stride], pad: c.pad, dilations: [dil, dil] };
        const name = label(c, ` dil${dil}`);

        // The cpu kernels ignore dilation (tfjs's own gradients refuse it), so a dilated filter is checked against
        // the equivalent undilated filter of size keff with zeros between the taps.
        const bigShape = [keff, keff, channels, multiplier];
        const refAttrs = { ...attrs, dilations: [1, 1] };
        const spread = (f: Float32Array) => {
          const big = new Float32Array(keff * keff * cm);
          for (let i = 0; i < c.k; i++) {
            for (let j = 0; j < c.k; j++) {
              big.set(f.subarray((i * c.k + j) * cm, (i * c.k + j + 1) * cm), (i * dil * keff + j * dil) * cm);
            }
          }
          return big;
        };
        const gather = (big: Float32Array) => {
          const f = new Float32Array(c.k * c.k * cm);
          for (let i = 0; i < c.k; i++) {
            for (let j = 0; j < c.k; j++) {
              f.set(
                big.subarray((i * dil * keff + j * dil) * cm, (i * dil * keff + j * dil + 1) * cm),
                (i * c.k + j) * cm,
              );
            }
          }
          return f;
        };

        const refW = await runOn("cpu", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, {
          ...refAttrs,
          filterShape: bigShape,
        });
        const gotW = await runOn("wasm", "DepthwiseConv2dNativeBackpropFilter", { x, dy }, {
          ...attrs,
          filterShape: fShape,
        });
        assert.deepEqual(gotW.shape, fShape, name);
        const errW = relError(gotW.data, gather(refW.data));
        assert.ok(errW <= 1e-4, `filter grad ${name}: rel. error ${errW}`);

        const iAttrs = { ...attrs, inputShape: xShape };
        const bigFilter = { data: spread(filter.data), shape: bigShape };
        const refX = await runOn("cpu", "DepthwiseConv2dNativeBackpropInput", { dy, filter: bigFilter }, {
          ...refAttrs,
          inputShape: xShape,
        });
        const gotX = await runOn("wasm", "DepthwiseConv2dNativeBackpropInput", { dy, filter }, iAttrs);
        assert.deepEqual(gotX.shape, xShape, name);
        const errX = relError(gotX.data, refX.data);
        assert.ok(errX <= 1e-4, `input grad ${name}: rel. error ${errX}`);
      }
    });
  }
}

/** Gradients of a small conv network (conv2d, then depthwise) with respect to input and both filters. */
function grads(xd: Float32Array, w1d: Float32Array, w2d: Float32Array): tf.Tensor[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(xd, [2, 15, 20, 4]);
    const w1 = tf.tensor4d(w1d, [3, 3, 4, 8]);
    const w2 = tf.tensor4d(w2d, [3, 3, 8, 1]);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const padded = tf.pad(a as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const h = tf.relu(tf.conv2d(padded, b as tf.Tensor4D, 2, "valid"));
      return tf.depthwiseConv2d(h, c as tf.Tensor4D, 2, "same").square().sum();
    };
    return tf.grads(f)([x, w1, w2]);
  });
}

Deno.test("tf.grads of conv2d + depthwiseConv2d runs on wasm and matches cpu", async () => {
  const rng = new Rng(3);
  const xd = randomArray(rng, 2 * 15 * 20 * 4);
  const w1d = randomArray(rng, 3 * 3 * 4 * 8);
  const w2d = randomArray(rng, 3 * 3 * 8);
  await tf.setBackend("cpu");
  const ref = await Promise.all(
    grads(xd, w1d, w2d).map(async (t) => {
      const d = (await t.data()) as Float32Array;
      t.dispose();
      return d;
    }),
  );
  await tf.setBackend("wasm");
  const got = grads(xd, w1d, w2d);
  for (let i = 0; i < got.length; i++) {
    const err = relError((await got[i].data()) as Float32Array, ref[i]);
    assert.ok(err <= 1e-4, `gradient ${i}: rel. error ${err}`);
  }
  tf.dispose(got);
});

Deno.test("repeated calls leak neither tensors nor wasm heap buffers", async () => {
  await tf.setBackend("wasm");
  const rng = new Rng(4);
  const xd = randomArray(rng, 2 * 15 * 20 * 4);
  const w1d = randomArray(rng, 3 * 3 * 4 * 8);
  const w2d = randomArray(rng, 3 * 3 * 8);
  const saved = wasmKernelLimits.maxPatchFloats;
  wasmKernelLimits.maxPatchFloats = 36 * 8 * 10; // force the chunked path too
  try {
    tf.dispose(grads(xd, w1d, w2d)); // warm-up
    const tensors = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) tf.dispose(grads(xd, w1d, w2d));
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), dataIds);
  } finally {
    wasmKernelLimits.maxPatchFloats = saved;
  }
});

Deno.test("Conv2DBackpropInput: repeated calls leak neither tensors nor wasm buffers (both strategies, cropping)", async () => {
  await tf.setBackend("wasm");
  const rng = new Rng(7);
  const dy = tf.tensor4d(randomArray(rng, 2 * 5 * 6 * 4), [2, 5, 6, 4]);
  const w = tf.tensor4d(randomArray(rng, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
  const calls: [string, Record<string, unknown>][] = [
    ["phases", { strides: [2, 2], pad: "same", inputShape: [2, 9, 11, 3] }],
    ["phases", { strides: [1, 1], pad: [[0, 0], [3, 0], [0, 4], [0, 0]], inputShape: [2, 4, 4, 3] }],
    ["dilate", { strides: [2, 2], pad: "valid", inputShape: [2, 11, 13, 3] }],
  ];
  const saved = wasmConvInputGrad.strategy;
  try {
    for (const [strategy, attrs] of calls) {
      wasmConvInputGrad.strategy = strategy as ConvInputGradStrategy;
      const run = () =>
        tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, { ...attrs, dataFormat: "NHWC" });
      tf.dispose(run() as tf.Tensor); // warm-up
      const tensors = tf.memory().numTensors;
      const dataIds = tf.backend().numDataIds();
      for (let i = 0; i < 3; i++) tf.dispose(run() as tf.Tensor);
      assert.equal(tf.memory().numTensors, tensors, strategy);
      assert.equal(tf.backend().numDataIds(), dataIds, strategy);
    }
  } finally {
    wasmConvInputGrad.strategy = saved;
    tf.dispose([dy, w]);
  }
});

Deno.test("bad input: NCHW and a dy that does not match the conv output are clear errors", async () => {
  await tf.setBackend("wasm");
  const x = tf.zeros([1, 4, 4, 2]);
  const dy = tf.zeros([1, 3, 3, 2]);
  assert.throws(
    () =>
      tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
        strides: [1, 1],
        pad: "same",
        dataFormat: "NCHW",
        filterShape: [3, 3, 2, 2],
      }),
    /Conv2DBackpropFilter: only NHWC/,
  );
  assert.throws(
    () =>
      tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: tf.zeros([3, 3, 2, 3]) }, {
        strides: [1, 1],
        pad: "same",
        dataFormat: "NHWC",
        inputShape: [1, 3, 3, 2],
      }),
    /Conv2DBackpropInput: dy has 2 channels but the filter \[3,3,2,3\] has 3/,
  );
  assert.throws(
    () =>
      tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x, dy }, {
        strides: [1, 1],
        pad: "same",
        dilations: [1, 1],
        filterShape: [3, 3, 2, 1],
      }),
    /DepthwiseConv2dNativeBackpropFilter: dy shape \[1,3,3,2\] does not match the conv output \[1,4,4,2\]/,
  );
  tf.dispose([x, dy]);
});
