/**
 * Batches for training and evaluation from an async iterator that decodes ahead of its consumer: up to
 * `prefetch x batchSize` images are in flight at once through sharp's thread pool while the consumer trains.
 *
 * Determinism: the order (one shuffle of the records) and one forked generator per sample are drawn from the
 * caller's {@link Rng} before any image is read, and samples are taken in order, so batches depend only on the
 * seed and the data, never on which decode finishes first. A sample that fails to load is skipped, recorded in
 * `skipped` (and passed to `onSkip`), and the next sample takes its place in the batch.
 *
 * Preparation: with a {@link BatchPreparer} and a decoded-image cache, the samples whose pixels the cache holds are
 * cropped, resized, flipped, distorted and normalised by the preparer, a whole micro-batch at once when the batch is
 * handed out (the native one spreads it over its threads between training steps, so it never runs beside the
 * model); the others go through sharp as before. Both give the same floats, byte for byte (tested), so a run's
 * inputs do not depend on which path ran.
 * @module
 */

import type { Box } from "../types.ts";
import { INPUT_HEIGHT, INPUT_WIDTH } from "../types.ts";
import type { Rng } from "../util/rng.ts";
import {
  applyPhotometric,
  type AugmentOptions,
  type AugmentPlan,
  NO_PHOTOMETRIC,
  type PhotometricParams,
  planAugment,
} from "./augment.ts";
import type { DataRecord } from "./dataset.ts";
import { type CropRect, loadImage, normalize } from "./image.ts";
import type { DecodedImage, DecodedImageCache } from "./image_cache.ts";
import { DataError } from "./problems.ts";

/** A batch of model inputs and their targets. */
export interface Batch {
  ids: string[];
  /** Float32 `[B, 240, 320, 3]`, RGB, in [-0.5, 0.5]. */
  images: Float32Array;
  /** Normalised corner boxes per image, after augmentation. */
  boxes: Box[][];
  labels: number[][];
  difficult: boolean[][];
  /** Original `[height, width]` of each image. */
  sizes: [number, number][];
}

/** One sample for a {@link BatchPreparer}: decoded pixels, the augmentation to apply and the batch slot to fill. */
export interface PrepareJob {
  image: DecodedImage;
  /** Pixel crop of the decoded image, or null for the whole image. */
  crop: CropRect | null;
  flip: boolean;
  photometric: PhotometricParams;
  /** Index of the sample in the batch: its floats go to `out[slot * H * W * 3 ...]`. */
  slot: number;
}

/**
 * Turns decoded images into model input in one call, giving exactly the floats of {@link loadImage} (crop, resize
 * "fill", flip) then `applyPhotometric` then {@link normalize}. lib/backend/native's `nativeBatchPreparer` is one.
 */
export interface BatchPreparer {
  /** Names the implementation in logs and records. */
  readonly name: string;
  /** Whether it can take this image (the native one takes 1 or 3 channels; sharp flattens the others). */
  accepts(image: DecodedImage): boolean;
  /** Writes each job's `height x width x 3` floats into its slot of `out`; throws naming the file on a bad job. */
  prepare(jobs: readonly PrepareJob[], out: Float32Array, size: { width: number; height: number }): void;
}

/** A sample the loader could not use. */
export interface SkippedSample {
  id: string;
  split: string;
  file: string;
  problem: string;
}

/** Options of {@link batches}. */
export interface BatchOptions {
  batchSize: number;
  /** Shuffle the records once, with `rng`. */
  shuffle: boolean;
  /** Augment (true for docs/design.md's defaults, or options); false feeds whole images. */
  augment: boolean | AugmentOptions;
  /** Source of every random choice. */
  rng: Rng;
  /** Batches decoded ahead of the consumer (2 by default). */
  prefetch?: number;
  /** Drop a last batch smaller than `batchSize` (false by default). */
  dropLast?: boolean;
  /** Called once for each skipped sample. */
  onSkip?: (sample: SkippedSample) => void;
  /**
   * Decoded images kept between passes (lib/data/image_cache.ts): the same bytes come out, without decoding each
   * file again every epoch.
   */
  cache?: DecodedImageCache;
  /** Prepares the samples the cache holds (see the module notes); without it, or without a cache, sharp does. */
  prepare?: BatchPreparer;
}

