import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ConvBlock, DepthwiseConvBlock, DilatedConv2D } from "./blocks.ts";
import { type FusedBlocks, setFusedBlocks } from "./fused.ts";

await tf.setBackend("cpu");

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Random weights with positive variances, in the order of `model.weights` (trainable first, then moving stats). */
function randomWeights(model: tf.LayersModel, seed: number): tf.Tensor[] {
  return model.weights.map((w, i) => {
    const name = w.originalName;
    if (/moving_variance$/.test(name)) return tf.randomUniform(w.shape as number[], 0.5, 2, "float32", seed + i);
    if (/gamma$/.test(name)) return tf.randomUniform(w.shape as number[], 0.5, 1.5, "float32", seed + i);
    return tf.randomNormal(w.shape as number[], 0, 0.5, "float32", seed + i);
  });
}

function cbReference(filters: number, stride: 1 | 2, shape: number[]): tf.LayersModel {
  const layers: tf.layers.Layer[] = [];
  if (stride === 2) layers.push(tf.layers.zeroPadding2d({ padding: 1, inputShape: shape }));
  layers.push(tf.layers.conv2d({
    filters,
    kernelSize: 3,
    strides: stride,
    padding: stride === 2 ? "valid" : "same",
    useBias: false,
    ...(stride === 1 ? { inputShape: shape } : {}),
  }));
  layers.push(tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3 }), tf.layers.reLU());
  return tf.sequential({ layers });
}

function dcbReference(filters: number, stride: 1 | 2, shape: number[]): tf.LayersModel {
  const layers: tf.layers.Layer[] = [];
  if (stride === 2) layers.push(tf.layers.zeroPadding2d({ padding: 1, inputShape: shape }));
  layers.push(tf.layers.depthwiseConv2d({
    kernelSize: 3,
    strides: stride,
    padding: stride === 2 ? "valid" : "same",
    useBias: false,
    ...(stride === 1 ? { inputShape: shape } : {}),
  }));
  layers.push(tf.layers.batchNormalization(), tf.layers.reLU());
  layers.push(tf.layers.conv2d({ filters, kernelSize: 1, useBias: false }));
  layers.push(tf.layers.batchNormalization(), tf.layers.reLU());
  return tf.sequential({ layers });
}

/**
 * Compares our block with the reference stack: inference output, training output, gradients of the input and of
 * every trainable weight, and the moving statistics after training steps. Both list their weights in the same order
 * (trainable in layer order, then the moving statistics), checked by shapes and names below.
 */
