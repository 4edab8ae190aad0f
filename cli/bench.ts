/**
 * `deno task bench [--json] [--backends native,wasm] [--batch 16] [--infer-batch 32] [--min-seconds 3] [--repeats 5] [--threads N]
 * [--profile]`: the 4-branch SSDv2 at 240x320, side by side on every available backend in one run: training images/s
 * (Nesterov momentum-SGD step including the multibox loss), inference frames/s at batch 1 and images/s at batch 32,
 * the GFLOP/s these imply, and the machine's attainable peak from a large matmul. Each figure is the median of
 * `--repeats` timed windows sharing `--min-seconds`, so a moment of load from elsewhere on a shared machine does not
 * move it. `--json` prints
 * `{ model, peak_gflops, results: [{ backend, train_img_s, infer_fps, infer_batch_img_s }] }`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { setupBackend } from "../lib/backend/mod.ts";

import {
  benchInference,
  benchTraining,
  loadNative,
  nativeAddon,
  peakGflops,
  profileKernels,
  syntheticBatch,
  trainStep,
} from "../lib/backend/native/mod.ts";
import { buildDetector, summarizeModel } from "../lib/model/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    backends: { type: "string", default: "native,wasm" },
    batch: { type: "string", default: "16" },
    "infer-batch": { type: "string", default: "32" },
    "min-seconds": { type: "string", default: "3" },
    repeats: { type: "string", default: "5" },
    threads: { type: "string" },
    profile: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: deno task bench [--json] [--backends native,wasm] [--batch 16] [--infer-batch 32] [--min-seconds 3] " +
      "[--repeats 5] " +
      "[--threads N] [--profile]",
  );
  Deno.exit(0);
}
const posInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --${name} must be a positive integer, got ${v}`);
  return n;
};
const batch = posInt("batch", values.batch);
const inferBatch = posInt("infer-batch", values["infer-batch"]);
const minSeconds = Number(values["min-seconds"]);
const repeats = posInt("repeats", values.repeats);
if (!(minSeconds >= 0)) throw new Error(`bench: --min-seconds must be a number >= 0, got ${values["min-seconds"]}`);
const threads = values.threads === undefined ? undefined : posInt("threads", values.threads);
const say = values.json ? (_: string) => {} : (s: string) => console.log(s);

// wasm first: it registers our wasm training kernels, which the native backend copies when it loads.
await setupBackend({ backend: "wasm", log: say });
const native = await loadNative({ threads });
if (!native.ok) say(`bench: native backend unavailable: ${native.reason}`);
const wanted = values.backends.split(",").map((s) => s.trim()).filter((s) => s !== "");
const backends = wanted.filter((b) => b !== "native" || native.ok).filter((b) => tf.findBackendFactory(b) != null);
for (const b of wanted) if (!backends.includes(b)) say(`bench: skipping unavailable backend '${b}'`);

const detector = buildDetector({ trunk: "ssdv2", branches: 4 });
const { totalMacs, totalParams } = summarizeModel(detector.model);
const inferFlops = 2 * totalMacs;
// Backward costs about twice the forward (gradients of inputs and of weights): 3x the forward FLOPs per image.
const trainFlops = 3 * inferFlops;
const model = `ssdv2 4-branch 240x320 (${totalParams} params, ${(totalMacs / 1e9).toFixed(3)} GMACs/image)`;
say(`bench: ${model}; training batch ${batch}, inference batch 1 and ${inferBatch}`);

const peak = peakGflops({ addon: nativeAddon(), minSeconds: Math.min(1, minSeconds) });
say(`bench: peak ${peak.gflops.toFixed(1)} GFLOP/s (${peak.method})`);

const data = syntheticBatch(detector, { batch, seed: 1 });
const x1 = tf.tidy(() => data.x.slice([0, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
const xb = tf.randomUniform([inferBatch, 240, 320, 3], -0.5, 0.5, "float32", 2) as tf.Tensor4D;
const results: { backend: string; train_img_s: number; infer_fps: number; infer_batch_img_s: number }[] = [];
for (const backend of backends) {
  await tf.setBackend(backend);
  const timing = { minSeconds, repeats };
  const t0 = performance.now();
  const train = benchTraining(detector, data, timing);
  const fps = benchInference(detector, x1, { ...timing, warmup: 2 });
  const batchRate = benchInference(detector, xb, timing);
  results.push({ backend, train_img_s: train, infer_fps: fps, infer_batch_img_s: batchRate });
  say(`bench: ${backend} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

if (values.json) {
  console.log(JSON.stringify({ model, peak_gflops: peak.gflops, results }, null, 2));
} else {
  const pct = (gf: number) => `${gf.toFixed(1)} GFLOP/s (${((100 * gf) / peak.gflops).toFixed(1)}% of peak)`;
  for (const r of results) {
    console.log(
      `${r.backend.padEnd(8)} train ${r.train_img_s.toFixed(2)} img/s = ${pct((r.train_img_s * trainFlops) / 1e9)}; ` +
        `infer b1 ${r.infer_fps.toFixed(1)} FPS = ${pct((r.infer_fps * inferFlops) / 1e9)}; ` +
        `infer b${inferBatch} ${r.infer_batch_img_s.toFixed(1)} img/s = ${
          pct((r.infer_batch_img_s * inferFlops) / 1e9)
        }`,
    );
  }
  const n = results.find((r) => r.backend === "native"), w = results.find((r) => r.backend === "wasm");
  if (n && w) console.log(`native / wasm training speed-up: ${(n.train_img_s / w.train_img_s).toFixed(1)}x`);
}

if (values.profile && native.ok) {
  await tf.setBackend("native");
  const opt = tf.train.momentum(1e-2, 0.9, true);
  trainStep(detector, data, opt);
  const t0 = performance.now();
  const kernels = await profileKernels(() => trainStep(detector, data, opt));
  const wall = performance.now() - t0;
  const total = kernels.reduce((s, k) => s + k.ms, 0);
  console.log(`profile of one native training step, batch ${batch} (profiled wall ${wall.toFixed(0)} ms):`);
  for (const k of kernels.slice(0, 20)) {
    console.log(`  ${k.name.padEnd(34)} ${k.ms.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(5)} calls`);
  }
  console.log(`  ${"(all kernels)".padEnd(34)} ${total.toFixed(1).padStart(8)} ms`);
  opt.dispose();
}
tf.dispose([data.x, data.labels, data.offsets, x1, xb]);