/** The iterator {@link batches} returns; `skipped` grows as bad samples are met. */
export interface BatchIterator extends AsyncIterableIterator<Batch> {
  readonly skipped: SkippedSample[];
}

type Loaded =
  | { record: DataRecord; plan: AugmentPlan; image: Uint8Array }
  | { record: DataRecord; plan: AugmentPlan; decoded: DecodedImage }
  | { record: DataRecord; error: unknown };

async function loadOne(
  record: DataRecord,
  plan: AugmentPlan,
  cache?: DecodedImageCache,
  preparer?: BatchPreparer,
): Promise<Loaded> {
  try {
    const decoded = await cache?.get(record.imagePath);
    if (decoded && preparer?.accepts(decoded)) return { record, plan, decoded };
    const rgb = await loadImage(decoded ?? record.imagePath, { crop: plan.crop ?? undefined, flip: plan.flip });
    return { record, plan, image: applyPhotometric(rgb, plan.photometric) };
  } catch (error) {
    return { record, error };
  }
}

function identityPlan(record: DataRecord): AugmentPlan {
  return {
    crop: null,
    flip: false,
    photometric: { ...NO_PHOTOMETRIC },
    boxes: record.boxes,
    labels: record.labels,
    difficult: record.difficult,
  };
}

async function* run(records: DataRecord[], options: BatchOptions, skipped: SkippedSample[]): AsyncGenerator<Batch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batches: batchSize must be >= 1, got ${batchSize}`);
  }
  const order = records.slice();
  if (options.shuffle) options.rng.shuffle(order);
  const augment = options.augment === false ? null : options.augment === true ? {} : options.augment;
  const rngs = augment ? order.map(() => options.rng.fork()) : [];
  const window = Math.max(1, options.prefetch ?? 2) * batchSize;
  const pending: Promise<Loaded>[] = [];
  const start = (i: number) => {
    if (i < order.length) {
      const plan = augment ? planAugment(order[i], rngs[i], augment) : identityPlan(order[i]);
      pending[i] = loadOne(order[i], plan, options.cache, options.prepare);
    }
  };
  for (let i = 0; i < Math.min(window, order.length); i++) start(i);

  const pixels = INPUT_HEIGHT * INPUT_WIDTH * 3;
  let current: Exclude<Loaded, { error: unknown }>[] = [];
  const emit = (): Batch => {
    const images = new Float32Array(current.length * pixels);
    const jobs: PrepareJob[] = [];
    current.forEach((s, k) => {
      if ("image" in s) {
        normalize(s.image, images.subarray(k * pixels, (k + 1) * pixels));
        return;
      }
      const { crop, flip, photometric } = s.plan;
      jobs.push({ image: s.decoded, crop, flip, photometric, slot: k });
    });
    if (jobs.length > 0) options.prepare!.prepare(jobs, images, { width: INPUT_WIDTH, height: INPUT_HEIGHT });
    const batch: Batch = {
      ids: current.map((s) => s.record.id),
      images,
      boxes: current.map((s) => s.plan.boxes),
      labels: current.map((s) => s.plan.labels),
      difficult: current.map((s) => s.plan.difficult),
      sizes: current.map((s) => [s.record.height, s.record.width]),
    };
    current = [];
    return batch;
  };
  for (let i = 0; i < order.length; i++) {
    const loaded = await pending[i];
    delete pending[i];
    start(i + window);
    if ("error" in loaded) {
      const e = loaded.error;
      const s: SkippedSample = {
        id: loaded.record.id,
        split: loaded.record.split,
        file: e instanceof DataError ? e.file : loaded.record.imagePath,
        problem: e instanceof DataError ? e.problem : String(e),
      };
      skipped.push(s);
      options.onSkip?.(s);
      continue;
    }
    current.push(loaded);
    if (current.length === batchSize) yield emit();
  }
  if (current.length > 0 && !options.dropLast) yield emit();
}

/**
 * Iterates over `records` in batches of model inputs, decoding ahead of the consumer; see the module notes for
 * ordering and skipping. One call is one pass (an epoch); call again with the same `rng` for the next.
 */
export function batches(records: DataRecord[], options: BatchOptions): BatchIterator {
  const skipped: SkippedSample[] = [];
  return Object.assign(run(records, options, skipped), { skipped });
}
