import assert from "node:assert/strict";
import * as api from "./mod.ts";

Deno.test("lib/mod.ts: a small public surface (at most 40 runtime names), each one defined", () => {
  const names = Object.keys(api).sort();
  assert.ok(names.length <= 40, `${names.length} names: ${names.join(", ")}`);
  for (const n of names) assert.notEqual((api as Record<string, unknown>)[n], undefined, n);
  // The entry points a user reaches for first.
  for (const n of ["loadDetector", "runExperiment", "evaluateRunOn", "readRunConfig", "reproduceTable2"]) {
    assert.equal(typeof (api as Record<string, unknown>)[n], "function", n);
  }
});
