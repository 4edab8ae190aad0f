import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { TFJS_QUIET } from "./quiet_tfjs.ts";

Deno.test("quiet_tfjs sets tfjs's PROD flag, which mutes its registration warnings", () => {
  assert.equal(TFJS_QUIET, true);
  assert.equal(tf.env().getBool("PROD"), true);
  // A duplicate registration would warn without the flag; with it, console.warn stays silent.
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    const config = tf.getKernel("Abs", "cpu");
    assert.ok(config, "the cpu kernel Abs is registered by @tensorflow/tfjs");
    tf.registerKernel(config);
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warnings, []);
});
