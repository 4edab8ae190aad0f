import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { addonBuilt } from "./addon.ts";
import { loadNative, nativeAddon } from "./native.ts";
import { convParams, NATIVE_BACKEND } from "./kernels.ts";
import { onBackends, relErr } from "./testing.ts";
import { cpuInfo, onednnAvx512 } from "../../runs/run.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: native kernel tests are skipped (run `deno task build:native`)");

type Pad = "same" | "valid" | [[0, 0], [number, number], [number, number], [0, 0]];

/** Output and both gradients of sum(conv(x, w) * r), r fixed random, so dy is not uniform. */
function convAndGrads(depthwise: boolean, x: tf.Tensor4D, w: tf.Tensor4D, stride: number, pad: Pad): tf.Tensor[] {
  const op = (a: tf.Tensor4D, b: tf.Tensor4D) =>
    depthwise ? tf.depthwiseConv2d(a, b, stride, pad) : tf.conv2d(a, b, stride, pad);
  const y = op(x, w);
  const r = tf.randomUniform(y.shape, -1, 1, "float32", 7);
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => op(a as tf.Tensor4D, b as tf.Tensor4D).mul(r).sum());
  const [dx, dw] = g([x, w]);
  r.dispose();
  return [y, dx, dw];
}

Deno.test({
  name: "native kernels: conv2d and depthwise forward + both gradients equal the cpu backend over the grid",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const explicit: Pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
    const pads: Pad[] = ["same", "valid", explicit];
    let cases = 0;
    for (const depthwise of [false, true]) {
      for (const k of [1, 3]) {
        for (const stride of [1, 2]) {
          for (const pad of pads) {
            for (const batch of [1, 8]) {
              // 16 -> 32 channels: the stride-1 3x3 convolutions at batch 8 on 15x20 run as Winograd there.
              for (
                const [[h, w], [cin, cout]] of [[15, 20], [8, 10]].flatMap((hw) =>
                  (depthwise ? [[6, 6]] : [[6, 10], [16, 32]]).map((c) => [hw, c])
                )
              ) {
                const x = tf.randomNormal([batch, h, w, cin], 0, 1, "float32", 1) as tf.Tensor4D;
                const f = tf.randomNormal([k, k, cin, depthwise ? 1 : cout], 0, 1, "float32", 2) as tf.Tensor4D;
                const [ref, got] = await onBackends(
                  ["cpu", NATIVE_BACKEND],
                  () => convAndGrads(depthwise, x, f, stride, pad),
                );
                const what: string = `${depthwise ? "depthwise" : "conv"} ${k}x${k} s${stride} ${
                  JSON.stringify(pad)
                } b${batch} ${h}x${w} ${cin}->${cout}`;
                for (let i = 0; i < 3; i++) {
                  const e = relErr(got[i], ref[i]);
                  assert.ok(e <= 1e-4, `${what} output ${i}: relative error ${e}`);
                }
                tf.dispose([x, f]);
                cases++;
              }
            }
          }
        }
      }
    }
    assert.equal(cases, (2 + 1) * 2 * 2 * 3 * 2 * 2);
  },
});

