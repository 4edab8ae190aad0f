import assert from "node:assert/strict";
import sharp from "sharp";
import { cacheBytesFromEnv, DecodedImageCache, defaultCacheBytes } from "./image_cache.ts";
import { loadImage } from "./image.ts";
import { batches } from "./loader.ts";
import { scanSplit } from "./dataset.ts";
import { generateDataset } from "./generate.ts";
import { DataError } from "./problems.ts";
import { Rng } from "../util/rng.ts";

/** A noisy w x h image with `channels` channels, so that resizing has real work and every byte can differ. */
function noise(w: number, h: number, channels: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const px = new Uint8Array(w * h * channels);
  for (let i = 0; i < px.length; i++) px[i] = Math.floor(rng.next() * 256);
  return px;
}

async function withTmp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "image_cache_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CROPS = [undefined, { x: 3, y: 5, w: 150, h: 101 }, { x: 0, y: 0, w: 37, h: 29 }];

/** loadImage from the file and from the cache, for each crop, flipped and not: the bytes must be the same. */
async function assertSameBytes(cache: DecodedImageCache, path: string) {
  const decoded = await cache.get(path);
  assert.ok(decoded, `${path} was not kept`);
  for (const crop of CROPS) {
    for (const flip of [false, true]) {
      const fromFile = await loadImage(path, { crop, flip });
      const fromCache = await loadImage(decoded, { crop, flip });
      assert.ok(Buffer.compare(fromFile, fromCache) === 0, `${path} crop ${JSON.stringify(crop)} flip ${flip}`);
    }
  }
}

Deno.test("DecodedImageCache: JPEG, PNG under a .jpg name, grey and RGBA give the bytes the file gives", async () => {
  await withTmp(async (dir) => {
    const files = [
      { name: "rgb.jpg", channels: 3 as const, write: (s: sharp.Sharp) => s.jpeg({ quality: 90 }) },
      { name: "png_named.jpg", channels: 3 as const, write: (s: sharp.Sharp) => s.png() },
      { name: "grey.jpg", channels: 1 as const, write: (s: sharp.Sharp) => s.toColourspace("b-w").jpeg() },
      { name: "rgba.png", channels: 4 as const, write: (s: sharp.Sharp) => s.png() },
    ];
    const cache = new DecodedImageCache(64 * 1024 * 1024);
    for (const [i, f] of files.entries()) {
      const raw = sharp(noise(211, 157, f.channels, i + 1), { raw: { width: 211, height: 157, channels: f.channels } });
      await f.write(raw).toFile(`${dir}/${f.name}`);
      await assertSameBytes(cache, `${dir}/${f.name}`);
    }
    const stats = await cache.stats();
    assert.equal(stats.images, 4);
    // Grey comes out of sharp as RGB.
    assert.equal(stats.bytes, 211 * 157 * (3 + 3 + 3 + 4));
    // One miss per file; every later lookup of the file was a hit.
    assert.deepEqual([stats.misses, stats.hits, stats.passed], [4, 0, 0]);
    await cache.get(`${dir}/rgb.jpg`);
    assert.equal((await cache.stats()).hits, 1);
  });
});

Deno.test("DecodedImageCache: CMYK and profiled images are not kept; broken files are left to loadImage", async () => {
  await withTmp(async (dir) => {
    const img = () => sharp(noise(64, 48, 3, 9), { raw: { width: 64, height: 48, channels: 3 } });
    await img().toColourspace("cmyk").jpeg().toFile(`${dir}/cmyk.jpg`);
    await img().withIccProfile("p3").jpeg().toFile(`${dir}/p3.jpg`);
    await Deno.writeTextFile(`${dir}/broken.jpg`, "not an image");
    const cache = new DecodedImageCache(1024 * 1024);
    assert.equal(await cache.get(`${dir}/cmyk.jpg`), null);
    assert.equal(await cache.get(`${dir}/p3.jpg`), null);
    assert.equal(await cache.get(`${dir}/broken.jpg`), null);
    await assert.rejects(
      () => loadImage(`${dir}/broken.jpg`),
      (e) => e instanceof DataError && /broken\.jpg/.test(e.file),
    );
    // Not kept is remembered (no second metadata read); a broken file is asked about again.
    await cache.get(`${dir}/cmyk.jpg`);
    await cache.get(`${dir}/broken.jpg`);
    const s = await cache.stats();
    assert.deepEqual([s.images, s.bytes, s.hits, s.misses, s.passed], [0, 0, 1, 4, 4]);
  });
});

