import assert from "node:assert/strict";
import { addonBuilt, loadAddon } from "./addon.ts";
import { createNativePreparer, nativeBatchPreparer, packJobs } from "./prep.ts";
import { applyPhotometric, NO_PHOTOMETRIC, type PhotometricParams, planAugment } from "../../data/augment.ts";
import { type CropRect, loadImage, normalize } from "../../data/image.ts";
import { type DecodedImage, DecodedImageCache } from "../../data/image_cache.ts";
import { batches, type PrepareJob } from "../../data/loader.ts";
import { scanSplit } from "../../data/dataset.ts";
import { generateDataset } from "../../data/generate.ts";
import { Rng } from "../../util/rng.ts";

const ignore = !addonBuilt();
if (ignore) console.warn("native addon not built: native preparation tests are skipped (run `deno task build:native`)");

const W = 320, H = 240, PIXELS = W * H * 3;

/** A w x h image of uniform noise: every resize tap and every hue sextant is exercised, so any slip shows. */
function noise(
  w: number,
  h: number,
  channels: 1 | 3,
  seed: number,
  path = `noise-${w}x${h}x${channels}`,
): DecodedImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(w * h * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.next() * 256);
  return { path, data, width: w, height: h, channels };
}

/** What the loader's sharp path gives: loadImage (crop, resize, flip), then the photometric change, then floats. */
async function viaSharp(job: Omit<PrepareJob, "slot">): Promise<{ bytes: Uint8Array; floats: Float32Array }> {
  const rgb = await loadImage(job.image, { crop: job.crop ?? undefined, flip: job.flip });
  const bytes = applyPhotometric(rgb, job.photometric);
  return { bytes, floats: normalize(bytes) };
}

function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  let n = 0, first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      n++;
      if (first < 0) first = i;
    }
  }
  return n === 0 ? null : `${n} values differ, first at ${first}: ${a[first]} vs ${b[first]}`;
}

/** Prepares `jobs` natively (slots in order) and checks every byte and float against sharp's path. */
async function assertSameAsSharp(jobs: Omit<PrepareJob, "slot">[], what: string): Promise<void> {
  const addon = loadAddon();
  const bytes = new Uint8Array(jobs.length * PIXELS);
  const floats = new Float32Array(jobs.length * PIXELS);
  const { images, geometry, photometric } = packJobs(jobs.map((j, slot) => ({ ...j, slot })));
  addon.prepareBatch(images, geometry, photometric, W, H, floats, bytes);
  for (let k = 0; k < jobs.length; k++) {
    const want = await viaSharp(jobs[k]);
    const j = jobs[k];
    const label = `${what}: ${j.image.path} ${j.image.width}x${j.image.height}x${j.image.channels} crop ` +
      `${JSON.stringify(j.crop)} flip ${j.flip} ${JSON.stringify(j.photometric)}`;
    const got = bytes.subarray(k * PIXELS, (k + 1) * PIXELS);
    assert.equal(firstDifference(got, want.bytes), null, `bytes, ${label}`);
    assert.equal(firstDifference(floats.subarray(k * PIXELS, (k + 1) * PIXELS), want.floats), null, `floats, ${label}`);
  }
}

const PHOTOMETRIC: PhotometricParams[] = [
  { ...NO_PHOTOMETRIC },
  { brightness: -31.7, contrast: 1, saturation: 1, hue: 0 },
  { brightness: 12.25, contrast: 1.43, saturation: 1, hue: 0 },
  { brightness: 0, contrast: 1, saturation: 0.52, hue: 0 },
  { brightness: 0, contrast: 1, saturation: 1, hue: -17.9 },
  { brightness: 30.1, contrast: 0.61, saturation: 1.49, hue: 11.3 },
];

Deno.test({
  name: "native prep: every resize path (box pre-shrink, lanczos3 reduce, bicubic upsize, mixed, none) as sharp",
  ignore,
  async fn() {
    // [source w, h, crop]: reduce on both axes with and without the integer pre-shrink (ratio >= 4), upsizing on
    // both, one axis up and the other down (both ways), the exact size, odd sizes and a 1-pixel-wide crop.
    const cases: [number, number, CropRect | null][] = [
      [640, 480, null],
      [1400, 1010, null],
      [1301, 977, { x: 17, y: 3, w: 1280, h: 960 }],
      [500, 400, { x: 40, y: 31, w: 101, h: 77 }],
      [97, 61, null],
      [500, 200, null],
      [250, 500, null],
      [600, 400, { x: 100, y: 20, w: 300, h: 300 }],
      [320, 240, null],
      [333, 251, { x: 5, y: 9, w: 320, h: 240 }],
      [41, 300, { x: 20, y: 0, w: 1, h: 300 }],
      [7, 5, null],
    ];
    const jobs = cases.map(([w, h, crop], k) => ({
      image: noise(w, h, 3, 100 + k),
      crop,
      flip: k % 2 === 1,
      photometric: PHOTOMETRIC[k % PHOTOMETRIC.length],
    }));
    await assertSameAsSharp(jobs, "resize paths");
  },
});