Deno.test({
  name: "native kernels: stride-2 'same' on 15x20 gives 8x10 with tfjs's (0,1) padding, explicit gives (1,1)",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend(NATIVE_BACKEND);
    const x = tf.ones([1, 15, 20, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const same = tf.conv2d(x, w, 2, "same");
    const expl = tf.conv2d(x, w, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    assert.deepEqual(same.shape, [1, 8, 10, 1]);
    assert.deepEqual(expl.shape, [1, 8, 10, 1]);
    // 15 rows, 'same' at stride 2: total padding 2 = 1 top + 1 bottom; 20 columns: total 1 = 0 left + 1 right.
    // So the top-left window of 'same' sees 2 rows x 3 columns of ones; explicit (1,1) padding sees 2 x 2.
    assert.equal(same.dataSync()[0], 6);
    assert.equal(expl.dataSync()[0], 4);
    // Bottom-right: 'same' window covers rows 13..15 (15 is padding) and columns 18..20 (20 is padding): 2 x 2.
    assert.equal(same.dataSync()[79], 4);
    tf.dispose([x, w, same, expl]);
  },
});

Deno.test({
  name: "native kernels: fused conv2d with bias and relu / leakyrelu equals the cpu backend; dilations null is 1",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const x = tf.randomNormal([2, 9, 11, 4], 0, 1, "float32", 3) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 4, 5], 0, 1, "float32", 4) as tf.Tensor4D;
    const dw = tf.randomNormal([3, 3, 4, 2], 0, 1, "float32", 5) as tf.Tensor4D;
    const bias = tf.randomNormal([5], 0, 1, "float32", 6) as tf.Tensor1D;
    const bias8 = tf.randomNormal([8], 0, 1, "float32", 6) as tf.Tensor1D;
    const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], () => [
      tf.fused.conv2d({ x, filter: w, strides: 1, pad: "same", bias, activation: "relu" }),
      tf.fused.conv2d({ x, filter: w, strides: 2, pad: "valid", bias, activation: "leakyrelu", leakyreluAlpha: 0.1 }),
      tf.fused.conv2d({
        x,
        filter: w,
        strides: 1,
        pad: "same",
        bias,
        activation: "prelu",
        preluActivationWeights: bias,
      }),
      tf.fused.depthwiseConv2d({ x, filter: dw, strides: 2, pad: "same", bias: bias8, activation: "relu6" }),
      // tfjs-layers passes dilations: null (the cpu backend would reject it, so it gets 1).
      tf.engine().runKernel(tf.Conv2D, { x, filter: w }, {
        strides: 1,
        pad: "same",
        dataFormat: "NHWC",
        dilations: tf.getBackend() === NATIVE_BACKEND ? null : 1,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    ]);
    for (let i = 0; i < ref.length; i++) assert.ok(relErr(got[i], ref[i]) <= 1e-5, `output ${i}`);
    tf.dispose([x, w, dw, bias, bias8]);
  },
});

Deno.test({
  name: "native backend: Identity shares the buffer, the wasm backend still works beside it, no tensor leaks",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend(NATIVE_BACKEND);
    const a = tf.tensor1d([1, 2, 3]);
    const b = a.clone();
    const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
    assert.equal(backend.dataIdMap.get(b.dataId).memoryOffset, backend.dataIdMap.get(a.dataId).memoryOffset);
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3]);
    b.dispose();
    // Same instance: tensors made on native are usable on wasm and vice versa, and wasm's own conv still runs.
    const x = tf.randomNormal([1, 7, 7, 3], 0, 1, "float32", 8) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 9) as tf.Tensor4D;
    const [ref, wasm, nat] = await onBackends(["cpu", "wasm", NATIVE_BACKEND], () => [tf.conv2d(x, w, 1, "same")]);
    assert.ok(relErr(wasm[0], ref[0]) <= 1e-5);
    assert.ok(relErr(nat[0], ref[0]) <= 1e-5);
    await tf.setBackend(NATIVE_BACKEND);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      tf.tidy(() => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same").sum()
        );
        g([x, w]);
      });
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, w]);
  },
});

Deno.test({
  name: "native kernels: weight gradients on blocked layouts (setBwdWBlocked) equal the cpu backend",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const addon = nativeAddon()!;
    const before = addon.setBwdWBlocked(true);
    try {
      for (const stride of [1, 2]) {
        for (const batch of [1, 4]) {
          // 3 input channels stay on NHWC (the rule), 8 / 16 / 24 move to blocked layouts, 24 not a multiple of 16.
          for (const [cin, cout] of [[3, 16], [8, 16], [16, 32], [24, 8]]) {
            const x = tf.randomNormal([batch, 15, 20, cin], 0, 1, "float32", 3) as tf.Tensor4D;
            const f = tf.randomNormal([3, 3, cin, cout], 0, 1, "float32", 4) as tf.Tensor4D;
            const [ref, got] = await onBackends(
              ["cpu", NATIVE_BACKEND],
              () => convAndGrads(false, x, f, stride, "same"),
            );
            for (let i = 0; i < 3; i++) {
              const e = relErr(got[i], ref[i]);
              assert.ok(e <= 1e-4, `s${stride} b${batch} ${cin}->${cout} output ${i}: relative error ${e}`);
            }
            tf.dispose([x, f]);
          }
        }
      }
    } finally {
      addon.setBwdWBlocked(before);
    }
  },
});

