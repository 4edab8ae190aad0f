import assert from "node:assert/strict";
import { CLASS_NAMES, classIdOf, NUM_CLASSES, OBJECT_CLASSES } from "./types.ts";

Deno.test("class table: ids, aliases of the paper and of other copies, unknown names", () => {
  assert.equal(NUM_CLASSES, 3);
  assert.deepEqual([...OBJECT_CLASSES], ["face_mask", "face"]);
  assert.equal(CLASS_NAMES[classIdOf("face_mask")!], "face_mask");
  assert.equal(classIdOf("mask"), 1);
  assert.equal(classIdOf(" Unmask "), 2);
  assert.equal(classIdOf("face"), 2);
  assert.equal(classIdOf("NoMask"), 2);
  assert.equal(classIdOf("helmet"), undefined);
});
