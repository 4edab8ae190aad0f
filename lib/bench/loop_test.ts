import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../backend/mod.ts";
import { addonBuilt } from "../backend/native/addon.ts";
import { loadNative } from "../backend/native/native.ts";
import { generateDataset } from "../data/generate.ts";
import { resolveConfig } from "../runs/config.ts";
import { benchLoop } from "./loop.ts";

// The wasm backend (our wasm training kernels registered), or native over it when the addon is built: the 240x320
// network trains too slowly on the plain cpu backend for a test.
await setupBackend({ backend: "wasm" });
if (addonBuilt() && (await loadNative()).ok) await tf.setBackend("native");

const CONFIG = resolveConfig({
  seed: 2,
  data: { prefetch: 1 },
  train: { batchSize: 4, microBatch: 2 },
});

Deno.test("benchLoop: the trainer on real loader batches, timed in windows of optimizer steps", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench_loop_test_" });
  try {
    await generateDataset(dir, { seed: 4, train: 12, val: 1 });
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const r = await benchLoop({
      config: CONFIG,
      data: dir,
      warmupSteps: 1,
      steps: 1,
      repeats: 2,
      log: (l) => lines.push(l),
    });
    assert.equal(tf.memory().numTensors, before, "tensors left behind");
    assert.equal(r.windows_img_s.length, 2);
    for (const w of r.windows_img_s) assert.ok(w > 0 && Number.isFinite(w), `window ${w}`);
    assert.equal(r.loop_img_s, (r.windows_img_s[0] + r.windows_img_s[1]) / 2, "median of two windows");
    assert.deepEqual([r.batchSize, r.microBatch, r.steps, r.warmupSteps, r.augment], [4, 2, 1, 1, true]);
    assert.deepEqual([r.data.root, r.data.label, r.data.trainImages], [dir, "generated", 12]);
    assert.equal(r.backend, tf.getBackend());
    assert.match(lines[0], /^loop: 3 steps of 4 \(2 x 2\) on GENERATED synthetic scenes at .*, backend (native|wasm)$/);
    // The temporary run folder is gone.
    const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
    const left = [...Deno.readDirSync(tmp)].filter((e) => /^bench_loop_(?!test_)/.test(e.name));
    assert.deepEqual(left.map((e) => e.name), []);
    await assert.rejects(
      () => benchLoop({ config: CONFIG, data: dir, warmupSteps: 1, steps: 3, repeats: 1 }),
      new RegExp(`${dir}/train has 12 usable training images; 4 steps of 4 need 16`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("benchLoop: bad step counts are refused by name", async () => {
  await assert.rejects(
    () => benchLoop({ config: CONFIG, warmupSteps: 0, steps: 1, repeats: 1 }),
    /warmupSteps must be an integer >= 1, got 0/,
  );
  await assert.rejects(() => benchLoop({ config: CONFIG, warmupSteps: 1, steps: 1.5, repeats: 1 }), /steps must be/);
});
