import assert from "node:assert/strict";
import sharp from "sharp";
import type { Box } from "../types.ts";
import { Rng } from "../util/rng.ts";
import { applyPhotometric, cropBoxes, flipBoxes, NO_PHOTOMETRIC, planAugment } from "./augment.ts";
import { loadImage } from "./image.ts";

Deno.test("cropBoxes keeps boxes whose centre is inside the crop and clips them (worked by hand)", () => {
  // 200x200 image; crop 100x100 at (0, 0). Box 1 in pixels [20,20,60,60], centre (40,40): kept -> [0.2,0.2,0.6,0.6].
  // Box 2 [120,120,180,180], centre (150,150): dropped. Box 3 [80,10,140,30], centre (110,20): dropped.
  // Box 4 [60,70,120,90], centre (90,80): kept, x2 120 -> clipped to 1.
  const boxes: Box[] = [[0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.9, 0.9], [0.4, 0.05, 0.7, 0.15], [0.3, 0.35, 0.6, 0.45]];
  const r = cropBoxes(boxes, { crop: { x: 0, y: 0, w: 100, h: 100 }, width: 200, height: 200 });
  assert.deepEqual(r.keep, [0, 3]);
  const round = (b: Box) => b.map((v) => Math.round(v * 1e9) / 1e9);
  assert.deepEqual(r.boxes.map(round), [[0.2, 0.2, 0.6, 0.6], [0.6, 0.7, 1, 0.9]]);
});

Deno.test("flipBoxes mirrors x: [0.1, 0.2, 0.4, 0.5] -> [0.6, 0.2, 0.9, 0.5]", () => {
  const [b] = flipBoxes([[0.1, 0.2, 0.4, 0.5]]);
  assert.deepEqual(b.map((v) => Math.round(v * 1e9) / 1e9), [0.6, 0.2, 0.9, 0.5]);
});

Deno.test("applyPhotometric: brightness, contrast, hue and saturation worked by hand", () => {
  const px = () => new Uint8Array([100, 50, 200, 255, 0, 0]);
  assert.deepEqual(Array.from(applyPhotometric(px(), NO_PHOTOMETRIC)), [100, 50, 200, 255, 0, 0]);
  assert.deepEqual(Array.from(applyPhotometric(px(), { ...NO_PHOTOMETRIC, brightness: 10 })), [
    110,
    60,
    210,
    255,
    10,
    10,
  ]);
  assert.deepEqual(Array.from(applyPhotometric(px(), { ...NO_PHOTOMETRIC, contrast: 2 })), [200, 100, 255, 255, 0, 0]);
  // Pure red rotated by 120 degrees is pure green; by -120 degrees pure blue.
  assert.deepEqual(Array.from(applyPhotometric(px(), { ...NO_PHOTOMETRIC, hue: 120 })).slice(3), [0, 255, 0]);
  assert.deepEqual(Array.from(applyPhotometric(px(), { ...NO_PHOTOMETRIC, hue: -120 })).slice(3), [0, 0, 255]);
  // Saturation 0.5 on red: V = 255, S = 0.5, so the other channels become 255 * (1 - 0.5) = 127.5 -> 128.
  assert.deepEqual(Array.from(applyPhotometric(px(), { ...NO_PHOTOMETRIC, saturation: 0.5 })).slice(3), [
    255,
    128,
    128,
  ]);
  // Saturation 0 greys (100, 50, 200) to its V = 200.
  assert.deepEqual(Array.from(applyPhotometric(px(), { ...NO_PHOTOMETRIC, saturation: 0 })).slice(0, 3), [
    200,
    200,
    200,
  ]);
});

Deno.test("planAugment depends only on the seed and keeps the defaults of docs/design.md", () => {
  const sample = { width: 640, height: 480, boxes: [[0.4, 0.4, 0.5, 0.5]] as Box[], labels: [2], difficult: [false] };
  const a = planAugment(sample, new Rng(7));
  assert.deepEqual(planAugment(sample, new Rng(7)), a);
  let flips = 0;
  for (let s = 0; s < 400; s++) {
    const p = planAugment(sample, new Rng(s));
    flips += p.flip ? 1 : 0;
    assert.equal(p.boxes.length, 1, "a crop that loses every box is never taken");
    if (p.crop) {
      assert.equal(p.crop.w, p.crop.h);
      assert.ok(p.crop.w >= Math.round(0.3 * 480) && p.crop.w <= 480, `side ${p.crop.w}`);
      assert.ok(p.crop.x >= 0 && p.crop.x + p.crop.w <= 640 && p.crop.y >= 0 && p.crop.y + p.crop.h <= 480);
    }
  }
  assert.ok(flips > 150 && flips < 250, `flips ${flips} of 400`);
});