Deno.test({
  name: "native kernels: our Winograd F(4x4, 3x3) (setOwnWinograd on) equals the cpu backend in all three passes",
  ignore: ignore || Deno.build.arch !== "x86_64",
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    const addon = nativeAddon()!;
    const before = addon.setOwnWinograd("on");
    try {
      assert.equal(addon.ownWinogradActive(), true, "our Winograd cannot run on this x86-64 CPU (no AVX2 / FMA?)");
      const explicit: Pad = [[0, 0], [2, 0], [0, 2], [0, 0]];
      // Maps that are not multiples of the 4x4 tile, 'valid' and lopsided padding, channel counts over the
      // transforms' 64-channel chunk and not multiples of 8, and a batch with exactly the rule's 2,400 pixels.
      const cases: [number, number, number, number, number, Pad][] = [
        [2, 30, 40, 32, 16, "same"],
        [3, 37, 23, 24, 40, "same"],
        [8, 21, 19, 70, 12, "valid"],
        [2, 50, 50, 9, 72, explicit],
        [8, 15, 20, 16, 32, "same"],
      ];
      for (const [batch, h, w, cin, cout, pad] of cases) {
        const shapes = addon.convImpl(convParams(
          tf.backend_util.computeConv2DInfo([batch, h, w, cin], [3, 3, cin, cout], 1, 1, pad),
          1,
        ));
        const x = tf.randomNormal([batch, h, w, cin], 0, 1, "float32", 11) as tf.Tensor4D;
        const f = tf.randomNormal([3, 3, cin, cout], 0, 1, "float32", 12) as tf.Tensor4D;
        const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], () => convAndGrads(false, x, f, 1, pad));
        const what = `b${batch} ${h}x${w} ${cin}->${cout} ${JSON.stringify(pad)}`;
        assert.match(shapes, /^own:winograd_4x3/, `${what}: ${shapes}`);
        for (let i = 0; i < 3; i++) {
          const e = relErr(got[i], ref[i]);
          assert.ok(e <= 1e-5, `${what} output ${i}: relative error ${e}`);
        }
        tf.dispose([x, f]);
      }
      // And where the rule keeps the direct kernels, the names say so.
      const small = addon.convImpl(
        convParams(tf.backend_util.computeConv2DInfo([1, 8, 10, 16], [3, 3, 16, 16], 1, 1, "same"), 1),
      );
      assert.doesNotMatch(small, /own/);
    } finally {
      addon.setOwnWinograd(before);
    }
    assert.throws(() => addon.setOwnWinograd("maybe" as "on"), /must be "auto", "on" or "off"/);
  },
});

Deno.test("convParams: oneDNN geometry from tfjs conv info, and a clear error when it cannot match", () => {
  const info = tf.backend_util.computeConv2DInfo([8, 15, 20, 6], [3, 3, 6, 1], 2, 1, "same", undefined, true);
  // 'same' at stride 2: out 8x10; height pads 2 total (1,1), width pads 1 total (0,1).
  assert.deepEqual(Array.from(convParams(info, 6)), [8, 15, 20, 6, 8, 10, 6, 3, 3, 2, 2, 1, 1, 1, 0, 1, 1, 6]);
  const ceil = tf.backend_util.computeConv2DInfo([1, 8, 8, 1], [3, 3, 1, 1], 2, 1, 0, "ceil");
  assert.throws(() => convParams(ceil, 1), /height size 8 with padding 0,0 cannot give 4 outputs/);
});

