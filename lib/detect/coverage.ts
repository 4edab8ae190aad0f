/**
 * Prior coverage: which share of ground-truth boxes has at least one prior at IoU >= the matching threshold (0.45),
 * i.e. gets a prior by threshold matching rather than only by the forced best-prior rule of `matchPriors`. This is
 * what the two readings of the branch ablation (`own`, `carry`, lib/detect/priors.ts) change: with `own`, a 1-branch
 * model has priors of 10-24 px only, so large faces are covered by none.
 * @module
 */
import type { Box } from "../types.ts";
import { centreToCorner } from "./boxes.ts";
import {
  generatePriors,
  PRIOR_READINGS,
  type PriorConfig,
  type PriorReading,
  slicePriorConfig,
  SSDV2_PRIORS,
} from "./priors.ts";

/** Options of {@link priorCoverage}. */
export interface CoverageOptions {
  /** A box is covered by a prior at IoU at or above this (the matching threshold); default 0.45. */
  iouThreshold?: number;
}

/** How well a prior layout covers a set of boxes. */
export interface PriorCoverage {
  /** Number of boxes. */
  total: number;
  /** Boxes with a prior at IoU >= the threshold. */
  covered: number;
  /** `covered / total`; `null` without boxes. */
  share: number | null;
  /** Mean over boxes of the best prior IoU; `null` without boxes. */
  meanBestIou: number | null;
  /** IoU threshold used. */
  iouThreshold: number;
  /** Number of priors of the layout. */
  numPriors: number;
}

function checkBoxes(boxes: readonly Box[]): void {
  boxes.forEach((b, i) => {
    if (!Array.isArray(b) || b.length !== 4 || !b.every(Number.isFinite) || !(b[2] > b[0] && b[3] > b[1])) {
      throw new Error(`lib/detect/coverage.ts: box ${i} [${b}] is not a normalised corner box with positive area`);
    }
  });
}

/**
 * Best IoU of each corner box with any prior (`priors`: normalised centre form, `P * 4`, as `generatePriors`
 * returns). Computed box by box, without the `N x P` matrix, so thousands of boxes against 4,420 priors stay small.
 */
export function bestPriorIou(boxes: readonly Box[], priors: Float32Array): Float64Array {
  checkBoxes(boxes);
  const pc = centreToCorner(priors);
  const np = pc.length / 4;
  const areas = new Float64Array(np);
  for (let p = 0; p < np; p++) areas[p] = (pc[p * 4 + 2] - pc[p * 4]) * (pc[p * 4 + 3] - pc[p * 4 + 1]);
  const out = new Float64Array(boxes.length);
  boxes.forEach(([x1, y1, x2, y2], i) => {
    const area = (x2 - x1) * (y2 - y1);
    let best = 0;
    for (let p = 0; p < np; p++) {
      const iw = Math.min(x2, pc[p * 4 + 2]) - Math.max(x1, pc[p * 4]);
      if (iw <= 0) continue;
      const ih = Math.min(y2, pc[p * 4 + 3]) - Math.max(y1, pc[p * 4 + 1]);
      if (ih <= 0) continue;
      const inter = iw * ih;
      const iou = inter / (area + areas[p] - inter);
      if (iou > best) best = iou;
    }
    out[i] = best;
  });
  return out;
}

/**
 * Share of `boxes` (normalised corner boxes) that have at least one prior of `priorConfig` at IoU >= the threshold
 * (default 0.45, the matching threshold of `matchPriors`), with the mean best IoU.
 */
export function priorCoverage(
  boxes: readonly Box[],
  priorConfig: PriorConfig,
  options: CoverageOptions = {},
): PriorCoverage {
  const iouThreshold = options.iouThreshold ?? 0.45;
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) {
    throw new Error(`lib/detect/coverage.ts: iouThreshold must be in [0, 1], got ${iouThreshold}`);
  }
  const priors = generatePriors(priorConfig);
  const best = bestPriorIou(boxes, priors);
  let covered = 0;
  let sum = 0;
  for (const iou of best) {
    if (iou >= iouThreshold) covered++;
    sum += iou;
  }
  const total = boxes.length;
  return {
    total,
    covered,
    share: total > 0 ? covered / total : null,
    meanBestIou: total > 0 ? sum / total : null,
    iouThreshold,
    numPriors: priors.length / 4,
  };
}

/** One row of {@link priorCoverageTable}. */
export interface PriorCoverageRow extends PriorCoverage {
  /** Branches kept. */
  branches: number;
  /** Prior reading of the ablation. */
  reading: PriorReading;
}

/** Options of {@link priorCoverageTable}. */
export interface CoverageTableOptions extends CoverageOptions {
  /** Full prior layout to slice; default {@link SSDV2_PRIORS}. */
  config?: PriorConfig;
  /** Branch counts; default 1..(number of feature maps). */
  branches?: readonly number[];
  /** Readings; default both (`own`, `carry`). */
  readings?: readonly PriorReading[];
}

/**
 * Coverage of `boxes` for each branch count (default 1..4) and reading (default `own` and `carry`) of the ablation,
 * priors from `slicePriorConfig(config, k, reading)`: one row per (k, reading), k first.
 *
 * ```ts
 * import { priorCoverageTable, resolveData, scanSplit } from "ssdv2";
 * const { records } = await scanSplit((await resolveData()).root, "val");
 * const rows = priorCoverageTable(records.flatMap((r) => r.boxes), { branches: [1] });
 * for (const r of rows) console.log(r.reading, r.covered, r.total, r.share?.toFixed(3));
 * // own 537 1625 "0.330", then carry 1530 1625 "0.942" on AIZOO's val split (results/ablation/prior_coverage.md)
 * ```
 */
export function priorCoverageTable(boxes: readonly Box[], options: CoverageTableOptions = {}): PriorCoverageRow[] {
  const config = options.config ?? SSDV2_PRIORS;
  const ks = options.branches ?? config.steps.map((_, i) => i + 1);
  const readings = options.readings ?? PRIOR_READINGS;
  return ks.flatMap((k) =>
    readings.map((reading) => ({
      branches: k,
      reading,
      ...priorCoverage(boxes, slicePriorConfig(config, k, reading), options),
    }))
  );
}