Deno.test("planAugment falls back to the whole image when no crop keeps a box", () => {
  const sample = { width: 100, height: 100, boxes: [[0, 0, 0.02, 0.02]] as Box[], labels: [1], difficult: [true] };
  // No tries at all: the fallback, with the boxes untouched.
  const p = planAugment(sample, new Rng(1), { flipProbability: 0, maxTries: 0 });
  assert.equal(p.crop, null);
  assert.deepEqual(p.boxes, sample.boxes);
  assert.deepEqual(p.labels, [1]);
  assert.deepEqual(p.difficult, [true]);
  // 30-px crops of a 100-px image hold the corner box's centre (1, 1) only when placed at (0, 0): 1 in 71^2 per
  // try, so 50 tries mostly fail and fall back; the box is never lost either way.
  let fallbacks = 0;
  for (let s = 0; s < 50; s++) {
    const q = planAugment(sample, new Rng(s), { minScale: 0.3, maxScale: 0.3 });
    if (q.crop === null) fallbacks++;
    assert.equal(q.boxes.length, 1);
  }
  assert.ok(fallbacks >= 40, `fallbacks ${fallbacks}`);
  // Without boxes the first crop is taken.
  assert.notEqual(planAugment({ ...sample, boxes: [], labels: [], difficult: [] }, new Rng(1)).crop, null);
});

/** Bounding box (pixels, exclusive end) of the pixels brighter than halfway between the image's darkest and brightest. */
function brightRegion(rgb: Uint8Array, w: number, h: number): Box {
  let lo = 255;
  let hi = 0;
  for (let i = 0; i < rgb.length; i++) {
    lo = Math.min(lo, rgb[i]);
    hi = Math.max(hi, rgb[i]);
  }
  const t = (lo + hi) / 2;
  let x1 = w, y1 = h, x2 = -1, y2 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (rgb[(y * w + x) * 3] > t) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x + 1);
        y2 = Math.max(y2, y + 1);
      }
    }
  }
  return [x1, y1, x2, y2];
}

Deno.test("a drawn box is found again where the augmented boxes say, over many seeds", async () => {
  // 400x300 black image with a white rectangle at pixels [100, 80, 180, 200).
  const W = 400, H = 300;
  const px = new Uint8Array(W * H * 3);
  for (let y = 80; y < 200; y++) for (let x = 100; x < 180; x++) px.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
  const png = await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  const sample = {
    width: W,
    height: H,
    boxes: [[100 / W, 80 / H, 180 / W, 200 / H]] as Box[],
    labels: [2],
    difficult: [false],
  };
  let cropped = 0, flipped = 0;
  for (let seed = 0; seed < 24; seed++) {
    const plan = planAugment(sample, new Rng(seed));
    cropped += plan.crop ? 1 : 0;
    flipped += plan.flip ? 1 : 0;
    const rgb = applyPhotometric(
      await loadImage(png, { crop: plan.crop ?? undefined, flip: plan.flip }),
      plan.photometric,
    );
    const found = brightRegion(rgb, 320, 240);
    const want = [plan.boxes[0][0] * 320, plan.boxes[0][1] * 240, plan.boxes[0][2] * 320, plan.boxes[0][3] * 240];
    // Resampling blurs an edge by about one output pixel per source pixel of scale; allow 2.5 px.
    for (let k = 0; k < 4; k++) {
      assert.ok(
        Math.abs(found[k] - want[k]) <= 2.5,
        `seed ${seed}: found ${found} want ${want.map((v) => v.toFixed(1))}`,
      );
    }
  }
  assert.ok(cropped > 10 && flipped > 5 && flipped < 20, `cropped ${cropped}, flipped ${flipped}`);
});