Deno.test({
  name: "native kernels: max-pool gradient equals the cpu backend's, ties (all-zero windows) included, no leaks",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    await tf.setBackend("cpu");
    const cases: [number, number, "same" | "valid"][] = [[2, 2, "same"], [3, 1, "same"], [3, 2, "valid"], [
      2,
      2,
      "valid",
    ]];
    for (const [size, stride, pad] of cases) {
      for (const [batch, h, w] of [[1, 15, 20], [3, 8, 11]]) {
        // ReLU of coarsely rounded values: many zeros and repeated maxima, so the tie rule is exercised.
        const x = tf.tidy(() =>
          tf.relu(tf.randomNormal([batch, h, w, 5], 0, 1, "float32", 5).mul(2).round())
        ) as tf.Tensor4D;
        const r = tf.randomUniform(
          tf.maxPool(x, size, stride, pad).shape,
          -1,
          1,
          "float32",
          6,
        );
        const run = () => {
          const f = (a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, size, stride, pad).mul(r).sum();
          return [tf.maxPool(x, size, stride, pad), tf.grad(f)(x)];
        };
        const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], run);
        const what = `${size}x${size} s${stride} ${pad} b${batch} ${h}x${w}`;
        assert.deepEqual(Array.from(got[0]), Array.from(ref[0]), `${what}: pooled values`);
        const e = relErr(got[1], ref[1]);
        assert.ok(e <= 1e-6, `${what}: gradient relative error ${e}`);
        const before = tf.memory().numTensors;
        tf.dispose(run());
        assert.equal(tf.memory().numTensors, before, `${what}: tensors left behind`);
        tf.dispose([x, r]);
      }
    }
  },
});