Deno.test({
  name: "native prep: grey images, seeded plans, every photometric part (AVX2 and scalar) as sharp + applyPhotometric",
  ignore,
  async fn() {
    const rng = new Rng(3);
    const jobs: Omit<PrepareJob, "slot">[] = [];
    for (let k = 0; k < 24; k++) {
      const w = 120 + Math.floor(rng.next() * 520), h = 90 + Math.floor(rng.next() * 400);
      const image = noise(w, h, k % 4 === 0 ? 1 : 3, 200 + k);
      const plan = planAugment(
        { width: w, height: h, boxes: [[0.2, 0.3, 0.6, 0.7]], labels: [1], difficult: [false] },
        rng.fork(),
      );
      jobs.push({ image, crop: plan.crop, flip: plan.flip, photometric: plan.photometric });
    }
    for (const [k, p] of PHOTOMETRIC.entries()) {
      jobs.push({ image: noise(200, 150, k % 2 === 0 ? 1 : 3, 300 + k), crop: null, flip: false, photometric: p });
    }
    // The photometric step's AVX2 form (where the CPU has it) and its scalar form, each against sharp's path.
    const addon = loadAddon();
    const before = addon.setPrepVector(true);
    try {
      await assertSameAsSharp(jobs, "plans, vector photometric");
      addon.setPrepVector(false);
      await assertSameAsSharp(jobs, "plans, scalar photometric");
    } finally {
      addon.setPrepVector(before);
    }
  },
});

Deno.test({
  name: "native prep: real training images with seeded plans give sharp's bytes (FACEMASK_DATA)",
  ignore: ignore || !Deno.env.get("FACEMASK_DATA"),
  async fn() {
    const records = (await scanSplit(Deno.env.get("FACEMASK_DATA")!, "train")).records.slice(0, 40);
    const cache = new DecodedImageCache(2 ** 30);
    const rng = new Rng(11);
    const jobs: Omit<PrepareJob, "slot">[] = [];
    for (const r of records) {
      const image = await cache.get(r.imagePath);
      assert.ok(image, `${r.imagePath} is kept decoded`);
      for (let rep = 0; rep < 2; rep++) {
        const plan = planAugment(r, rng.fork());
        jobs.push({ image, crop: plan.crop, flip: plan.flip, photometric: plan.photometric });
      }
    }
    await assertSameAsSharp(jobs, "real images");
  },
});

Deno.test({
  name: "native prep: batches() with the native preparer yields the same batches as with sharp alone",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "native_prep_" });
    try {
      await generateDataset(dir, { seed: 4, train: 13, val: 0 });
      const train = (await scanSplit(dir, "train")).records;
      const run = async (withNative: boolean) => {
        const out = [];
        const cache = new DecodedImageCache(2 ** 28);
        const it = batches(train, {
          batchSize: 4,
          shuffle: true,
          augment: true,
          rng: new Rng(9),
          cache,
          prepare: withNative ? createNativePreparer(loadAddon()) : undefined,
        });
        for await (const b of it) out.push(b);
        return { out, stats: await cache.stats() };
      };
      const a = await run(false), b = await run(true);
      assert.equal(b.stats.images, train.length, "every generated image is kept decoded, so the native path ran");
      assert.equal(a.out.length, b.out.length);
      a.out.forEach((x, k) => {
        assert.deepEqual(b.out[k].ids, x.ids);
        assert.deepEqual(b.out[k].boxes, x.boxes);
        assert.equal(firstDifference(b.out[k].images, x.images), null, `batch ${k}`);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "native prep: bad jobs are errors that name the file, the slot or the crop",
  ignore,
  fn() {
    const prep = createNativePreparer(loadAddon());
    const out = new Float32Array(2 * PIXELS);
    const img = noise(50, 40, 3, 1, "photos/a.jpg");
    const job = (over: Partial<PrepareJob>): PrepareJob => ({
      image: img,
      crop: null,
      flip: false,
      photometric: { ...NO_PHOTOMETRIC },
      slot: 0,
      ...over,
    });
    assert.throws(
      () => prep.prepare([job({ crop: { x: 30, y: 0, w: 30, h: 30 } })], out, { width: W, height: H }),
      /native preparation of photos\/a\.jpg failed: .*crop 30,0 30x30 lies outside the 50x40 image/,
    );
    assert.throws(() => prep.prepare([job({ slot: 2 })], out, { width: W, height: H }), /photos\/a\.jpg.*slot 2/);
    assert.throws(() => prep.prepare([job({}), job({})], out, { width: W, height: H }), /slot 0 is taken twice/);
    const short = { ...img, data: img.data.subarray(0, 100) };
    assert.throws(() => prep.prepare([job({ image: short })], out, { width: W, height: H }), /bytes do not hold/);
    assert.equal(prep.accepts({ ...img, channels: 4 }), false, "RGBA goes to sharp, which flattens it");
    assert.equal(prep.accepts(img), true);
    // Slot 1 filled, slot 0 untouched: the loader mixes prepared and sharp-decoded samples in one batch.
    out.fill(7);
    prep.prepare([job({ slot: 1 })], out, { width: W, height: H });
    assert.equal(out[0], 7);
    assert.notEqual(out[PIXELS], 7);
  },
});

Deno.test({
  name: "native prep: FACEMASK_NATIVE_PREP=0 turns it off, a stray value is an error naming the variable",
  ignore,
  fn() {
    assert.equal(nativeBatchPreparer((n) => (n === "FACEMASK_NATIVE_PREP" ? "0" : undefined)), null);
    assert.equal(nativeBatchPreparer(() => undefined)?.name, "native");
    assert.equal(nativeBatchPreparer(() => "1")?.name, "native");
    assert.throws(() => nativeBatchPreparer(() => "yes"), /FACEMASK_NATIVE_PREP must be 0 \(sharp\) or 1/);
  },
});