function compare(ours: tf.LayersModel, ref: tf.LayersModel, x: tf.Tensor4D): void {
  const base = (v: tf.LayerVariable) => v.originalName.replace(/^.*\//, "").replace(/^bn\d_/, "");
  assert.deepEqual(ours.weights.map((v) => v.shape), ref.weights.map((v) => v.shape));
  assert.deepEqual(
    ours.weights.map(base).map((n) => n.replace(/^(depthwise|pointwise)_/, "")),
    ref.weights.map(base).map((n) => n.replace(/^depthwise_/, "")),
  );
  const w = randomWeights(ref, 11);
  ours.setWeights(w);
  ref.setWeights(w);
  assert.ok(maxDiff(ours.predict(x) as tf.Tensor, ref.predict(x) as tf.Tensor) < 1e-5, "inference output");
  const outShape = ref.outputs[0].shape.map((d) => d ?? x.shape[0]);
  const r = tf.randomNormal(outShape, 0, 1, "float32", 5);
  const loss = (m: tf.LayersModel) => (inp: tf.Tensor) =>
    tf.sum(tf.mul(m.apply(inp, { training: true }) as tf.Tensor, r)) as tf.Scalar;
  // step 1: input gradients
  const gxOurs = tf.grad(loss(ours))(x);
  const gxRef = tf.grad(loss(ref))(x);
  assert.ok(maxDiff(gxOurs, gxRef) < 1e-4, `input gradient differs by ${maxDiff(gxOurs, gxRef)}`);
  // step 2: training outputs (they use batch statistics only)
  const yo = ours.apply(x, { training: true }) as tf.Tensor;
  const yr = ref.apply(x, { training: true }) as tf.Tensor;
  assert.ok(maxDiff(yo, yr) < 1e-5, "training output");
  // step 3: gradients of every trainable weight
  const varsOurs = ours.trainableWeights.map((v) => v.read() as tf.Variable);
  const varsRef = ref.trainableWeights.map((v) => v.read() as tf.Variable);
  const go = tf.variableGrads(() => loss(ours)(x), varsOurs).grads;
  const gr = tf.variableGrads(() => loss(ref)(x), varsRef).grads;
  varsOurs.forEach((v, i) => {
    const a = go[v.name], b = gr[varsRef[i].name];
    const scale = Math.max(1, tf.max(tf.abs(b)).dataSync()[0]);
    assert.ok(
      maxDiff(a, b) < 1e-4 * scale,
      `gradient of ${base(ours.trainableWeights[i])} differs by ${maxDiff(a, b)}`,
    );
    assert.ok(tf.max(tf.abs(a)).dataSync()[0] > 0, `gradient of ${base(ours.trainableWeights[i])} is zero`);
  });
  // after three training calls each, the moving statistics agree, and they have moved from the initial values
  const nt = ours.trainableWeights.length;
  ours.getWeights().slice(nt).forEach((m, i) => {
    const refM = ref.getWeights()[nt + i];
    assert.ok(maxDiff(m, refM) < 1e-5, `moving statistic ${i} differs by ${maxDiff(m, refM)}`);
    assert.ok(maxDiff(m, w[nt + i]) > 1e-4, `moving statistic ${i} did not move`);
  });
}

for (const stride of [2, 1] as const) {
  Deno.test(`CB (stride ${stride}) equals ZeroPadding2D/Conv2D + BatchNormalization + ReLU: outputs, grads, stats`, () => {
    const shape = [7, 9, 3];
    const x = tf.randomNormal([2, ...shape] as [number, number, number, number], 0, 1, "float32", 1) as tf.Tensor4D;
    const ours = tf.sequential({ layers: [new ConvBlock({ filters: 4, stride, inputShape: shape })] });
    const ref = cbReference(4, stride, shape);
    // stride 2 with ZP: 7x9 -> 9x11 -> valid 3x3 stride 2 -> 4x5 = ceil(7/2) x ceil(9/2)
    assert.deepEqual(ours.outputs[0].shape, [null, stride === 2 ? 4 : 7, stride === 2 ? 5 : 9, 4]);
    compare(ours, ref, x);
  });

  Deno.test(`DCB (stride ${stride}) equals the DepthwiseConv2D/BN/ReLU/Conv2D/BN/ReLU stack`, () => {
    const shape = [6, 7, 3];
    const x = tf.randomNormal([3, ...shape] as [number, number, number, number], 0, 1, "float32", 2) as tf.Tensor4D;
    const ours = tf.sequential({ layers: [new DepthwiseConvBlock({ filters: 5, stride, inputShape: shape })] });
    const ref = dcbReference(5, stride, shape);
    assert.deepEqual(ours.outputs[0].shape, [null, stride === 2 ? 3 : 6, stride === 2 ? 4 : 7, 5]);
    compare(ours, ref, x);
  });
}

Deno.test("CB moving statistics follow the biased batch variance with momentum 0.99 (by hand)", () => {
  // 1x1 input channel, kernel with only the centre tap = 1: the conv is the identity on a single-channel input
  const layer = new ConvBlock({ filters: 1, stride: 1, inputShape: [1, 2, 1] });
  const model = tf.sequential({ layers: [layer] });
  const k = tf.buffer([3, 3, 1, 1]);
  k.set(1, 1, 1, 0, 0);
  model.setWeights([k.toTensor(), tf.ones([1]), tf.zeros([1]), tf.zeros([1]), tf.ones([1])]);
  // values 1, 3, 5, 7: mean 4, biased variance (9 + 1 + 1 + 9) / 4 = 5 (unbiased would be 20/3)
  const x = tf.tensor4d([1, 3, 5, 7], [2, 1, 2, 1]);
  model.apply(x, { training: true });
  const [mean, variance] = model.getWeights().slice(3).map((t) => t.dataSync()[0]);
  assert.ok(Math.abs(mean - 0.04) < 1e-6, `moving mean ${mean}`); // 0 - (0 - 4) * 0.01
  assert.ok(Math.abs(variance - 1.04) < 1e-6, `moving variance ${variance}`); // 1 - (1 - 5) * 0.01
});

Deno.test("blocks: fused implementation is used when registered for the current backend", () => {
  const calls: string[] = [];
  const fake: FusedBlocks = {
    backendName: tf.getBackend(),
    convBnRelu: (x, kernel, _bn, o) => {
      calls.push(`cb:${o.stride}:${o.training}`);
      const y = tf.relu(
        tf.conv2d(
          o.stride === 2 ? tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]) : x,
          kernel,
          o.stride,
          o.stride === 2 ? "valid" : "same",
        ),
      );
      return {
        y,
        stats: o.training
          ? [{
            mean: tf.fill([kernel.shape[3]], 10) as tf.Tensor1D,
            variance: tf.fill([kernel.shape[3]], 3) as tf.Tensor1D,
          }]
          : [],
      };
    },
    depthwiseBlock: () => {
      throw new Error("not used");
    },
  };
  const model = tf.sequential({ layers: [new ConvBlock({ filters: 2, stride: 2, inputShape: [4, 4, 1] })] });
  setFusedBlocks(fake);
  try {
    tf.tidy(() => {
      model.apply(tf.ones([1, 4, 4, 1]), { training: true });
    });
  } finally {
    setFusedBlocks(null);
  }
  assert.deepEqual(calls, ["cb:2:true"]);
  // the layer applies the moving update from the fused stats: 0 - (0 - 10) * 0.01 = 0.1, 1 - (1 - 3) * 0.01 = 1.02
  const [, , , mm, mv] = model.getWeights();
  assert.deepEqual(Array.from(mm.dataSync()).map((v) => +v.toFixed(5)), [0.1, 0.1]);
  assert.deepEqual(Array.from(mv.dataSync()).map((v) => +v.toFixed(5)), [1.02, 1.02]);
});

