import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { scanSplit } from "./dataset.ts";
import { generateDataset } from "./generate.ts";
import { loadImage, normalize } from "./image.ts";
import { type Batch, batches } from "./loader.ts";

const REAL = Deno.env.get("FACEMASK_DATA");
const PIXELS = 240 * 320 * 3;

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const dir = await Deno.makeTempDir({ prefix: "data_loader_" });
await generateDataset(dir, { seed: 5, train: 7, val: 0 });
const { records } = await scanSplit(dir, "train");
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

Deno.test("without shuffle or augmentation, batches hold the records in order, resized and normalised", async () => {
  const out = await collect(batches(records, { batchSize: 3, shuffle: false, augment: false, rng: new Rng(1) }));
  assert.deepEqual(out.map((b) => b.ids.length), [3, 3, 1]);
  assert.deepEqual(out.flatMap((b) => b.ids), records.map((r) => r.id));
  assert.equal(out[0].images.length, 3 * PIXELS);
  const expected = normalize(await loadImage(records[1].imagePath));
  assert.deepEqual(out[0].images.subarray(PIXELS, 2 * PIXELS), expected);
  assert.deepEqual(out[0].boxes[1], records[1].boxes);
  assert.deepEqual(out[0].labels[1], records[1].labels);
  assert.deepEqual(out[0].sizes[1], [records[1].height, records[1].width]);
  const dropped = await collect(
    batches(records, { batchSize: 3, shuffle: false, augment: false, rng: new Rng(1), dropLast: true }),
  );
  assert.deepEqual(dropped.map((b) => b.ids.length), [3, 3]);
});

Deno.test("shuffled, augmented batches depend only on the seed, not on how far ahead decoding runs", async () => {
  const run = (seed: number, prefetch: number) =>
    collect(batches(records, { batchSize: 2, shuffle: true, augment: true, rng: new Rng(seed), prefetch }));
  const a = await run(11, 1);
  const b = await run(11, 4);
  assert.deepEqual(a.map((x) => x.ids), b.map((x) => x.ids));
  assert.deepEqual(a.map((x) => x.boxes), b.map((x) => x.boxes));
  for (let k = 0; k < a.length; k++) assert.deepEqual(a[k].images, b[k].images);
  const c = await run(12, 2);
  assert.notDeepEqual(a.map((x) => x.ids), c.map((x) => x.ids));
  assert.deepEqual(a.flatMap((x) => x.ids).sort(), records.map((r) => r.id).sort());
  for (const batch of a) {
    for (const v of batch.images) assert.ok(v >= -0.5 && v <= 0.5);
  }
});

Deno.test("a sample that fails to load is skipped, recorded and replaced by the next one", async () => {
  const broken = await Deno.makeTempFile({ dir, suffix: ".jpg" });
  await Deno.writeTextFile(broken, "not an image");
  const bad = { ...records[0], id: "broken", imagePath: broken };
  const seen: string[] = [];
  const it = batches([records[0], bad, records[1], records[2]], {
    batchSize: 2,
    shuffle: false,
    augment: false,
    rng: new Rng(1),
    onSkip: (s) => seen.push(s.id),
  });
  const out = await collect(it);
  assert.deepEqual(out.map((b) => b.ids), [[records[0].id, records[1].id], [records[2].id]]);
  assert.deepEqual(seen, ["broken"]);
  assert.equal(it.skipped.length, 1);
  assert.equal(it.skipped[0].file, broken);
  assert.match(it.skipped[0].problem, /not an image/);
});

Deno.test({
  name: "real data: 64 augmented samples load in batches of 16",
  ignore: !REAL,
  fn: async () => {
    const real = (await scanSplit(REAL!, "val")).records.slice(0, 64);
    const it = batches(real, { batchSize: 16, shuffle: true, augment: true, rng: new Rng(3), prefetch: 2 });
    const out = await collect(it);
    assert.equal(out.length, 4);
    assert.equal(it.skipped.length, 0);
    for (const b of out) {
      assert.equal(b.images.length, 16 * PIXELS);
      for (const bx of b.boxes.flat()) assert.ok(bx[0] >= 0 && bx[2] <= 1 && bx[0] < bx[2] && bx[1] < bx[3]);
    }
  },
});
