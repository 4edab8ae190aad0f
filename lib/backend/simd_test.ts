import assert from "node:assert/strict";
import { maccModuleBytes, maccRowsFor } from "./simd.ts";

function setup(floats: number) {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((floats * 4) / 65536) + 1 });
  const macc = maccRowsFor(memory);
  assert.ok(macc, "SIMD module should instantiate in Deno");
  return { memory, macc, f32: new Float32Array(memory.buffer) };
}

Deno.test("maccModuleBytes is a valid WebAssembly module", () => {
  assert.equal(WebAssembly.validate(maccModuleBytes() as Uint8Array<ArrayBuffer>), true);
});

Deno.test("maccRows: per-row products, SIMD part and scalar tail (7 channels)", () => {
  const { macc, f32 } = setup(1000);
  // a at float 0 (rows of stride 8), b at 100 (stride 7), o at 200 (stride 9); 3 rows of 7 channels.
  for (let i = 0; i < 3; i++) {
    for (let c = 0; c < 7; c++) {
      f32[i * 8 + c] = i + 1;
      f32[100 + i * 7 + c] = c - 2;
      f32[200 + i * 9 + c] = 10;
    }
    f32[200 + i * 9 + 7] = -99; // just past the row: must stay untouched
  }
  macc(0, 32, 400, 28, 800, 36, 3, 7);
  for (let i = 0; i < 3; i++) {
    for (let c = 0; c < 7; c++) assert.equal(f32[200 + i * 9 + c], 10 + (i + 1) * (c - 2));
    assert.equal(f32[200 + i * 9 + 7], -99);
  }
});

Deno.test("maccRows: stride 0 on the output accumulates a dot product per channel", () => {
  const { macc, f32 } = setup(1000);
  // 5 rows x 6 channels; a[i][c] = i + c, b[i][c] = 2; sum_i (i + c) * 2 = 2 * (10 + 5c).
  for (let i = 0; i < 5; i++) for (let c = 0; c < 6; c++) (f32[i * 6 + c] = i + c), (f32[100 + i * 6 + c] = 2);
  f32.fill(0, 300, 306);
  macc(0, 24, 400, 24, 1200, 0, 5, 6);
  for (let c = 0; c < 6; c++) assert.equal(f32[300 + c], 2 * (10 + 5 * c));
});

Deno.test("maccRows: stride 0 on a broadcasts one weight vector; zero rows is a no-op", () => {
  const { macc, f32 } = setup(1000);
  for (let c = 0; c < 4; c++) f32[c] = c + 1; // weights
  for (let i = 0; i < 2; i++) for (let c = 0; c < 4; c++) (f32[100 + i * 4 + c] = 3), (f32[200 + i * 8 + c] = 0);
  macc(0, 0, 400, 16, 800, 32, 2, 4);
  assert.deepEqual([...f32.subarray(200, 204)], [3, 6, 9, 12]);
  assert.deepEqual([...f32.subarray(208, 212)], [3, 6, 9, 12]);
  macc(0, 0, 400, 16, 800, 32, 0, 4);
  assert.deepEqual([...f32.subarray(200, 204)], [3, 6, 9, 12]);
});

Deno.test("maccRowsFor: one instance per memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  assert.equal(maccRowsFor(memory), maccRowsFor(memory));
});
