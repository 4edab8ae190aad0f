import assert from "node:assert/strict";
import * as data from "./mod.ts";

Deno.test("mod.ts exposes the public API the other modules code against", () => {
  for (
    const name of [
      "parseVocXml",
      "scanSplit",
      "resolveData",
      "dataChecksum",
      "loadImage",
      "normalize",
      "planAugment",
      "batches",
      "generateDataset",
      "dataStats",
    ] as const
  ) {
    assert.equal(typeof data[name], "function", name);
  }
});
