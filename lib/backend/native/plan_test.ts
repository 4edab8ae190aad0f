import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { addonBuilt, loadAddon } from "./addon.ts";
import { encodePlan, NativePlan, type PlanActivation, type PlanSpec } from "./plan.ts";
import { relErr } from "./testing.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: plan tests are skipped (run `deno task build:native`)");

// References are plain tfjs ops on the cpu backend.
await tf.setBackend("cpu");

function act(x: tf.Tensor, a: PlanActivation, alpha = 0): tf.Tensor {
  switch (a) {
    case "relu":
      return tf.relu(x);
    case "relu6":
      return tf.relu6(x);
    case "leakyrelu":
      return tf.leakyRelu(x, alpha);
    case "sigmoid":
      return tf.sigmoid(x);
    case "elu":
      return tf.elu(x);
    default:
      return x;
  }
}

function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.randomUniform(shape, lo, hi, "float32", seed);
}

const f32 = (t: tf.Tensor) => t.dataSync() as Float32Array;

interface ConvCase {
  name: string;
  in: [number, number, number];
  out: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: [number, number, number, number];
  depthwise?: boolean;
  bias?: boolean;
  activation: PlanActivation;
  alpha?: number;
  sum?: boolean;
  /** Batch 3 runs our own Winograd (native/winograd.cc) where it is active (CPUs without AVX-512); batch 1 does not. */
  ownWinograd?: boolean;
}

const CASES: ConvCase[] = [
  {
    name: "3x3 s1 pad 1, bias, relu",
    in: [9, 11, 8],
    out: 16,
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [1, 1],
    pad: [1, 1, 1, 1],
    bias: true,
    activation: "relu",
  },
  {
    name: "3x3 s2 padded bottom-right only (tfjs 'same' on even sizes), leaky 0.3",
    in: [10, 12, 3],
    out: 8,
    kernel: [3, 3],
    strides: [2, 2],
    dilations: [1, 1],
    pad: [0, 0, 1, 1],
    bias: true,
    activation: "leakyrelu",
    alpha: 0.3,
  },
  {
    name: "depthwise 3x3 s2 pad 1, relu6",
    in: [9, 10, 16],
    out: 16,
    kernel: [3, 3],
    strides: [2, 2],
    dilations: [1, 1],
    pad: [1, 1, 1, 1],
    depthwise: true,
    bias: true,
    activation: "relu6",
  },
  {
    name: "depthwise multiplier 2, no bias, sigmoid",
    in: [6, 7, 4],
    out: 8,
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [1, 1],
    pad: [1, 1, 1, 1],
    depthwise: true,
    activation: "sigmoid",
  },
  {
    name: "dilated 3x3 d3 'same', elu",
    in: [12, 13, 8],
    out: 8,
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [3, 3],
    pad: [3, 3, 3, 3],
    bias: true,
    activation: "elu",
  },
  {
    name: "1x1 plus an added tensor, relu (sum post-op)",
    in: [7, 9, 12],
    out: 24,
    kernel: [1, 1],
    strides: [1, 1],
    dilations: [1, 1],
    pad: [0, 0, 0, 0],
    bias: true,
    activation: "relu",
    sum: true,
  },
  {
    name: "3x3 s1 pad 1 on 30x40, 24 -> 32, bias, relu (our Winograd at batch 3)",
    in: [30, 40, 24],
    out: 32,
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [1, 1],
    pad: [1, 1, 1, 1],
    bias: true,
    activation: "relu",
    ownWinograd: true,
  },
  {
    name: "3x3 s1 on 41x31 padded top-left only, 20 -> 70, no bias, leaky 0.1 (our Winograd at batch 3)",
    in: [41, 31, 20],
    out: 70,
    kernel: [3, 3],
    strides: [1, 1],
    dilations: [1, 1],
    pad: [2, 2, 0, 0],
    activation: "leakyrelu",
    alpha: 0.1,
    ownWinograd: true,
  },
  {
    name: "5x3 kernel, strides 2x1, odd padding, linear",
    in: [11, 9, 5],
    out: 7,
    kernel: [5, 3],
    strides: [2, 1],
    dilations: [1, 1],
    pad: [2, 0, 1, 2],
    activation: "linear",
  },
];

