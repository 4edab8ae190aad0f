import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type Checkpoint, loadCheckpoint, readCheckpointIndex, saveCheckpoint } from "./checkpoint.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

function checkpointAt(epoch: number, value: number): Checkpoint {
  return {
    weights: [{ name: "w", shape: [2], data: new Float32Array([value, -value]) }],
    optimizer: { iterations: epoch * 10, buffers: [{ name: "w", shape: [2], data: new Float32Array([epoch, 0]) }] },
    state: { epoch, step: epoch * 10, rngState: 1000 + epoch, bestMetric: null, bestEpoch: null },
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("saveCheckpoint: keeps last and best, prunes the rest, loads back exactly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(dir, checkpointAt(1, 1), { isBest: true, metric: 0.2 });
    await saveCheckpoint(dir, checkpointAt(2, 2), { isBest: true, metric: 0.3 });
    await Deno.mkdir(`${dir}/.epoch-0003.dead.tmp`); // what a crash mid-save leaves
    await saveCheckpoint(dir, checkpointAt(3, 3));
    await saveCheckpoint(dir, checkpointAt(4, 4));
    assert.deepEqual(await listDir(dir), ["epoch-0002", "epoch-0004", "index.json"]);
    assert.deepEqual(await readCheckpointIndex(dir), { last: "epoch-0004", best: "epoch-0002", bestMetric: 0.3 });

    const last = await loadCheckpoint(dir);
    assert.ok(last);
    assert.equal(last.state.epoch, 4);
    assert.equal(last.state.rngState, 1004);
    assert.equal(last.optimizer.iterations, 40);
    assert.deepEqual(Array.from(last.optimizer.buffers[0].data), [4, 0]);
    assert.deepEqual(Array.from(last.weights[0].data), [4, -4]);
    const best = await loadCheckpoint(dir, { which: "best" });
    assert.equal(best?.state.epoch, 2);

    // Re-saving an epoch (a resumed run) replaces it.
    await saveCheckpoint(dir, checkpointAt(4, 9));
    assert.deepEqual(Array.from((await loadCheckpoint(dir))!.weights[0].data), [9, -9]);
    assert.equal(await loadCheckpoint(`${dir}/none`), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
