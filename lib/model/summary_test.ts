import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { layerMacs, summarizeModel } from "./summary.ts";
import { ConvBlock, DepthwiseConvBlock, DilatedConv2D } from "./blocks.ts";

Deno.test("summary: parameters and MACs of each layer type, by hand", () => {
  const input = tf.input({ shape: [10, 12, 3] });
  const cb = new ConvBlock({ filters: 8, stride: 2 }).apply(input) as tf.SymbolicTensor; // 5x6x8
  const dcb = new DepthwiseConvBlock({ filters: 16 }).apply(cb) as tf.SymbolicTensor; // 5x6x16
  const dil = new DilatedConv2D({ filters: 4, dilation: 2, useBias: true }).apply(dcb) as tf.SymbolicTensor;
  const dw = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "same", depthMultiplier: 2 }).apply(dil);
  const pool = tf.layers.maxPooling2d({ poolSize: 2 }).apply(dw) as tf.SymbolicTensor; // 2x3x8
  const flat = tf.layers.flatten().apply(pool); // 48
  const dense = tf.layers.dense({ units: 5 }).apply(flat) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: dense });
  const s = summarizeModel(model, { skipEmpty: true });
  assert.deepEqual(s.layers.map((l) => [l.type, l.params, l.macs]), [
    // CB: 9*3*8 + 4*8 weights; 5*6 cells * 9*3*8
    ["ConvBlock", 248, 6480],
    // DCB: 9*8 + 4*8 + 8*16 + 4*16 = 296; 30 * (9*8 + 8*16) = 6000
    ["DepthwiseConvBlock", 296, 6000],
    // 3x3 dilated conv 16->4 with bias: 9*16*4 + 4 = 580; counted as 9 taps: 30 * 9*16*4 = 17280
    ["DilatedConv2D", 580, 17280],
    // depthwise 3x3, multiplier 2 on 4 channels with bias: 9*4*2 + 8 = 80; 30 * 9*4*2 = 2160
    ["DepthwiseConv2D", 80, 2160],
    // dense 48 -> 5: 245 parameters, 240 MACs
    ["Dense", 245, 240],
  ]);
  assert.equal(s.totalParams, 248 + 296 + 580 + 80 + 245);
  assert.equal(s.totalParams, model.countParams());
  assert.equal(s.totalMacs, 6480 + 6000 + 17280 + 2160 + 240);
  assert.equal(summarizeModel(model).layers.length, model.layers.length);
  assert.equal(layerMacs(model.layers[0]), 0);
  model.dispose();
});
