import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { addonBuilt } from "../backend/native/addon.ts";
import { loadNative, nativeAddon } from "../backend/native/native.ts";
import { buildDetector } from "../model/mod.ts";
import { convImplCounts, formatConvImpls, networkConvs } from "./conv_impls.ts";

await tf.setBackend("cpu");

Deno.test("networkConvs: the 37 convolutions of the 4-branch SSDv2 with the geometry the native kernels use", () => {
  const d = buildDetector({ trunk: "ssdv2", branches: 4 });
  try {
    const convs = networkConvs(d.model, 16);
    // 11 CBs, 3 DCBs (depthwise + pointwise each), and per branch the BB's 3 convs plus 2 heads.
    assert.equal(convs.length, 11 + 3 * 2 + 4 * 5);
    const by = new Map(convs.map((c) => [c.layer, Array.from(c.params)]));
    // N, IH, IW, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, pads (top, left, bottom, right), groups
    assert.deepEqual(by.get("t1_cb1"), [16, 240, 320, 3, 120, 160, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(by.get("t1_cb6"), [16, 30, 40, 64, 30, 40, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // 15x20 -> 8x10 at stride 2: the one-pixel zero padding on every side, as the DCB's ZP.
    assert.deepEqual(by.get("t3_dcb1/dw"), [16, 15, 20, 128, 8, 10, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 128]);
    assert.deepEqual(by.get("t3_dcb1/pw"), [16, 8, 10, 128, 8, 10, 256, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1]);
    assert.deepEqual(by.get("b4_loc_conv1"), [16, 4, 5, 48, 4, 5, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(convs.filter((c) => c.firstLayer).map((c) => c.layer), ["t1_cb1"]);
    assert.equal(networkConvs(d.model, 1)[0].params[0], 1);
    assert.throws(() => networkConvs(d.model, 0), /batch/);
  } finally {
    d.model.dispose();
  }
});

Deno.test("networkConvs: knows the other trunks' convolutions (depthwise Conv2D of slim, none missing)", () => {
  const d = buildDetector({ trunk: "slim", branches: 4, inputSize: [64, 96] });
  try {
    const convs = networkConvs(d.model, 2);
    const dw = convs.find((c) => c.layer.startsWith("t4_dw"))!;
    assert.equal(dw.params[17], dw.params[3], "a depthwise conv has one group per channel");
    assert.equal(dw.params[9], 2);
  } finally {
    d.model.dispose();
  }
  const rfb = buildDetector({ trunk: "rfb", branches: 1, inputSize: [64, 96] });
  try {
    assert.throws(() => networkConvs(rfb.model, 1), /DilatedConv2D, which networkConvs does not know/);
  } finally {
    rfb.model.dispose();
  }
});

Deno.test({
  name: "convImplCounts: oneDNN names per pass, one per convolution, no Winograd at batch 1",
  ignore: !addonBuilt(),
  async fn() {
    assert.ok((await loadNative()).ok);
    const addon = nativeAddon()!;
    const d = buildDetector({ trunk: "ssdv2", branches: 4 });
    try {
      const sum = (cs: { count: number }[] | undefined) => (cs ?? []).reduce((s, c) => s + c.count, 0);
      const train = convImplCounts(addon, d.model, { batch: 16, training: true });
      assert.equal(train.batch, 16);
      assert.equal(sum(train.forward), 37);
      assert.equal(sum(train.backwardData), 36, "no input gradient for the first layer");
      assert.equal(sum(train.backwardWeights), 37);
      for (const c of [...train.forward, ...train.backwardData!, ...train.backwardWeights!]) {
        assert.match(c.name, /^[a-z]/, `an implementation name: ${c.name}`);
      }
      const infer = convImplCounts(addon, d.model, { batch: 1, training: false });
      assert.equal(sum(infer.forward), 37);
      assert.equal(infer.backwardData, undefined);
      assert.ok(infer.forward.every((c) => !/wino/.test(c.name)), JSON.stringify(infer.forward));
      const avx512 = /\bavx512f\b/.test(Deno.readTextFileSync("/proc/cpuinfo"));
      if (avx512 && Deno.env.get("SSD_NATIVE_WINOGRAD") !== "0") {
        assert.ok(train.forward.some((c) => /wino/.test(c.name)), JSON.stringify(train.forward));
      }
      const lines = formatConvImpls(train);
      assert.equal(lines.length, 3);
      assert.match(lines[0], /^forward: \d+x /);
    } finally {
      d.model.dispose();
    }
  },
});
