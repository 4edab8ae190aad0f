import assert from "node:assert/strict";
import { dataLabelOf, isGeneratedData, PAPER_TEST_IMAGES } from "./label.ts";

Deno.test("dataLabelOf: counts, the paper's test set named only when it is not the one evaluated", () => {
  assert.equal(dataLabelOf("real", 930), "AIZOO data, 930 val images (not the paper's 1,839)");
  assert.equal(dataLabelOf("real", PAPER_TEST_IMAGES, 6120), "AIZOO data, 6,120 train / 1,839 val images");
  assert.equal(dataLabelOf("generated", 12, 40), "GENERATED synthetic data (12 val images)");
});

Deno.test("isGeneratedData: generated and synthetic labels flagged, real ones not", () => {
  assert.ok(isGeneratedData(dataLabelOf("generated", 3)));
  assert.ok(isGeneratedData("synthetic faces"));
  assert.ok(!isGeneratedData(dataLabelOf("real", 930, 3069)));
});
