import assert from "node:assert/strict";
import { type FusedBlocks, fusedBlocksFor, setFusedBlocks } from "./fused.ts";

Deno.test("fused registry: used only on the backend it was registered for, and removable", () => {
  const impl = { backendName: "native" } as unknown as FusedBlocks;
  assert.equal(fusedBlocksFor("native"), null);
  setFusedBlocks(impl);
  assert.equal(fusedBlocksFor("native"), impl);
  assert.equal(fusedBlocksFor("wasm"), null);
  setFusedBlocks(null);
  assert.equal(fusedBlocksFor("native"), null);
});