Deno.test("DecodedImageCache: keeps images until maxBytes, then passes the rest; 0 keeps nothing", async () => {
  await withTmp(async (dir) => {
    for (const i of [0, 1, 2]) {
      await sharp(noise(40, 30, 3, i), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(`${dir}/${i}.png`);
    }
    const cache = new DecodedImageCache(2 * 40 * 30 * 3);
    for (const i of [0, 1, 2]) await cache.get(`${dir}/${i}.png`);
    assert.ok(await cache.get(`${dir}/0.png`));
    assert.equal(await cache.get(`${dir}/2.png`), null);
    const s = await cache.stats();
    assert.deepEqual([s.images, s.bytes], [2, 2 * 40 * 30 * 3]);
    const none = new DecodedImageCache(0);
    assert.equal(await none.get(`${dir}/0.png`), null);
    assert.throws(() => new DecodedImageCache(-1), /maxBytes/);
  });
});

Deno.test("batches with a cache: the same augmented batches, epoch after epoch, the second epoch from memory", async () => {
  await withTmp(async (dir) => {
    await generateDataset(dir, { seed: 5, train: 10, val: 0 });
    const records = (await scanSplit(dir, "train")).records;
    const cache = new DecodedImageCache(256 * 1024 * 1024);
    const pass = async (seed: number, c?: DecodedImageCache) => {
      const out: Float32Array[] = [];
      for await (
        const b of batches(records, { batchSize: 4, shuffle: true, augment: true, rng: new Rng(seed), cache: c })
      ) {
        out.push(b.images);
      }
      return out;
    };
    for (const seed of [1, 2]) {
      const plain = await pass(seed);
      const cached = await pass(seed, cache);
      assert.equal(cached.length, plain.length);
      cached.forEach((x, i) => assert.deepEqual(x, plain[i], `seed ${seed} batch ${i}`));
    }
    const s = await cache.stats();
    assert.equal(s.images, records.length);
    assert.equal(s.hits, records.length);
    const warmed = new DecodedImageCache(256 * 1024 * 1024);
    assert.equal(await warmed.warm(records.map((r) => r.imagePath), 3), records.length);
    assert.equal((await warmed.stats()).bytes, s.bytes);
  });
});

Deno.test({
  name: "DecodedImageCache on the real data: the bytes the files give, for 60 training images",
  ignore: !Deno.env.get("FACEMASK_DATA"),
  fn: async () => {
    const records = (await scanSplit(Deno.env.get("FACEMASK_DATA")!, "train")).records.slice(0, 60);
    const cache = new DecodedImageCache(512 * 1024 * 1024);
    let kept = 0;
    for (const r of records) {
      const d = await cache.get(r.imagePath);
      if (!d) continue;
      kept++;
      const crop = { x: 1, y: 2, w: Math.floor(d.width * 0.6), h: Math.floor(d.height * 0.7) };
      for (const c of [undefined, crop]) {
        const a = await loadImage(r.imagePath, { crop: c, flip: true });
        const b = await loadImage(d, { crop: c, flip: true });
        assert.ok(Buffer.compare(a, b) === 0, `${r.imagePath} crop ${JSON.stringify(c)}`);
      }
    }
    assert.ok(kept >= 50, `only ${kept} of 60 kept`);
  },
});

Deno.test("cache size: FACEMASK_DECODE_CACHE_MB in megabytes (0 = off), else a quarter of memory up to 4 GiB", () => {
  const env = (v: string | undefined) => (n: string) => n === "FACEMASK_DECODE_CACHE_MB" ? v : undefined;
  assert.equal(cacheBytesFromEnv(env("0")), 0);
  assert.equal(cacheBytesFromEnv(env("1.5")), 1.5 * 1024 * 1024);
  assert.equal(cacheBytesFromEnv(env(undefined), () => 7), 7);
  assert.throws(() => cacheBytesFromEnv(env("lots")), /FACEMASK_DECODE_CACHE_MB .*"lots"/);
  assert.throws(() => cacheBytesFromEnv(env("-1")), /FACEMASK_DECODE_CACHE_MB/);
  assert.equal(defaultCacheBytes(8 * 1024 ** 3), 2 * 1024 ** 3);
  assert.equal(defaultCacheBytes(64 * 1024 ** 3), 4 * 1024 ** 3);
});
