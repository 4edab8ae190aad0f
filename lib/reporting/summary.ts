import type { EvalResult } from "../metrics/types.ts";
import { OBJECT_CLASSES } from "../types.ts";
import { dataLabelOf, isGeneratedData } from "../data/label.ts";
import type { Run } from "../runs/read.ts";

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

/**
 * Whether a run trained or evaluated on generated data rather than the real images: the data label of its
 * metrics.json or its provenance.json (either one saying `generated` is enough).
 */
export function usesGeneratedData(run: Pick<Run, "metrics" | "provenance">): boolean {
  return run.metrics?.data?.label === "generated" || run.provenance?.data.label === "generated";
}

/**
 * A run's {@link RunSummary}, the one reading that the per-run reports, Table 2's neighbours, the notebooks and the
 * report page share: trunk and branches from config.json; scores, parameters, MACs and speeds from metrics.json,
 * speeds falling back to provenance.json (unfinished runs); the data label from the evaluated images (metrics.json)
 * or the provenance's counts. Absent facts stay absent. `name` is the summary's `experiment` (default the config's
 * name; the report page names runs by their folder).
 */
export function summarizeRun(run: Run, name: string = run.config.name): RunSummary {
  const m = run.metrics;
  const p = run.provenance;
  const given = (...vs: (number | null | undefined)[]) => vs.find((v) => v !== null && v !== undefined) ?? undefined;
  const val = given(m?.data?.images, p?.data.valImages) ?? null;
  const generated = usesGeneratedData(run);
  const dataLabel = val !== null
    ? dataLabelOf(generated ? "generated" : "real", val, p?.data.trainImages)
    : generated
    ? `GENERATED synthetic data${p ? ` (${p.data.description})` : ""}`
    : "data unknown (no image counts in metrics.json or provenance.json)";
  const perClassAp: Record<string, number | null> = {};
  for (const c of OBJECT_CLASSES) perClassAp[c] = m?.voc[c]?.ap ?? null;
  return {
    experiment: name,
    trunk: run.config.model.trunk,
    branches: run.config.model.branches,
    map: m?.map ?? null,
    perClassAp,
    params: given(m?.model?.params),
    macs: given(m?.model?.macs),
    fps: given(m?.speed?.forwardImgPerSec, p?.forwardImgPerSec, p?.evalImgPerSec),
    trainImgPerSec: given(m?.trainImgPerSec, p?.trainImgPerSec),
    dataLabel,
    backend: p?.backend.name ?? run.config.backend.name,
  };
}