function outSize(n: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((n + p0 + p1 - ((k - 1) * d + 1)) / s) + 1;
}

for (const c of CASES) {
  Deno.test({
    name: `NativePlan conv: ${c.name} equals tfjs at batch 1 and 3`,
    ignore,
    fn() {
      const addon = loadAddon();
      const [h, w, cin] = c.in;
      const oh = outSize(h, c.kernel[0], c.strides[0], c.dilations[0], c.pad[0], c.pad[2]);
      const ow = outSize(w, c.kernel[1], c.strides[1], c.dilations[1], c.pad[1], c.pad[3]);
      const wShape = [c.kernel[0], c.kernel[1], cin, c.depthwise ? c.out / cin : c.out];
      const weights = rand(wShape, 1, -0.5, 0.5);
      const bias = c.bias ? rand([c.out], 2) : null;
      // The added tensor is computed by the plan too (a 1x1 conv of the input), as in a residual block.
      const sumW = rand([1, 1, cin, c.out], 3, -0.5, 0.5);
      const spec: PlanSpec = {
        tensors: [{ height: h, width: w, channels: cin }, { height: oh, width: ow, channels: c.out }],
        ops: [],
        outputs: [{ perImage: oh * ow * c.out, pieces: [{ tensor: 1, offset: 0 }] }],
      };
      if (c.sum) {
        assert.deepEqual([oh, ow], [h, w], "the sum case keeps the input's size");
        spec.tensors.push({ height: h, width: w, channels: c.out });
        spec.ops.push({
          op: "conv",
          src: 0,
          dst: 2,
          kernel: [1, 1],
          strides: [1, 1],
          dilations: [1, 1],
          pad: [0, 0, 0, 0],
          groups: 1,
          weights: f32(sumW),
        });
      }
      spec.ops.push({
        op: "conv",
        src: 0,
        dst: 1,
        kernel: c.kernel,
        strides: c.strides,
        dilations: c.dilations,
        pad: c.pad,
        groups: c.depthwise ? cin : 1,
        weights: f32(weights),
        bias: bias ? f32(bias) : null,
        activation: c.activation,
        alpha: c.alpha,
        sum: c.sum ? 2 : null,
      });
      const plan = new NativePlan(addon, spec);
      try {
        for (const b of [1, 3]) {
          const x = rand([b, h, w, cin], 10 + b) as tf.Tensor4D;
          const want = tf.tidy(() => {
            const padded = tf.pad(x, [[0, 0], [c.pad[0], c.pad[2]], [c.pad[1], c.pad[3]], [0, 0]]);
            let y = c.depthwise
              ? tf.depthwiseConv2d(padded, weights as tf.Tensor4D, c.strides, "valid", "NHWC", c.dilations)
              : tf.conv2d(padded, weights as tf.Tensor4D, c.strides, "valid", "NHWC", c.dilations);
            if (bias) y = tf.add(y, bias);
            if (c.sum) y = tf.add(y, tf.conv2d(x, sumW as tf.Tensor4D, 1, "valid"));
            return act(y, c.activation, c.alpha);
          });
          const [got] = plan.run(f32(x), b);
          const ran = plan.info(b).includes("own:winograd_4x3");
          assert.equal(ran, c.ownWinograd === true && b === 3 && addon.ownWinogradActive(), `batch ${b}: own Winograd`);
          const e = relErr(got, f32(want));
          assert.ok(e < 1e-5, `batch ${b}: relative error ${e}`);
          tf.dispose([x, want]);
        }
      } finally {
        plan.dispose();
        tf.dispose([weights, sumW, ...(bias ? [bias] : [])]);
      }
    },
  });
}

