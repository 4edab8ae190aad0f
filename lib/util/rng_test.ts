import assert from "node:assert/strict";
import { Rng } from "./rng.ts";

Deno.test("Rng: same seed gives the same stream, other seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.next());
  const sb = Array.from({ length: 20 }, () => b.next());
  const sc = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const v of sa) assert.ok(v >= 0 && v < 1);
});

Deno.test("Rng: saving and restoring state resumes the stream exactly", () => {
  const a = new Rng(7);
  for (let i = 0; i < 5; i++) a.next();
  const saved = a.state;
  const tail = Array.from({ length: 10 }, () => a.next());
  const b = new Rng(0);
  b.state = saved;
  assert.deepEqual(Array.from({ length: 10 }, () => b.next()), tail);
});

Deno.test("Rng: int covers its inclusive range roughly uniformly; shuffle is a permutation", () => {
  const r = new Rng(1);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[r.int(0, 3)]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `counts ${counts}`);
  const xs = Array.from({ length: 50 }, (_, i) => i);
  const ys = r.shuffle([...xs]);
  assert.notDeepEqual(ys, xs);
  assert.deepEqual([...ys].sort((p, q) => p - q), xs);
});

Deno.test("Rng: rejects a non-finite seed", () => {
  assert.throws(() => new Rng(NaN), /seed/);
});
