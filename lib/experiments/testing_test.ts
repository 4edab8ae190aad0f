import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { SMALL_PRIORS, smallDetector } from "./testing.ts";
import { numPriors } from "../detect/mod.ts";

await tf.setBackend("cpu");

Deno.test("smallDetector: outputs as many boxes as its priors, the same weights for the same seed", async () => {
  const a = await smallDetector({} as never, { seed: 3 });
  const b = await smallDetector({} as never, { seed: 3 });
  assert.equal(a.priors.length / 4, numPriors(SMALL_PRIORS));
  assert.deepEqual(a.model.outputs.map((o) => o.shape), [[null, 160, 3], [null, 160, 4]]);
  const wa = a.model.getWeights().map((w) => w.dataSync()[0]);
  const wb = b.model.getWeights().map((w) => w.dataSync()[0]);
  assert.deepEqual(wa, wb);
  a.model.dispose();
  b.model.dispose();
});