Deno.test({
  name: "NativePlan: concat, max pooling with padding, add, activations and outputs in pieces equal tfjs",
  ignore,
  fn() {
    const addon = loadAddon();
    // input 7x9x8 -> a = conv3x3 (8), b = conv3x3 (16, leaky) -> cat (24) -> pool 2x2/2 'same' (4x5, padded) ->
    // add(pool, conv1x1(pool)) relu -> activation relu6 (out 1); out 0 is [a reshaped, pool reshaped] per image.
    const [h, w, c] = [7, 9, 8];
    const wa = rand([3, 3, c, 8], 1, -0.3, 0.3), wb = rand([3, 3, c, 16], 2, -0.3, 0.3);
    const w1 = rand([1, 1, 24, 24], 3, -0.3, 0.3), ba = rand([8], 4), bb = rand([16], 5);
    const ph = Math.ceil(h / 2), pw = Math.ceil(w / 2);
    const padH = Math.max((ph - 1) * 2 + 2 - h, 0), padW = Math.max((pw - 1) * 2 + 2 - w, 0);
    const spec: PlanSpec = {
      tensors: [
        { height: h, width: w, channels: c },
        { height: h, width: w, channels: 8 },
        { height: h, width: w, channels: 16 },
        { height: h, width: w, channels: 24 },
        { height: ph, width: pw, channels: 24 },
        { height: ph, width: pw, channels: 24 },
        { height: ph, width: pw, channels: 24 },
        { height: ph, width: pw, channels: 24 },
        { height: ph, width: pw, channels: 24 },
      ],
      ops: [
        conv3(0, 1, wa, ba),
        { ...conv3(0, 2, wb, bb), activation: "leakyrelu", alpha: 0.2 },
        { op: "concat", srcs: [1, 2], dst: 3 },
        {
          op: "maxPool",
          src: 3,
          dst: 4,
          window: [2, 2],
          strides: [2, 2],
          pad: [Math.floor(padH / 2), Math.floor(padW / 2), padH - Math.floor(padH / 2), padW - Math.floor(padW / 2)],
        },
        {
          op: "conv",
          src: 4,
          dst: 5,
          kernel: [1, 1],
          strides: [1, 1],
          dilations: [1, 1],
          pad: [0, 0, 0, 0],
          groups: 1,
          weights: f32(w1),
        },
        { op: "add", srcs: [4, 5], dst: 6, activation: "relu" },
        { op: "activation", src: 6, dst: 7, activation: "relu6" },
        { op: "activation", src: 7, dst: 8, activation: "linear" },
      ],
      outputs: [
        {
          perImage: h * w * 8 + ph * pw * 24,
          pieces: [{ tensor: 4, offset: h * w * 8 }, { tensor: 1, offset: 0 }],
        },
        { perImage: ph * pw * 24, pieces: [{ tensor: 8, offset: 0 }] },
      ],
    };
    const plan = new NativePlan(addon, spec);
    try {
      for (const b of [1, 3]) {
        const x = rand([b, h, w, c], 20 + b) as tf.Tensor4D;
        const [o0, o1] = tf.tidy(() => {
          const a = tf.add(tf.conv2d(x, wa as tf.Tensor4D, 1, "same"), ba);
          const bt = tf.leakyRelu(tf.add(tf.conv2d(x, wb as tf.Tensor4D, 1, "same"), bb), 0.2);
          const pool = tf.maxPool(tf.concat([a, bt], 3) as tf.Tensor4D, 2, 2, "same");
          const s = tf.relu6(tf.relu(tf.add(pool, tf.conv2d(pool, w1 as tf.Tensor4D, 1, "valid"))));
          return [tf.concat([a.reshape([b, -1]), pool.reshape([b, -1])], 1), s];
        });
        const got = plan.run(f32(x), b);
        assert.ok(relErr(got[0], f32(o0)) < 1e-5, `batch ${b} output 0: ${relErr(got[0], f32(o0))}`);
        assert.ok(relErr(got[1], f32(o1)) < 1e-5, `batch ${b} output 1: ${relErr(got[1], f32(o1))}`);
        tf.dispose([x, o0, o1]);
      }
      assert.match(plan.info(3), /concat/);
      assert.match(plan.info(3), /maxpool/);
    } finally {
      plan.dispose();
      tf.dispose([wa, wb, w1, ba, bb]);
    }
  },
});

function conv3(src: number, dst: number, weights: tf.Tensor, bias: tf.Tensor) {
  return {
    op: "conv" as const,
    src,
    dst,
    kernel: [3, 3] as [number, number],
    strides: [1, 1] as [number, number],
    dilations: [1, 1] as [number, number],
    pad: [1, 1, 1, 1] as [number, number, number, number],
    groups: 1,
    weights: f32(weights),
    bias: f32(bias),
  };
}

