/**
 * Decoded images kept in memory between epochs. Decoding a JPEG is most of what {@link loadImage} costs (measured on
 * 40 AIZOO training images: 32 ms per image from the file against 13 ms from the decoded pixels, crop and resize
 * included), and a training run decodes each image once per epoch on the same two cores the model trains on. The
 * cache keeps the pixels as stored (about 0.8 MB per AIZOO image, 2.5 GB for the 3,069 training images) and hands
 * them to sharp as raw input, which gives byte-identical crops and resizes (tested), so a run trains on exactly the
 * same inputs with or without it and a resumed run stays exact.
 *
 * Only images whose stored pixels are already what the pipeline works in are kept: sRGB or grey, no embedded colour
 * profile, 8 bits. Any other image (CMYK, a profile, 16 bits) is decoded from its file every time, as before.
 * @module
 */

import sharp from "sharp";

/** An image's pixels as stored: row-major, `channels` bytes per pixel. */
export interface DecodedImage {
  /** The file it was decoded from (named in errors). */
  path: string;
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** What a cache holds and how often it was asked. */
export interface ImageCacheStats {
  images: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  /** Decodes that were not kept: not plain 8-bit sRGB or grey, unreadable, or no room left. */
  passed: number;
}

/** Bytes a cache may hold when nothing says otherwise: a quarter of the machine's memory, at most 4 GiB. */
export function defaultCacheBytes(totalMemory: number = Deno.systemMemoryInfo().total): number {
  return Math.min(4 * 1024 ** 3, Math.floor(totalMemory / 4));
}

/**
 * The cache size `FACEMASK_DECODE_CACHE_MB` asks for (0 turns the cache off), else {@link defaultCacheBytes}; a value
 * that is not a number >= 0 is an error naming the variable.
 */
export function cacheBytesFromEnv(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  fallback: () => number = () => defaultCacheBytes(),
): number {
  const raw = env("FACEMASK_DECODE_CACHE_MB");
  if (raw === undefined || raw.trim() === "") return fallback();
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) {
    throw new Error(`FACEMASK_DECODE_CACHE_MB must be a number of megabytes >= 0 (0 = off), got "${raw}"`);
  }
  return Math.floor(mb * 1024 * 1024);
}

/** Decoded images by file path, up to `maxBytes`; the first images asked for are the ones kept. */
export class DecodedImageCache {
  readonly #entries = new Map<string, Promise<DecodedImage | null>>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #passed = 0;

  /** A cache that keeps at most `maxBytes` of pixels (0 keeps nothing). */
  constructor(readonly maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new Error(`DecodedImageCache: maxBytes ${maxBytes}`);
  }

  /**
   * The stored pixels of `path`, decoded on the first request; `null` when this image is not kept (then decode the
   * file itself). Never throws: a file that cannot be read is left to the caller's own decode, which names it.
   */
  get(path: string): Promise<DecodedImage | null> {
    const known = this.#entries.get(path);
    if (known) {
      this.#hits++;
      return known;
    }
    this.#misses++;
    if (this.#bytes >= this.maxBytes) {
      this.#passed++;
      return Promise.resolve(null);
    }
    const entry = this.#decode(path);
    this.#entries.set(path, entry);
    return entry;
  }

  async #decode(path: string): Promise<DecodedImage | null> {
    try {
      const img = sharp(path, { failOn: "error" });
      const meta = await img.metadata();
      const plain = (meta.space === "srgb" || meta.space === "b-w") && !meta.icc && meta.depth === "uchar";
      // sharp hands grey out as RGB; reserve that much before decoding, so that decodes in flight cannot overshoot.
      const bytes = (meta.width ?? 0) * (meta.height ?? 0) * Math.max(3, meta.channels ?? 0);
      // Remembered as not kept, so its metadata is not read again next epoch.
      if (!plain || bytes === 0) return (this.#passed++, null);
      if (this.#bytes + bytes > this.maxBytes) return this.#pass(path);
      this.#bytes += bytes;
      const { data, info } = await img.raw().toBuffer({ resolveWithObject: true }).catch((e) => {
        this.#bytes -= bytes;
        throw e;
      });
      this.#bytes += data.length - bytes;
      return {
        path,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
        width: info.width,
        height: info.height,
        channels: info.channels as DecodedImage["channels"],
      };
    } catch {
      return this.#pass(path);
    }
  }

  // Forgotten, so that a broken file is reported by the caller's own decode each time it is met, and an image that
  // did not fit is tried again if room is made.
  #pass(path: string): null {
    this.#passed++;
    this.#entries.delete(path);
    return null;
  }

  /**
   * Decodes `paths` into the cache, `concurrency` at a time (sharp's threads do the work), until it is full; returns
   * how many are kept. What an epoch would do on its first pass, ahead of time.
   */
  async warm(paths: readonly string[], concurrency = 8): Promise<number> {
    let next = 0, kept = 0;
    const worker = async () => {
      while (next < paths.length && this.#bytes < this.maxBytes) {
        if (await this.get(paths[next++])) kept++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    return kept;
  }

  /** Images kept, bytes held, hits (lookups the cache answered, kept or known not to keep) and misses so far. */
  async stats(): Promise<ImageCacheStats> {
    let images = 0;
    for (const e of this.#entries.values()) if (await e) images++;
    return {
      images,
      bytes: this.#bytes,
      maxBytes: this.maxBytes,
      hits: this.#hits,
      misses: this.#misses,
      passed: this.#passed,
    };
  }
}
