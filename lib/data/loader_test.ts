import assert from "node:assert/strict";
import { Rng } from "../util/rng.ts";
import { scanSplit } from "./dataset.ts";
import { generateDataset } from "./generate.ts";
import { loadImage, normalize } from "./image.ts";
import { type Batch, batches, type BatchPreparer } from "./loader.ts";
import { DecodedImageCache } from "./image_cache.ts";

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

Deno.test("a BatchPreparer fills the slots of the cached images it takes; sharp does the rest of the batch", async () => {
  const cache = new DecodedImageCache(2 ** 28);
  const taken = new Set(records.filter((_, i) => i % 2 === 0).map((r) => r.imagePath));
  const calls: number[][] = [];
  const preparer: BatchPreparer = {
    name: "marker",
    accepts: (image) => taken.has(image.path),
    prepare(jobs, out, size) {
      calls.push(jobs.map((j) => j.slot));
      const per = size.width * size.height * 3;
      for (const j of jobs) out.fill(j.slot + 1, j.slot * per, (j.slot + 1) * per);
    },
  };
  const opts = { batchSize: 3, shuffle: true, augment: true, rng: new Rng(4) };
  const plain = await collect(batches(records, { ...opts, rng: new Rng(4) }));
  const mixed = await collect(batches(records, { ...opts, cache, prepare: preparer }));
  assert.deepEqual(mixed.map((b) => b.ids), plain.map((b) => b.ids));
  let prepared = 0;
  mixed.forEach((b, k) => {
    const slots: number[] = [];
    b.ids.forEach((id, slot) => {
      const got = b.images.subarray(slot * PIXELS, (slot + 1) * PIXELS);
      if (taken.has(records.find((r) => r.id === id)!.imagePath)) {
        slots.push(slot);
        assert.ok(got.every((v) => v === slot + 1), `batch ${k} slot ${slot} is the preparer's`);
      } else {
        assert.deepEqual(got, plain[k].images.subarray(slot * PIXELS, (slot + 1) * PIXELS), `batch ${k} slot ${slot}`);
      }
    });
    prepared += slots.length;
    if (slots.length > 0) assert.deepEqual(calls.shift(), slots, `batch ${k}: one call with its prepared slots`);
  });
  assert.equal(prepared, taken.size);
  assert.equal(calls.length, 0);
  // Without a cache there are no decoded pixels to hand over: sharp does everything.
  const uncached = await collect(batches(records, { ...opts, rng: new Rng(4), prepare: preparer }));
  uncached.forEach((b, k) => assert.deepEqual(b.images, plain[k].images));
});