Deno.test("blocks: DCB hands both BN stages' batch statistics from the fused path to its moving averages", () => {
  const fake: FusedBlocks = {
    backendName: tf.getBackend(),
    convBnRelu: () => {
      throw new Error("not used");
    },
    depthwiseBlock: (x, w, o) => {
      const cin = w.dwKernel.shape[2], cout = w.pwKernel.shape[3];
      const y = tf.zeros([x.shape[0], Math.ceil(x.shape[1] / o.stride), Math.ceil(x.shape[2] / o.stride), cout]);
      const s = (n: number, v: number) => tf.fill([n], v) as tf.Tensor1D;
      return {
        y: y as tf.Tensor4D,
        stats: o.training
          ? [{ mean: s(cin, 2), variance: s(cin, 5) }, { mean: s(cout, -1), variance: s(cout, 0) }]
          : [],
      };
    },
  };
  const model = tf.sequential({ layers: [new DepthwiseConvBlock({ filters: 2, stride: 2, inputShape: [5, 5, 3] })] });
  setFusedBlocks(fake);
  try {
    tf.tidy(() => {
      const y = model.apply(tf.ones([1, 5, 5, 3]), { training: true }) as tf.Tensor;
      assert.deepEqual(y.shape, [1, 3, 3, 2]);
    });
  } finally {
    setFusedBlocks(null);
  }
  // weights: dw, gamma1, beta1, pw, gamma2, beta2, mm1, mv1, mm2, mv2; update m - (m - batch) * 0.01
  const moving = model.getWeights().slice(6).map((t) => Array.from(t.dataSync()).map((v) => +v.toFixed(5)));
  assert.deepEqual(moving, [[0.02, 0.02, 0.02], [1.04, 1.04, 1.04], [-0.01, -0.01], [0.99, 0.99]]);
});

Deno.test("DilatedConv2D equals a dilated tf.conv2d and has gradients", () => {
  const x = tf.randomNormal([1, 9, 8, 2], 0, 1, "float32", 3);
  for (const d of [1, 2, 3]) {
    const layer = new DilatedConv2D({ filters: 3, dilation: d, useBias: true, inputShape: [9, 8, 2] });
    const model = tf.sequential({ layers: [layer] });
    const k = tf.randomNormal([3, 3, 2, 3], 0, 1, "float32", d);
    const b = tf.tensor1d([0.5, -1, 2]);
    model.setWeights([k, b]);
    const expected = tf.add(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, "same", "NHWC", d), b);
    assert.ok(maxDiff(model.predict(x) as tf.Tensor, expected) < 1e-4, `dilation ${d}`);
    const g = tf.grad((inp) => tf.sum(model.apply(inp) as tf.Tensor))(x);
    assert.ok(Array.from(g.dataSync()).every(Number.isFinite));
  }
});

Deno.test("blocks: save and load in the TF.js format keeps class, config and weights", async () => {
  const model = tf.sequential({
    layers: [
      new ConvBlock({ filters: 4, stride: 2, inputShape: [8, 8, 3] }),
      new DepthwiseConvBlock({ filters: 6, stride: 2 }),
      new DilatedConv2D({ filters: 2, dilation: 2 }),
    ],
  });
  model.setWeights(randomWeights(model, 3));
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((a) => {
    saved = a;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assert.deepEqual(loaded.layers.map((l) => l.getClassName()), ["ConvBlock", "DepthwiseConvBlock", "DilatedConv2D"]);
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 9);
  assert.ok(maxDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor) < 1e-6);
});

Deno.test("blocks: repeated training calls do not leak tensors", () => {
  const model = tf.sequential({
    layers: [new ConvBlock({ filters: 4, stride: 2, inputShape: [8, 8, 3] }), new DepthwiseConvBlock({ filters: 4 })],
  });
  const x = tf.ones([1, 8, 8, 3]);
  tf.tidy(() => {
    model.apply(x, { training: true });
  });
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    tf.tidy(() => {
      tf.grad((inp) => tf.sum(model.apply(inp, { training: true }) as tf.Tensor))(x);
    });
    tf.tidy(() => {
      model.predict(x);
    });
  }
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("blocks: bad arguments are refused", () => {
  assert.throws(() => new ConvBlock({ filters: 0 }), /filters/);
  assert.throws(() => new ConvBlock({ filters: 2, stride: 3 as 1 }), /stride/);
  assert.throws(() => new DilatedConv2D({ filters: 2, dilation: 0 }), /dilation/);
});
