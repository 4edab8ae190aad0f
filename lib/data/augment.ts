/**
 * Seeded training augmentation, as docs/design.md describes (following the public SSDv2 code):
 *
 * 1. Random square crop: side = u x the image's short side, u uniform in [0.3, 1.0], placed uniformly. A box is
 *    kept when its centre lies inside the crop, then clipped to it. When no box survives, another crop is drawn, up
 *    to `maxTries` (50) times; after that the whole image is used with its boxes unchanged. An image without boxes
 *    takes its first crop. The crop is in whole pixels, so the boxes match the pixels sharp cuts out exactly.
 * 2. Horizontal flip with probability 0.5.
 * 3. Photometric distortion on the resized image (SSD's recipe), each part with probability 0.5: brightness
 *    (add a delta uniform in [-32, 32]), contrast (multiply by a factor in [0.5, 1.5]), then in HSV, saturation
 *    (multiply S by a factor in [0.5, 1.5]) and hue (rotate H by [-18, 18] degrees).
 *
 * {@link planAugment} draws every random choice from the given {@link Rng} and nothing else, so a plan depends
 * only on the seed; the loader then runs crop + resize + flip in one sharp call and {@link applyPhotometric} on the
 * result.
 * @module
 */

import type { Box } from "../types.ts";
import type { Rng } from "../util/rng.ts";
import type { CropRect } from "./image.ts";

/** Photometric changes; the identity is `{ brightness: 0, contrast: 1, saturation: 1, hue: 0 }`. */
export interface PhotometricParams {
  /** Added to every channel, in 0-255 units. */
  brightness: number;
  /** Every channel is multiplied by it. */
  contrast: number;
  /** HSV saturation is multiplied by it. */
  saturation: number;
  /** HSV hue is rotated by it, in degrees. */
  hue: number;
}

/** The identity photometric change. */
export const NO_PHOTOMETRIC: Readonly<PhotometricParams> = { brightness: 0, contrast: 1, saturation: 1, hue: 0 };

/** Every random choice for one sample, and the boxes that follow from them (normalised to the output image). */
export interface AugmentPlan {
  /** Pixel crop of the source image, or null for the whole image. */
  crop: CropRect | null;
  flip: boolean;
  photometric: PhotometricParams;
  boxes: Box[];
  labels: number[];
  difficult: boolean[];
}

/** What {@link planAugment} needs of a sample. */
export interface AugmentInput {
  /** Source image width in pixels. */
  width: number;
  /** Source image height in pixels. */
  height: number;
  /** Normalised corner boxes. */
  boxes: Box[];
  labels: number[];
  difficult: boolean[];
}

/** Options of {@link planAugment}; the defaults are docs/design.md's. */
export interface AugmentOptions {
  /** Smallest crop side as a fraction of the short side (0.3). */
  minScale?: number;
  /** Largest crop side as a fraction of the short side (1.0). */
  maxScale?: number;
  /** Crops drawn before giving up and using the whole image (50). */
  maxTries?: number;
  /** Probability of a horizontal flip (0.5). */
  flipProbability?: number;
  /** Apply photometric distortion (true). */
  photometric?: boolean;
  /** Apply the random crop (true). */
  crop?: boolean;
}

/** Boxes (normalised to a `width x height` image) seen through a pixel crop: those whose centre lies inside. */
export function cropBoxes(
  boxes: Box[],
  options: { crop: CropRect; width: number; height: number },
): { boxes: Box[]; keep: number[] } {
  const { crop, width, height } = options;
  const out: Box[] = [];
  const keep: number[] = [];
  const clip = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  boxes.forEach((b, i) => {
    const x1 = b[0] * width;
    const y1 = b[1] * height;
    const x2 = b[2] * width;
    const y2 = b[3] * height;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    if (cx <= crop.x || cx >= crop.x + crop.w || cy <= crop.y || cy >= crop.y + crop.h) return;
    out.push([
      clip((x1 - crop.x) / crop.w),
      clip((y1 - crop.y) / crop.h),
      clip((x2 - crop.x) / crop.w),
      clip(
        (y2 - crop.y) / crop.h,
      ),
    ]);
    keep.push(i);
  });
  return { boxes: out, keep };
}

/** Mirrors normalised corner boxes left-right. */
export function flipBoxes(boxes: Box[]): Box[] {
  return boxes.map((b) => [1 - b[2], b[1], 1 - b[0], b[3]]);
}