Deno.test({
  name: "native kernels: under ONEDNN_MAX_CPU_ISA=AVX2 oneDNN runs its AVX2 kernels and ours takes the Winograd shapes",
  // Our Winograd needs AVX2, which every AVX-512 CPU has.
  ignore: ignore || Deno.build.arch !== "x86_64" || !["AVX2", "AVX-512"].includes(cpuInfo().isa),
  async fn() {
    // oneDNN reads the cap once, when it first dispatches, so the check runs in a process of its own.
    const script = `
      import * as tf from "@tensorflow/tfjs";
      import { loadNative, nativeAddon } from "${new URL("./native.ts", import.meta.url).href}";
      import { convParams } from "${new URL("./kernels.ts", import.meta.url).href}";
      await tf.setBackend("cpu");
      const ok = (await loadNative()).ok;
      const a = nativeAddon();
      const impl = (x, f) => a.convImpl(convParams(tf.backend_util.computeConv2DInfo(x, f, 1, 1, "same"), 1));
      console.log(JSON.stringify({ ok, own: a.ownWinogradActive(), wino: impl([16, 30, 40, 64], [3, 3, 64, 64]),
        direct: impl([16, 30, 40, 16], [3, 3, 16, 16]) }));
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=js", script],
      cwd: new URL("../../..", import.meta.url).pathname,
      env: { ONEDNN_MAX_CPU_ISA: "AVX2", SSD_NATIVE_OWN_WINOGRAD: "auto", SSD_NATIVE_WINOGRAD: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr).slice(-500));
    const r = JSON.parse(text.trim().split("\n").pop()!);
    assert.equal(r.ok, true);
    assert.equal(r.own, true, "auto mode must follow oneDNN's ISA, not the CPU's");
    for (const name of r.wino.split("|")) assert.equal(name, "own:winograd_4x3", r.wino);
    for (const name of r.direct.split("|")) assert.match(name, /avx2/, r.direct);
    assert.doesNotMatch(r.direct, /avx512/);
  },
});

Deno.test({
  name:
    "native kernels: stride-1 3x3 convolutions run as Winograd where it pays (channels, map size, batch), else direct",
  ignore,
  async fn() {
    assert.equal((await loadNative()).ok, true);
    const addon = nativeAddon()!;
    const impl = (x: [number, number, number, number], f: [number, number, number, number], stride: number) =>
      addon.convImpl(convParams(tf.backend_util.computeConv2DInfo(x, f, stride, 1, "same"), 1));
    // oneDNN's AVX-512 Winograd runs where the CPU has AVX-512 and ONEDNN_MAX_CPU_ISA does not cap it.
    const avx512 = Deno.build.os === "linux" && onednnAvx512(cpuInfo());
    const off = Deno.env.get("SSD_NATIVE_WINOGRAD") === "0";
    const wino = impl([16, 30, 40, 64], [3, 3, 64, 64], 1).split("|");
    assert.equal(wino.length, 3);
    if (avx512 && !off) {
      for (const name of wino) assert.match(name, /wino/, `64->64 3x3 s1: ${wino.join(" | ")}`);
    } else if (!off && addon.ownWinogradActive()) {
      for (const name of wino) assert.equal(name, "own:winograd_4x3", `64->64 3x3 s1: ${wino.join(" | ")}`);
      assert.match(impl([8, 15, 20, 16], [3, 3, 16, 32], 1), /^own:winograd_4x3/);
    } else {
      console.warn(`Winograd not expected here (avx512f ${avx512}, SSD_NATIVE_WINOGRAD=0 ${off}): ${wino}`);
    }
    if (avx512 && !off) assert.match(impl([8, 15, 20, 16], [3, 3, 16, 32], 1), /^jit_wino/);
    // Where it does not pay (see winogradWanted and ownWinogradWanted in native/ssd_native.cc): channels not in
    // multiples of 16 and few, stride 2, 16 -> 16, small maps, batch 1.
    for (
      const [x, f, stride] of [
        [[8, 15, 20, 6], [3, 3, 6, 10], 1],
        [[8, 16, 20, 16], [3, 3, 16, 32], 2],
        [[16, 30, 40, 16], [3, 3, 16, 16], 1],
        [[16, 8, 10, 256], [3, 3, 256, 32], 1],
        [[1, 30, 40, 64], [3, 3, 64, 64], 1],
      ] as [[number, number, number, number], [number, number, number, number], number][]
    ) {
      for (const name of impl(x, f, stride).split("|")) assert.doesNotMatch(name, /wino/, `${x} ${f} s${stride}`);
    }
  },
});

Deno.test({
  name: "native kernels: SplitV and Concat along every axis equal the cpu backend exactly (and Concat's gradient)",
  ignore,
  async fn() {
    await tf.setBackend("cpu");
    assert.equal((await loadNative()).ok, true);
    for (const name of [tf.SplitV, tf.Concat]) {
      assert.notEqual(tf.getKernel(name, NATIVE_BACKEND)?.kernelFunc, tf.getKernel(name, "wasm")?.kernelFunc, name);
    }
    const shape: [number, number, number, number] = [3, 5, 4, 6];
    for (let axis = 0; axis < 4; axis++) {
      const x = tf.randomNormal(shape, 0, 1, "float32", axis) as tf.Tensor4D;
      const sizes = axis === 3 ? [1, 3, 0, 2] : [shape[axis] - 2, 2];
      const [ref, got] = await onBackends(["cpu", NATIVE_BACKEND], () => {
        const parts = tf.split(x, sizes, axis);
        const joined = tf.concat(parts.slice().reverse(), axis);
        // Concat's gradient is a SplitV of dy; a random weighting makes every element's gradient distinct.
        const [a, c] = [parts[0], parts[parts.length - 1]];
        const r = tf.randomUniform(tf.concat([c, a], axis).shape, -1, 1, "float32", 3);
        const grads = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.concat([v, u], axis).mul(r).sum())([a, c]);
        r.dispose();
        return [...parts, joined, ...grads];
      });
      for (let i = 0; i < ref.length; i++) assert.deepEqual(got[i], ref[i], `axis ${axis} output ${i}`);
      x.dispose();
    }
    const one = new Float32Array(10);
    assert.throws(() => nativeAddon()!.blockCopy(one, one, 3, 4, 4, 0, 4, 0), /reach past the end/);
  },
});