/** A one-conv plan on a 4x4x2 input; `edit` breaks it. */
function small(edit: (s: PlanSpec) => void = () => {}): PlanSpec {
  const s: PlanSpec = {
    tensors: [{ height: 4, width: 4, channels: 2 }, { height: 4, width: 4, channels: 3 }],
    ops: [{
      op: "conv",
      src: 0,
      dst: 1,
      kernel: [3, 3],
      strides: [1, 1],
      dilations: [1, 1],
      pad: [1, 1, 1, 1],
      groups: 1,
      weights: new Float32Array(3 * 3 * 2 * 3).fill(0.5),
    }],
    outputs: [{ perImage: 48, pieces: [{ tensor: 1, offset: 0 }] }],
  };
  edit(s);
  return s;
}

Deno.test("encodePlan: the wrong number of weights and unknown tensors are named", () => {
  assert.throws(
    () => encodePlan(small((s) => ((s.ops[0] as { weights: Float32Array }).weights = new Float32Array(5)))),
    /op 0 \(conv\): 5 weights, a 3,3 kernel 2 -> 3 needs 54/,
  );
  assert.throws(() => encodePlan(small((s) => (s.outputs[0].pieces[0].tensor = 7))), /output piece tensor 7/);
  assert.throws(() => encodePlan(small((s) => (s.tensors[1].height = 0))), /tensor 1 has shape/);
});

Deno.test({
  name: "createPlan / runPlan: inconsistent plans and wrong buffers are refused with the reason",
  ignore,
  fn() {
    const addon = loadAddon();
    const bad = (edit: (s: PlanSpec) => void, re: RegExp) =>
      assert.throws(() => new NativePlan(addon, small(edit)), re);
    bad((s) => (s.tensors[1].height = 3), /op 0: the convolution gives 4x4, tensor 1 is 3x4/);
    bad((s) => (s.outputs[0].perImage = 50), /output 0: the pieces cover 48 of 50 values per image/);
    bad((s) => s.outputs[0].pieces.push({ tensor: 1, offset: 0 }), /the pieces do not tile the output/);
    bad((s) => {
      s.tensors.push({ height: 4, width: 4, channels: 2 });
      (s.ops[0] as { src: number }).src = 2;
    }, /tensor 2 is read before an op writes it/);
    bad((s) => {
      const conv = s.ops[0] as { groups: number; weights: Float32Array };
      conv.groups = 2;
      conv.weights = new Float32Array(27);
    }, /groups must divide both channel counts/);
    const plan = new NativePlan(addon, small());
    try {
      assert.throws(() => plan.run(new Float32Array(31), 1), /input has 31 values, batch 1 of 4x4x2 needs 32/);
      assert.throws(() => plan.runInto(new Float32Array(32), 1, [new Float32Array(47)]), /outputs\[0\] has 47/);
      assert.throws(() => plan.run(new Float32Array(32), 0), /batch must be an integer >= 1/);
      const [y] = plan.run(new Float32Array(32).fill(1), 1);
      // Centre pixels see all 9 taps of both channels: 9 * 2 * 0.5.
      assert.equal(y[(1 * 4 + 1) * 3], 9);
    } finally {
      plan.dispose();
    }
    assert.throws(() => plan.run(new Float32Array(32), 1), /the plan was disposed/);
  },
});

Deno.test({
  name: "NativePlan.dispose: the addon releases the plan and its buffers",
  ignore,
  fn() {
    const addon = loadAddon();
    const before = addon.planStats();
    const plans = [new NativePlan(addon, small()), new NativePlan(addon, small())];
    plans[0].run(new Float32Array(4 * 32), 4);
    const during = addon.planStats();
    assert.equal(during.live, before.live + 2);
    assert.ok(during.bytes > before.bytes, `${during.bytes} bytes held`);
    for (const p of plans) p.dispose();
    plans[0].dispose(); // twice is harmless
    assert.deepEqual(addon.planStats(), before);
  },
});