/** Draws one sample's augmentation from `rng` and works out its boxes. */
export function planAugment(sample: AugmentInput, rng: Rng, options: AugmentOptions = {}): AugmentPlan {
  const minScale = options.minScale ?? 0.3;
  const maxScale = options.maxScale ?? 1.0;
  const maxTries = options.maxTries ?? 50;
  const { width, height } = sample;
  let crop: CropRect | null = null;
  let boxes = sample.boxes.map((b) => [...b] as Box);
  let labels = [...sample.labels];
  let difficult = [...sample.difficult];
  if (options.crop !== false) {
    const short = Math.min(width, height);
    for (let t = 0; t < maxTries; t++) {
      const side = Math.max(1, Math.min(short, Math.round(rng.uniform(minScale, maxScale) * short)));
      const c = { x: rng.int(0, width - side), y: rng.int(0, height - side), w: side, h: side };
      const seen = cropBoxes(sample.boxes, { crop: c, width, height });
      if (seen.keep.length === 0 && sample.boxes.length > 0) continue;
      crop = c;
      boxes = seen.boxes;
      labels = seen.keep.map((i) => sample.labels[i]);
      difficult = seen.keep.map((i) => sample.difficult[i]);
      break;
    }
  }
  const flip = rng.chance(options.flipProbability ?? 0.5);
  if (flip) boxes = flipBoxes(boxes);
  const photometric = { ...NO_PHOTOMETRIC };
  if (options.photometric !== false) {
    if (rng.chance(0.5)) photometric.brightness = rng.uniform(-32, 32);
    if (rng.chance(0.5)) photometric.contrast = rng.uniform(0.5, 1.5);
    if (rng.chance(0.5)) photometric.saturation = rng.uniform(0.5, 1.5);
    if (rng.chance(0.5)) photometric.hue = rng.uniform(-18, 18);
  }
  return { crop, flip, photometric, boxes, labels, difficult };
}

/**
 * Applies a photometric change to 8-bit RGB in place and returns it: brightness, then contrast (clamped to
 * [0, 255]), then saturation and hue in HSV. The identity leaves the pixels untouched.
 */
export function applyPhotometric(rgb: Uint8Array, params: PhotometricParams): Uint8Array {
  const { brightness, contrast, saturation, hue } = params;
  const linear = brightness !== 0 || contrast !== 1;
  const hsv = saturation !== 1 || hue !== 0;
  if (!linear && !hsv) return rgb;
  // Brightness and contrast act on each channel value alone, so one 256-entry table does both.
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.min(255, Math.max(0, (v + brightness) * contrast));
  if (!hsv) {
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.round(lut[rgb[i]]);
    return rgb;
  }
  const shift = hue / 60;
  for (let i = 0; i < rgb.length; i += 3) {
    const r = lut[rgb[i]];
    const g = lut[rgb[i + 1]];
    const b = lut[rgb[i + 2]];
    const v = r > g ? (r > b ? r : b) : (g > b ? g : b);
    const min = r < g ? (r < b ? r : b) : (g < b ? g : b);
    const delta = v - min;
    // hue in sextants [0, 6)
    let h = 0;
    if (delta > 0) {
      if (v === r) h = ((g - b) / delta + 6) % 6;
      else if (v === g) h = (b - r) / delta + 2;
      else h = (r - g) / delta + 4;
    }
    const s0 = v === 0 ? 0 : delta / v;
    const s = s0 * saturation > 1 ? 1 : s0 * saturation;
    h += shift;
    h = h - 6 * Math.floor(h / 6);
    const c = v * s;
    const x = c * (1 - Math.abs((h % 2) - 1));
    const m = v - c;
    let rr: number, gg: number, bb: number;
    switch (Math.floor(h)) {
      case 0:
        rr = c, gg = x, bb = 0;
        break;
      case 1:
        rr = x, gg = c, bb = 0;
        break;
      case 2:
        rr = 0, gg = c, bb = x;
        break;
      case 3:
        rr = 0, gg = x, bb = c;
        break;
      case 4:
        rr = x, gg = 0, bb = c;
        break;
      default:
        rr = c, gg = 0, bb = x;
    }
    rgb[i] = Math.round(rr + m);
    rgb[i + 1] = Math.round(gg + m);
    rgb[i + 2] = Math.round(bb + m);
  }
  return rgb;
}
