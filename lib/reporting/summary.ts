import type { EvalResult } from "../metrics/types.ts";
import { OBJECT_CLASSES } from "../types.ts";
import { dataLabelOf, isGeneratedData } from "../data/label.ts";

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

/** The parsed JSON files of a run folder (config.json; metrics.json and provenance.json when present). */
export interface RunFiles {
  config: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  provenance?: Record<string, unknown>;
}

/** `v` when it is a finite number, else null (run files are read without trusting their types). */
export function finiteNumber(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
const num = finiteNumber;

/** The value at `path` inside nested objects, or undefined. */
export function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The headline numbers of a run, in [0, 1]; `null` where the run has no such number. */
export interface RunScores {
  map: number | null;
  map11: number | null;
  /** All-point VOC AP per object class name. */
  ap: Record<string, number | null>;
  /** COCO-style AP@[.5:.95]. */
  cocoAp: number | null;
}

/**
 * The scores of a run from `metrics.json`, which holds the evaluator's summary
 * (`{ voc: { <class>: { ap, ap11 } }, map, map11, coco: { ap, ... } }`), either at its top level or under `val`
 * or `final`.
 */
export function runScores(run: RunFiles): RunScores {
  const m = run.metrics;
  const base = [m, getPath(m, ["final"]), getPath(m, ["val"])].find((x) => x && typeof x === "object" && "map" in x) as
    | Record<string, unknown>
    | undefined;
  const ap: Record<string, number | null> = {};
  for (const c of OBJECT_CLASSES) ap[c] = num(getPath(base, ["voc", c, "ap"]));
  return { map: num(base?.map), map11: num(base?.map11), ap, cocoAp: num(getPath(base, ["coco", "ap"])) };
}

/**
 * Whether a run trained or evaluated on generated data rather than the real images: metrics.json's or the
 * provenance's data label (as lib/train writes them), else older flags (`data.generated`, `data.source`), else the
 * config's data root.
 */
export function usesGeneratedData(run: RunFiles): boolean {
  const p = run.provenance ?? {};
  const labels = [getPath(run.metrics, ["data", "label"]), getPath(p, ["data", "label"])];
  if (labels.includes("generated")) return true;
  if (labels.includes("real")) return false;
  const flags = [
    getPath(p, ["data", "generated"]),
    getPath(p, ["generated"]),
    getPath(run.config, ["data", "generated"]),
  ];
  if (flags.some((f) => f === true)) return true;
  if (flags.some((f) => f === false)) return false;
  const texts = [
    getPath(p, ["data", "source"]),
    getPath(p, ["dataSource"]),
    getPath(p, ["data", "root"]),
    getPath(p, ["data"]),
  ]
    .filter((t) => typeof t === "string") as string[];
  return texts.some((t) => /generated/i.test(t));
}

/**
 * A run folder's {@link RunSummary}, the one reading that the per-run reports, the notebooks and the report share:
 * trunk and branches from config.json; scores, parameters, MACs and speeds from metrics.json, falling back to
 * provenance.json (older or unfinished runs); the data label from the evaluated images (metrics.json) or the
 * provenance's counts. Absent facts stay absent.
 */
export function summarizeRun(run: RunFiles, experiment: string): RunSummary {
  const s = runScores(run);
  const m = run.metrics;
  const p = run.provenance;
  const opt = (...vs: unknown[]) => vs.map(num).find((v) => v !== null) ?? undefined;
  const val = num(getPath(m, ["data", "images"])) ?? num(getPath(p, ["data", "valImages"]));
  const train = num(getPath(p, ["data", "trainImages"])) ?? undefined;
  const generated = usesGeneratedData(run);
  const description = getPath(p, ["data", "description"]);
  const dataLabel = val !== null
    ? dataLabelOf(generated ? "generated" : "real", val, train)
    : generated
    ? `GENERATED synthetic data${typeof description === "string" ? ` (${description})` : ""}`
    : "data unknown (no image counts in metrics.json or provenance.json)";
  return {
    experiment,
    trunk: String(getPath(run.config, ["model", "trunk"]) ?? "?"),
    branches: num(getPath(run.config, ["model", "branches"])) ?? 0,
    map: s.map,
    perClassAp: s.ap,
    // metrics.json keeps them under `model` (lib/train's writeEvaluation); older files had them at the top.
    params: opt(getPath(m, ["model", "params"]), getPath(m, ["params"]), getPath(p, ["params"])),
    macs: opt(getPath(m, ["model", "macs"]), getPath(m, ["macs"]), getPath(p, ["macs"])),
    fps: opt(
      getPath(m, ["speed", "forwardImgPerSec"]),
      getPath(p, ["forwardImgPerSec"]),
      getPath(p, ["evalImgPerSec"]),
    ),
    trainImgPerSec: opt(getPath(m, ["trainImgPerSec"]), getPath(p, ["trainImgPerSec"])),
    dataLabel,
    backend: String(getPath(p, ["backend", "name"]) ?? getPath(run.config, ["backend", "name"]) ?? "?"),
  };
}
