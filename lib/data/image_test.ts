import assert from "node:assert/strict";
import sharp from "sharp";
import { imageInfo, loadImage, normalize } from "./image.ts";
import { DataError } from "./problems.ts";

/** A w x h RGB image whose pixel (x, y) is (x, y, 7): every position is recognisable after a transform. */
function ramp(w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) px.set([x, y, 7], (y * w + x) * 3);
  }
  return px;
}

async function withTmp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "data_image_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadImage decodes by content: a PNG named .jpg, RGBA flattened on black, grey to RGB", async () => {
  await withTmp(async (dir) => {
    const png = `${dir}/png_named.jpg`;
    await sharp(ramp(64, 48), { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(png);
    assert.equal((await imageInfo(png)).format, "png");
    // Same size as the source, so a resize is the identity: pixels come back exactly.
    const same = await loadImage(png, { width: 64, height: 48 });
    assert.deepEqual(Array.from(same.subarray(((10 * 64) + 20) * 3, ((10 * 64) + 20) * 3 + 3)), [20, 10, 7]);

    // RGBA: alpha 0 over red must flatten to black, alpha 255 keeps the colour.
    const rgba = new Uint8Array(2 * 1 * 4);
    rgba.set([255, 0, 0, 0, 0, 255, 0, 255]);
    const rgbaFile = `${dir}/rgba.jpg`;
    await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(rgbaFile);
    assert.equal((await imageInfo(rgbaFile)).hasAlpha, true);
    assert.deepEqual(Array.from(await loadImage(rgbaFile, { width: 2, height: 1 })), [0, 0, 0, 0, 255, 0]);

    const grey = `${dir}/grey.png`;
    await sharp(new Uint8Array([10, 200]), { raw: { width: 2, height: 1, channels: 1 } }).png().toFile(grey);
    assert.deepEqual(Array.from(await loadImage(grey, { width: 2, height: 1 })), [10, 10, 10, 200, 200, 200]);
  });
});

Deno.test("loadImage defaults to the 240x320 model input", async () => {
  const png = await sharp(ramp(100, 80), { raw: { width: 100, height: 80, channels: 3 } }).png().toBuffer();
  assert.equal((await loadImage(png)).length, 240 * 320 * 3);
});

Deno.test("loadImage crops, then flips: pixels land where the geometry says", async () => {
  const png = await sharp(ramp(64, 48), { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer();
  // Crop 16x8 at (30, 5), no resize: output (0,0) is source (30,5); flipped, output (0,0) is source (45,5).
  const crop = { x: 30, y: 5, w: 16, h: 8 };
  const a = await loadImage(png, { crop, width: 16, height: 8 });
  assert.deepEqual(Array.from(a.subarray(0, 3)), [30, 5, 7]);
  assert.deepEqual(Array.from(a.subarray((7 * 16 + 15) * 3, (7 * 16 + 15) * 3 + 3)), [45, 12, 7]);
  const f = await loadImage(png, { crop, flip: true, width: 16, height: 8 });
  assert.deepEqual(Array.from(f.subarray(0, 3)), [45, 5, 7]);
  // Resize x2 after the crop: the source's first column (red 0) stays at the left edge, its last (63) at the right.
  const up = await loadImage(png, { crop: { x: 0, y: 0, w: 64, h: 48 }, width: 128, height: 96 });
  assert.equal(up.length, 128 * 96 * 3);
  assert.ok(up[0] <= 1 && up[127 * 3] >= 62, `edges ${up[0]} ${up[127 * 3]}`);
});

Deno.test("a crop outside the image is an error naming the file", async () => {
  await withTmp(async (dir) => {
    const file = `${dir}/x.png`;
    await sharp(ramp(8, 8), { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(file);
    await assert.rejects(loadImage(file, { crop: { x: 4, y: 0, w: 8, h: 8 } }), (e: unknown) => {
      return e instanceof DataError && e.file === file && /outside the image/.test(e.problem);
    });
  });
});

Deno.test("a non-image file, a truncated JPEG and a missing file are errors naming the file", async () => {
  await withTmp(async (dir) => {
    const text = `${dir}/notes.jpg`;
    await Deno.writeTextFile(text, "this is not an image");
    await assert.rejects(
      imageInfo(text),
      (e: unknown) => e instanceof DataError && e.message === `${text}: not an image (unknown format)`,
    );
    await assert.rejects(loadImage(text), /notes\.jpg: not an image/);

    const jpg = await sharp(ramp(200, 150), { raw: { width: 200, height: 150, channels: 3 } }).jpeg().toBuffer();
    const cut = `${dir}/cut.jpg`;
    await Deno.writeFile(cut, jpg.subarray(0, Math.floor(jpg.length / 2)));
    // The header survives truncation, so only a full decode finds it.
    assert.equal((await imageInfo(cut)).width, 200);
    await assert.rejects(imageInfo(cut, { verify: true }), /cut\.jpg: corrupt or truncated image/);
    await assert.rejects(loadImage(cut), /cut\.jpg: corrupt or truncated image/);

    await assert.rejects(imageInfo(`${dir}/none.jpg`), /none\.jpg: /);
  });
});

Deno.test("normalize maps 0 -> -0.5, 255 -> 0.5, 51 -> -0.3", () => {
  const out = normalize(new Uint8Array([0, 255, 51]));
  assert.equal(out[0], -0.5);
  assert.equal(out[1], 0.5);
  assert.ok(Math.abs(out[2] - -0.3) < 1e-7);
  const dst = new Float32Array(5);
  normalize(new Uint8Array([255]), dst.subarray(2));
  assert.deepEqual(Array.from(dst), [0, 0, 0.5, 0, 0]);
});
