/**
 * Image decoding with sharp (libvips). Files are decoded by their content, never by their extension (AIZOO has PNG
 * data under `.jpg` names); RGBA is flattened onto black and grey or CMYK turned into sRGB, so every image comes out
 * as 8-bit RGB. {@link loadImage} does decode, crop, resize and flip in one sharp pipeline, which runs on libvips'
 * threads, so several images can be in flight at once.
 * @module
 */

import sharp from "sharp";
import { INPUT_HEIGHT, INPUT_WIDTH } from "../types.ts";
import { DataError } from "./problems.ts";
import type { DecodedImage } from "./image_cache.ts";

/** A crop rectangle in pixels of the decoded image (integers). */
export interface CropRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** Region of the source image to keep before resizing, in pixels; the whole image when absent. */
  crop?: CropRect;
  /** Mirror left-right after the crop and resize. */
  flip?: boolean;
  /** Output width in pixels (the model's 320 by default). */
  width?: number;
  /** Output height in pixels (the model's 240 by default). */
  height?: number;
}

/** What {@link imageInfo} learned about an image file. */
export interface ImageInfo {
  /** Format found in the content (jpeg, png, ...), whatever the file is called. */
  format: string;
  width: number;
  height: number;
  /** Channels as stored (1 grey, 3 RGB, 4 RGBA, ...). */
  channels: number;
  hasAlpha: boolean;
}

/** Options of {@link imageInfo}. */
export interface ImageInfoOptions {
  /** Decode every pixel, so a truncated or corrupt body is found too (slower than reading the header). */
  verify?: boolean;
}

// 'error' makes libvips abort on truncated files and decode errors but tolerates mere warnings, which some real
// JPEGs raise (extra bytes before a marker) while decoding fine.
const FAIL_ON = "error" as const;

function describe(path: string | Uint8Array): string {
  return typeof path === "string" ? path : "<buffer>";
}

function wrap(path: string | Uint8Array, e: unknown): DataError {
  if (e instanceof DataError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/unsupported image format/i.test(msg)) return new DataError(describe(path), "not an image (unknown format)");
  if (/no such file|ENOENT|missing/i.test(msg)) return new DataError(describe(path), `cannot read file (${msg})`);
  return new DataError(describe(path), `corrupt or truncated image (${msg.split("\n")[0]})`);
}

/** Reads an image's format and size from its content; with `verify`, decodes it fully to catch corrupt bodies. */
export async function imageInfo(path: string | Uint8Array, options: ImageInfoOptions = {}): Promise<ImageInfo> {
  try {
    const img = sharp(path, { failOn: FAIL_ON });
    const meta = await img.metadata();
    if (!meta.format || !meta.width || !meta.height) {
      throw new DataError(describe(path), "not an image (no format or size in its header)");
    }
    if (options.verify) await img.raw().toBuffer();
    return {
      format: meta.format,
      width: meta.width,
      height: meta.height,
      channels: meta.channels ?? 0,
      hasAlpha: meta.hasAlpha ?? false,
    };
  } catch (e) {
    throw wrap(path, e);
  }
}

/**
 * Decodes an image and returns it as 8-bit RGB, row-major HWC, of size `height x width` (240x320 by default):
 * crop (pixels of the decoded image), then a letterbox-free resize ("fill": the aspect ratio is not kept), then an
 * optional left-right flip. `source` is a file, its bytes, or its pixels as a {@link DecodedImage} keeps them. Throws
 * a {@link DataError} naming the file when it cannot be decoded or the crop does not fit.
 */
export async function loadImage(
  source: string | Uint8Array | DecodedImage,
  options: LoadImageOptions = {},
): Promise<Uint8Array> {
  const width = options.width ?? INPUT_WIDTH;
  const height = options.height ?? INPUT_HEIGHT;
  // Pixels from lib/data/image_cache.ts go in raw; the rest of the pipeline is the same, and so are its bytes.
  const path = typeof source === "string" || source instanceof Uint8Array ? source : source.path;
  try {
    let img = typeof source === "string" || source instanceof Uint8Array
      ? sharp(source, { failOn: FAIL_ON })
      : sharp(source.data, { raw: { width: source.width, height: source.height, channels: source.channels } });
    if (options.crop) {
      const { x, y, w, h } = options.crop;
      if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w <= 0 || h <= 0) {
        throw new DataError(describe(path), `crop ${JSON.stringify(options.crop)} must be non-negative integers`);
      }
      img = img.extract({ left: x, top: y, width: w, height: h });
    }
    img = img.resize(width, height, { fit: "fill" }).flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace("srgb");
    if (options.flip) img = img.flop();
    const { data, info } = await img.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== width * height * 3) {
      throw new DataError(describe(path), `decoded to ${info.channels} channels, expected RGB`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  } catch (e) {
    if (e instanceof Error && /extract_area: bad extract area/.test(e.message)) {
      throw new DataError(describe(path), `crop ${JSON.stringify(options.crop)} lies outside the image`);
    }
    throw wrap(path, e);
  }
}

/** Scales 8-bit RGB to float32 in [-0.5, 0.5] (`x / 255 - 0.5`), the model's input range. */
export function normalize(rgb: Uint8Array, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(rgb.length);
  if (dst.length < rgb.length) throw new Error(`normalize: output holds ${dst.length} values, need ${rgb.length}`);
  for (let i = 0; i < rgb.length; i++) dst[i] = rgb[i] / 255 - 0.5;
  return dst;
}
