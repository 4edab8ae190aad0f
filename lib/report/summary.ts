import type { EvalResult } from "../metrics/types.ts";

/**
 * The plain record of one finished run that tables and charts are built from, and the paper's reference numbers.
 * @module
 */

/** What one run measured. AP and mAP are fractions in [0, 1]; missing measurements are `undefined` or `null`. */
export interface RunSummary {
  /** Experiment name (its config file stem, say). */
  experiment: string;
  /** Trunk / backbone name, e.g. "ssdv2", "slim", "rfb", "aizoo". */
  trunk: string;
  /** Number of detection branches kept (1..4). */
  branches: number;
  /** VOC mAP at IoU 0.5. */
  map: number | null;
  /** VOC AP per class name (e.g. `face_mask`, `face`). */
  perClassAp: Record<string, number | null>;
  /** Trainable parameters. */
  params?: number;
  /** Multiply-accumulates per 240x320 image. */
  macs?: number;
  /** Inference images per second. */
  fps?: number;
  /** Training images per second. */
  trainImgPerSec?: number;
  /** What data the numbers come from, e.g. "AIZOO subset 3,069/930" or "GENERATED data". */
  dataLabel: string;
  /** tfjs backend the run used. */
  backend: string;
}

/** Paper Table 2: mAP (%) by number of branches. */
export const PAPER_TABLE2_MAP: Readonly<Record<number, number>> = { 1: 62.35, 2: 67.12, 3: 70.93, 4: 72.79 };

/** Paper per-class AP (%) for the 4-branch model, keyed by our class names (mask = face_mask, unmask = face). */
export const PAPER_PER_CLASS_AP: Readonly<Record<string, number>> = { face_mask: 80.97, face: 64.61 };

/** True when a data label says the data was generated (synthetic), so results must be flagged as such. */
export function isGeneratedData(dataLabel: string): boolean {
  return /generated|synthetic/i.test(dataLabel);
}

/** Distinct data labels of `runs`, in first-seen order. */
export function dataLabels(runs: readonly RunSummary[]): string[] {
  return [...new Set(runs.map((r) => r.dataLabel))];
}

/**
 * Title suffix and notes that say where numbers come from; generated data gets an explicit warning so a table or
 * chart cannot be mistaken for a result on real faces.
 */
export function provenanceNotes(runs: readonly RunSummary[]): { suffix: string; notes: string[] } {
  const labels = dataLabels(runs);
  const generated = labels.some(isGeneratedData);
  const suffix = generated ? ` [GENERATED data: ${labels.join("; ")}]` : ` [${labels.join("; ")}]`;
  const notes = [`Data: ${labels.join("; ")}. Backend: ${[...new Set(runs.map((r) => r.backend))].join(", ")}.`];
  if (generated) {
    notes.push("Built from GENERATED data: these numbers test the pipeline and are not comparable with the paper.");
  }
  return { suffix, notes };
}

/** A {@link RunSummary} from an evaluation: mAP and per-class all-point AP, plus the run's other facts. */
export function summaryFromEval(result: EvalResult, meta: Omit<RunSummary, "map" | "perClassAp">): RunSummary {
  const perClassAp: Record<string, number | null> = {};
  for (const [name, v] of Object.entries(result.voc)) perClassAp[name] = v.ap;
  return { ...meta, map: result.map, perClassAp };
}
