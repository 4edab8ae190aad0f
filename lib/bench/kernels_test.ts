import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { benchLayer, type ConvLayer, formatBenchTable, layerFlops, outputSize, SSDV2_LAYERS } from "./kernels.ts";
import { setupBackend } from "../backend/mod.ts";

Deno.test("outputSize and layerFlops follow the conv formulas (worked by hand)", () => {
  const cb1 = SSDV2_LAYERS[0];
  // 240x320 padded to 242x322, 3x3 stride 2 -> 120x160
  assert.deepEqual(outputSize(cb1), [120, 160]);
  // 2 * 8 images * 120*160 positions * 16 outputs * 27 taps
  assert.equal(layerFlops(cb1, 8), 2 * 8 * 19200 * 16 * 27);
  const dw: ConvLayer = { name: "dw", kind: "depthwise", h: 8, w: 10, cin: 256, cout: 256, k: 3, stride: 2 };
  assert.deepEqual(outputSize(dw), [4, 5]);
  assert.equal(layerFlops(dw, 1), 2 * 20 * 256 * 9);
  const pw: ConvLayer = { name: "pw", kind: "conv", h: 4, w: 5, cin: 256, cout: 256, k: 1, stride: 1 };
  assert.deepEqual(outputSize(pw), [4, 5]);
  assert.equal(layerFlops(pw, 2), 2 * 2 * 20 * 256 * 256);
});

Deno.test("SSDv2 layer table: trunk outputs chain to 30x40, 15x20, 8x10, 4x5", () => {
  const byName = new Map(SSDV2_LAYERS.map((l) => [l.name, l]));
  assert.deepEqual(outputSize(byName.get("CB5 32->64 s2")!), [30, 40]);
  assert.deepEqual(outputSize(byName.get("CB9 64->128 s2")!), [15, 20]);
  assert.deepEqual(outputSize(byName.get("DCB1 dw 128 s2")!), [8, 10]);
  assert.deepEqual(outputSize(byName.get("DCB3 dw 256 s2")!), [4, 5]);
});

Deno.test("benchLayer times all three kernels of a small layer and leaks no tensors", async () => {
  await setupBackend({ backend: "wasm", log: () => {} });
  for (const kind of ["conv", "depthwise"] as const) {
    const layer: ConvLayer = { name: kind, kind, h: 9, w: 10, cin: 8, cout: 8, k: 3, stride: 2 };
    benchLayer(layer, { batch: 2, minMs: 0, maxReps: 2 });
    const before = tf.memory().numTensors;
    const r = benchLayer(layer, { batch: 2, minMs: 0, maxReps: 2 });
    assert.equal(tf.memory().numTensors, before);
    for (const t of [r.forward, r.filterGrad, r.inputGrad]) {
      assert.ok(t.ms > 0 && Number.isFinite(t.gflops) && t.reps === 2, JSON.stringify(t));
    }
    assert.equal(r.ratioFilter, r.filterGrad.gflops / r.forward.gflops);
    const table = formatBenchTable([r]);
    assert.equal(table.split("\n").length, 3);
    assert.match(table, new RegExp(`^${kind}\\s+9x10x8`, "m"));
  }
});

Deno.test("benchLayer with compareBuiltin also times tfjs-wasm's own Conv2DBackpropInput", async () => {
  await setupBackend({ backend: "wasm", log: () => {} });
  const layer: ConvLayer = { name: "conv", kind: "conv", h: 9, w: 10, cin: 8, cout: 8, k: 3, stride: 2 };
  const r = benchLayer(layer, { batch: 2, minMs: 0, maxReps: 2, compareBuiltin: true });
  assert.ok(r.inputGradBuiltin && r.inputGradBuiltin.reps === 2 && r.inputGradBuiltin.ms > 0);
  assert.equal(r.ratioInputBuiltin, r.inputGradBuiltin.gflops / r.forward.gflops);
  const dw: ConvLayer = { ...layer, kind: "depthwise", name: "dw" };
  const d = benchLayer(dw, { batch: 2, minMs: 0, maxReps: 2, compareBuiltin: true });
  assert.equal(d.inputGradBuiltin, undefined);
  const table = formatBenchTable([r, d]).split("\n");
  assert.match(table[0], /dX orig GF\/s\s+orig\/fwd\s+speedup$/);
  assert.match(table[2], /\d+\.\dx$/);
  assert.match(table[3], /-\s+-\s+-$/);
});
