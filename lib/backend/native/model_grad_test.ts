import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerWasmTrainingKernels } from "../wasm_kernels.ts";
import { buildDetector, type Detector } from "../../model/mod.ts";
import { multiboxLoss } from "../../loss/mod.ts";
import { addonBuilt } from "./addon.ts";
import { type SyntheticBatch, syntheticBatch } from "../../bench/model.ts";
import { loadNative, nativeAddon } from "./native.ts";
import { convParams } from "./kernels.ts";
import { relErr } from "./testing.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: full-model gradient test is skipped (run `deno task build:native`)");

/** Loss and every trainable gradient of one SSDv2 training step, by variable name. */
function lossAndGrads(detector: Detector, data: SyntheticBatch): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const { value, grads } = tf.variableGrads(() => {
    const [logits, offsets] = detector.model.apply(data.x, { training: true }) as tf.Tensor3D[];
    return multiboxLoss({ logits, offsets }, { labels: data.labels, offsets: data.offsets }).total as tf.Scalar;
  });
  out.set("loss", value.dataSync() as Float32Array);
  for (const [name, g] of Object.entries(grads)) out.set(name, g.dataSync().slice() as Float32Array);
  value.dispose();
  tf.dispose(grads);
  return out;
}

/** Training-mode outputs of every trunk block (CB / DCB, fused on native). */
function trunkOutputs(detector: Detector, data: SyntheticBatch): Float32Array[] {
  const layers = detector.model.layers.filter((l) => /^t\d_(cb|dcb)/.test(l.name));
  const sub = tf.model({ inputs: detector.model.inputs, outputs: layers.map((l) => l.output as tf.SymbolicTensor) });
  const outs = sub.apply(data.x, { training: true }) as tf.Tensor[];
  const r = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  return r;
}

// Why the batch is small: gradients of a ReLU network are discontinuous where a pre-activation crosses 0. With
// batch statistics in the deep 4x5 / 2x3 maps, one element with a BN output near 1e-6 whose ReLU decision flips
// under float32 rounding (oneDNN's BN statistics vs tfjs's moments) moves that block's bn2_beta / pointwise
// gradients by ~1e-2 relative. The plain wasm backend does the same to itself when the input moves by 1e-8 (batch 4
// or 8 at 120x160, seed 3). This configuration has no such near-tie, which the test asserts, so any difference
// left is a real one.
Deno.test({
  name: "native: a full SSDv2 training step (loss, every gradient) equals the plain wasm backend's within 1e-3",
  ignore,
  fn: async () => {
    // wasm first: the native backend copies the wasm training kernels when it loads.
    registerWasmTrainingKernels();
    const r = await loadNative();
    assert.ok(r.ok);
    await tf.setBackend("wasm");
    const detector = buildDetector({ trunk: "ssdv2", branches: 4, inputSize: [120, 160], seed: 3 });
    const data = syntheticBatch(detector, { batch: 2, seed: 5 });
    const wantAct = trunkOutputs(detector, data);
    const want = lossAndGrads(detector, data);
    await tf.setBackend("native");
    const before = tf.memory().numTensors;
    const gotAct = trunkOutputs(detector, data);
    const got = lossAndGrads(detector, data);
    lossAndGrads(detector, data);
    const after = tf.memory().numTensors;
    await tf.setBackend("wasm");
    tf.dispose([data.x, data.labels, data.offsets]);
    detector.model.dispose();

    let flips = 0;
    gotAct.forEach((g, i) => g.forEach((v, j) => flips += Number((v > 0) !== (wantAct[i][j] > 0))));
    assert.equal(flips, 0, "a ReLU decision differs between native and wasm: the gradient comparison is ill-posed");
    assert.equal(after, before, "tensors leaked by the native training step");
    assert.ok(want.size > 50, `expected every trainable variable, got ${want.size}`);
    assert.ok(Math.abs(got.get("loss")![0] - want.get("loss")![0]) <= 1e-5 * Math.abs(want.get("loss")![0]));
    const bad: string[] = [];
    for (const [name, w] of want) {
      const e = relErr(got.get(name)!, w);
      if (!(e <= 1e-3)) bad.push(`${name}: ${e.toExponential(2)}`);
    }
    assert.deepEqual(bad, [], `gradients differing from wasm: ${bad.join(", ")}`);
  },
});

// oneDNN's Winograd runs from batch 4 (native/ssd_native.cc, winogradWanted), ours from 2,400 output pixels over the
// batch (ownWinogradWanted); at batch 2 above it does not. Native with
// Winograd against native without, at batch 4: the same near-tie argument holds, and the test asserts it.
Deno.test({
  name: "native: a full SSDv2 training step with Winograd convolutions equals the direct ones within 1e-3",
  ignore,
  fn: async () => {
    const r = await loadNative();
    assert.ok(r.ok);
    const addon = nativeAddon()!;
    await tf.setBackend("native");
    const detector = buildDetector({ trunk: "ssdv2", branches: 4, inputSize: [120, 160], seed: 3 });
    // Which inputs hold a near-tie depends on the rounding of the Winograd variant that runs: with our own (AVX2),
    // data seed 5 puts one inside a DCB, between its two stages, where the block outputs checked below cannot see
    // it (every gradient then moves by ~1e-2, the 4x5 map's by ~0.1, also when only the trunk runs Winograd), and
    // seed 6 has none; with oneDNN's (AVX-512), seed 5 has none.
    const avx512 = /\bavx512f\b/.test(Deno.readTextFileSync("/proc/cpuinfo"));
    const data = syntheticBatch(detector, { batch: 4, seed: avx512 ? 5 : 6 });
    const was = addon.setWinograd(false);
    try {
      const wantAct = trunkOutputs(detector, data);
      const want = lossAndGrads(detector, data);
      addon.setWinograd(true);
      // The stride-1 16 -> 32 CB on the 60x80 map of this batch: oneDNN's Winograd where the CPU has AVX-512, ours
      // elsewhere (native/winograd.cc).
      const cb2 = addon.convImpl(
        convParams(tf.backend_util.computeConv2DInfo([4, 60, 80, 16], [3, 3, 16, 32], 1, 1, 1), 1),
      );
      if (avx512) assert.match(cb2, /^jit_wino/);
      else if (addon.ownWinogradActive()) assert.match(cb2, /^own:winograd_4x3/);
      const gotAct = trunkOutputs(detector, data);
      const got = lossAndGrads(detector, data);
      let flips = 0;
      gotAct.forEach((g, i) => g.forEach((v, j) => flips += Number((v > 0) !== (wantAct[i][j] > 0))));
      assert.equal(flips, 0, "a ReLU decision differs between Winograd and direct: the comparison is ill-posed");
      const bad: string[] = [];
      for (const [name, w] of want) {
        const e = relErr(got.get(name)!, w);
        if (!(e <= 1e-3)) bad.push(`${name}: ${e.toExponential(2)}`);
      }
      assert.deepEqual(bad, [], `gradients differing: ${bad.join(", ")}`);
    } finally {
      addon.setWinograd(was);
      tf.dispose([data.x, data.labels, data.offsets]);
      detector.model.dispose();
      await tf.setBackend("wasm");
    }
  },
});
