import assert from "node:assert/strict";
import { main } from "./data_generate.ts";
import { main as check } from "./data_check.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

Deno.test("data:generate writes a set that data:check accepts, and reports what it wrote", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_gen_" });
  try {
    const g = capture();
    assert.equal(await main(["--out", dir, "--seed", "4", "--train", "3", "--val", "2"], g.io), 0);
    assert.match(g.out[0], /^wrote GENERATED data to .* \(seed 4\)/);
    assert.match(g.out[1], /^train: 3 images, \d+ face, \d+ face_mask boxes$/);
    const names = [];
    for await (const e of Deno.readDir(`${dir}/train`)) names.push(e.name);
    assert.equal(names.length, 6);
    const c = capture();
    assert.equal(await check(["--data", dir], c.io), 0, c.out.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data:generate: --help exits 0; a missing --out or a bad count exits 2", async () => {
  const h = capture();
  assert.equal(await main(["--help"], h.io), 0);
  assert.match(h.out[0], /^Usage: deno task data:generate/);
  const a = capture();
  assert.equal(await main([], a.io), 2);
  assert.match(a.err[0], /--out DIR is required/);
  const b = capture();
  assert.equal(await main(["--out", "/tmp/x", "--train", "2.5"], b.io), 2);
  assert.match(b.err[0], /--train must be a whole number >= 0, got '2.5'/);
});
