/**
 * The native {@link BatchPreparer}: crop, resize, flip, photometric distortion and normalisation of a micro-batch of
 * decoded training images in one addon call (native/prep.cc), the images spread over the addon's OpenMP threads.
 *
 * Why: on two cores, sharp's resize threads and the JavaScript photometric pass ran beside or between the model's
 * steps, and the training loop ran at 0.60 (AVX-512) to 0.80 (AVX2) of the bench's training speed. The addon's port
 * of libvips' resize and of `applyPhotometric` gives the same bytes (tested against sharp on generated and real
 * images, every resize path and grey images included), so runs train on identical inputs either way.
 * `FACEMASK_NATIVE_PREP=0` turns it off (the loader then uses sharp, as without the addon).
 * @module
 */
import type { BatchPreparer, PrepareJob } from "../../data/loader.ts";
import type { DecodedImage } from "../../data/image_cache.ts";
import { addonBuilt, loadAddon, type NativeAddon } from "./addon.ts";

/** Values per job in the geometry array the addon reads. */
const GEOMETRY = 9;

/** The arguments `prepareBatch` (native/ssd_native.cc) reads for `jobs`: their pixels, geometry and photometric. */
export function packJobs(
  jobs: readonly PrepareJob[],
): { images: Uint8Array[]; geometry: Int32Array; photometric: Float64Array } {
  const geometry = new Int32Array(jobs.length * GEOMETRY);
  const photometric = new Float64Array(jobs.length * 4);
  jobs.forEach((j, k) => {
    const c = j.crop ?? { x: 0, y: 0, w: 0, h: 0 };
    geometry.set(
      [j.image.width, j.image.height, j.image.channels, c.x, c.y, c.w, c.h, j.flip ? 1 : 0, j.slot],
      k * GEOMETRY,
    );
    const p = j.photometric;
    photometric.set([p.brightness, p.contrast, p.saturation, p.hue], k * 4);
  });
  return { images: jobs.map((j) => j.image.data), geometry, photometric };
}

/** A preparer over `addon` (see the module notes). */
export function createNativePreparer(addon: NativeAddon): BatchPreparer {
  return {
    name: "native",
    accepts: (image: DecodedImage) => image.channels === 1 || image.channels === 3,
    prepare(jobs: readonly PrepareJob[], out: Float32Array, size: { width: number; height: number }): void {
      const { images, geometry, photometric } = packJobs(jobs);
      try {
        addon.prepareBatch(images, geometry, photometric, size.width, size.height, out, null);
      } catch (e) {
        const msg = (e as Error).message;
        const k = Number(/images\[(\d+)\]/.exec(msg)?.[1] ?? NaN);
        const file = Number.isInteger(k) && jobs[k] ? jobs[k].image.path : "a batch";
        throw new Error(`native preparation of ${file} failed: ${msg}`);
      }
    },
  };
}

/**
 * The native preparer when the addon is built and loads and `FACEMASK_NATIVE_PREP` is not `0`; else null, and the
 * loader uses sharp. A value other than 0 / 1 / empty is an error naming the variable.
 */
export function nativeBatchPreparer(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): BatchPreparer | null {
  const raw = (env("FACEMASK_NATIVE_PREP") ?? "").trim();
  if (raw !== "" && raw !== "0" && raw !== "1") {
    throw new Error(`FACEMASK_NATIVE_PREP must be 0 (sharp) or 1 (native, the default), got "${raw}"`);
  }
  if (raw === "0" || !addonBuilt()) return null;
  try {
    return createNativePreparer(loadAddon());
  } catch {
    return null;
  }
}
