/**
 * Prior (anchor) boxes of the SSDv2 detector, generated from the feature-map strides and the anchor sizes
 * (docs/design.md).
 *
 * Order: feature map, then row i, then column j, then anchor size. Each prior is a normalised centre box
 * `[cx, cy, w, h]` with `cx = (j + 0.5) * step / W`, `cy = (i + 0.5) * step / H`, `w = size / W`, `h = size / H`.
 * @module
 */

/** How to lay out priors: input size, one stride per feature map and the anchor sizes (pixels) of each map. */
export interface PriorConfig {
  /** Model input `[height, width]` in pixels. */
  inputSize: [number, number];
  /** Stride of each feature map in pixels; the map is `ceil(H / step) x ceil(W / step)`. */
  steps: number[];
  /** Square anchor sizes in pixels, one list per feature map. */
  sizes: number[][];
  /** Clip the centre boxes to [0, 1] (the public SSDv2 code does not). Default false. */
  clip?: boolean;
}

/**
 * The SSDv2 prior layout at 240x320: 4,420 priors over 30x40, 15x20, 8x10 and 4x5 maps.
 *
 * ```ts
 * import { generatePriors, SSDV2_PRIORS } from "ssdv2";
 * console.log(SSDV2_PRIORS.steps, SSDV2_PRIORS.sizes[0]); // [ 8, 16, 32, 64 ] [ 10, 16, 24 ]: pixels at 240x320
 * console.log(generatePriors(SSDV2_PRIORS).length / 4); // 4420 priors
 * ```
 */
export const SSDV2_PRIORS: PriorConfig = Object.freeze({
  inputSize: [240, 320] as [number, number],
  steps: [8, 16, 32, 64],
  sizes: [[10, 16, 24], [32, 48], [64, 96], [128, 192, 256]],
});

function validate(config: PriorConfig): void {
  const where = "lib/detect/priors.ts";
  const [h, w] = config.inputSize ?? [];
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
    throw new Error(`${where}: inputSize must be two positive integers [height, width], got ${config.inputSize}`);
  }
  if (!Array.isArray(config.steps) || !Array.isArray(config.sizes) || config.steps.length !== config.sizes.length) {
    throw new Error(`${where}: steps and sizes must be arrays of the same length (one entry per feature map)`);
  }
  config.steps.forEach((s, k) => {
    if (!(s > 0)) throw new Error(`${where}: steps[${k}] must be positive, got ${s}`);
    if (config.sizes[k].length === 0 || config.sizes[k].some((z) => !(z > 0))) {
      throw new Error(`${where}: sizes[${k}] must be a non-empty list of positive sizes, got ${config.sizes[k]}`);
    }
  });
}

/** Feature-map sizes `[rows, cols]` implied by a prior config: `ceil(H / step) x ceil(W / step)`. */
export function featureMapSizes(config: PriorConfig): [number, number][] {
  validate(config);
  const [h, w] = config.inputSize;
  return config.steps.map((s) => [Math.ceil(h / s), Math.ceil(w / s)]);
}

/** Number of priors on each feature map (rows x cols x anchors), in map order. */
export function priorCounts(config: PriorConfig): number[] {
  return featureMapSizes(config).map(([r, c], k) => r * c * config.sizes[k].length);
}

/** Total number of priors P. */
export function numPriors(config: PriorConfig): number {
  return priorCounts(config).reduce((a, b) => a + b, 0);
}

/**
 * How a k-branch model of the Table 2 ablation lays out its priors:
 * - `own`: branches 1..k keep only their own anchor sizes (the 1-branch model has anchors of 10-24 px only);
 * - `carry`: the anchor sizes of every dropped branch move onto the coarsest kept branch k (k = 1: the stride-8 map
 *   carries all ten sizes 10..256), so every face size keeps a prior of its scale. With all branches the two agree.
 *
 * ```ts
 * import { PRIOR_READINGS, slicePriorConfig, SSDV2_PRIORS } from "ssdv2";
 * for (const reading of PRIOR_READINGS) console.log(reading, slicePriorConfig(SSDV2_PRIORS, 1, reading).sizes[0]);
 * // own [ 10, 16, 24 ]
 * // carry [ 10, 16, 24, 32, 48, 64, 96, 128, 192, 256 ]
 * ```
 */
export const PRIOR_READINGS = ["own", "carry"] as const;
/** One of {@link PRIOR_READINGS}. */
export type PriorReading = typeof PRIOR_READINGS[number];

/**
 * The config restricted to its first `k` feature maps (the k-branch ablation keeps the smallest scales).
 *
 * ```ts
 * import { generatePriors, slicePriorConfig, SSDV2_PRIORS } from "ssdv2";
 * const twoBranches = slicePriorConfig(SSDV2_PRIORS, 2, "carry"); // the priors of experiments/ablation/carry-2.json
 * console.log(twoBranches.steps, twoBranches.sizes[1]); // [ 8, 16 ] [ 32, 48, 64, 96, 128, 192, 256 ]
 * console.log(generatePriors(twoBranches).length / 4); // 5700 = 30x40 cells x 3 sizes + 15x20 x 7
 * ```
 */
export function slicePriorConfig(config: PriorConfig, k: number, reading: PriorReading = "own"): PriorConfig {
  if (!Number.isInteger(k) || k < 1 || k > config.steps.length) {
    throw new Error(`lib/detect/priors.ts: branch count must be an integer in 1..${config.steps.length}, got ${k}`);
  }
  if (!(PRIOR_READINGS as readonly string[]).includes(reading)) {
    throw new Error(`lib/detect/priors.ts: prior reading must be one of ${PRIOR_READINGS.join(", ")}, got ${reading}`);
  }
  const sizes = config.sizes.slice(0, k).map((s) => s.slice());
  if (reading === "carry") sizes[k - 1] = config.sizes.slice(k - 1).flat();
  return {
    inputSize: [config.inputSize[0], config.inputSize[1]],
    steps: config.steps.slice(0, k),
    sizes,
    ...(config.clip !== undefined ? { clip: config.clip } : {}),
  };
}

/**
 * Generates all priors as a flat `Float32Array` of length `P * 4` (normalised centre form).
 *
 * ```ts
 * import { generatePriors, SSDV2_PRIORS } from "ssdv2";
 * const priors = generatePriors(SSDV2_PRIORS); // [cx, cy, w, h] per prior, normalised
 * console.log(priors.length / 4, Array.from(priors.subarray(0, 4), (v) => +v.toFixed(4)));
 * // 4420 [ 0.0125, 0.0167, 0.0313, 0.0417 ]: the 10 px prior of the top-left cell of the stride-8 map
 * ```
 */
export function generatePriors(config: PriorConfig): Float32Array {
  const maps = featureMapSizes(config);
  const [h, w] = config.inputSize;
  const out = new Float32Array(numPriors(config) * 4);
  let o = 0;
  maps.forEach(([rows, cols], k) => {
    const step = config.steps[k];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const cx = ((j + 0.5) * step) / w;
        const cy = ((i + 0.5) * step) / h;
        for (const size of config.sizes[k]) {
          out[o++] = cx;
          out[o++] = cy;
          out[o++] = size / w;
          out[o++] = size / h;
        }
      }
    }
  });
  if (config.clip) { for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i])); }
  return out;
}
