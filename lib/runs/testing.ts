/**
 * Test helpers of lib/runs: complete run files (config.json, provenance.json, metrics.json) with a few fields set,
 * so that tests of the readers build run folders that pass the same checks as the ones training writes.
 * @module
 */
import { DEFAULT_CONFIG, mergeConfig, type RunConfig } from "./config.ts";
import { writeJsonAtomic } from "./files.ts";
import type { Provenance } from "./run.ts";
import { type ListedRun, parseRunMetrics } from "./read.ts";
import { EPOCH_COLUMNS } from "./train_log.ts";

/** A nested partial: any field may be left out, at any depth (arrays are replaced whole). */
export type Partially<T> = T extends readonly unknown[] ? T
  : T extends object ? { [K in keyof T]?: Partially<T[K]> }
  : T;

/** {@link DEFAULT_CONFIG} with `over` merged in (a valid config unless `over` breaks a rule). */
export function testConfig(over: Partially<RunConfig> = {}): RunConfig {
  return mergeConfig(DEFAULT_CONFIG, over) as RunConfig;
}

/** A complete provenance.json of a finished run on real data (930 val images), with `over` merged in. */
export function testProvenance(over: Partially<Provenance> = {}): Provenance {
  const base: Provenance = {
    commit: "0123456789abcdef0123456789abcdef01234567",
    dirty: false,
    data: {
      root: "/data/aizoo-facemask",
      source: "--data",
      label: "real",
      checksum: "ab".repeat(32),
      description: "AIZOO face masks",
      trainImages: 3069,
      valImages: 930,
      problems: [],
    },
    backend: { name: "cpu", threads: null },
    seed: 1,
    host: { hostname: "test", os: "linux", arch: "x86_64", cpus: 2, deno: "2.9.6" },
    start: "2026-01-01T00:00:00.000Z",
    end: "2026-01-01T01:00:00.000Z",
    durationSeconds: 3600,
    resumed: [],
    trainImgPerSec: null,
    evalImgPerSec: null,
    forwardImgPerSec: null,
    command: "deno task train test.json",
  };
  return mergeConfig(base, over) as Provenance;
}

/**
 * A metrics.json with a mAP and per-class AP (face_mask `map + 0.05`, face `map - 0.05`) on `images` real images,
 * plus whatever `extra` adds.
 */
export function testMetrics(map: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    split: "val",
    data: { label: "real", root: "/data/aizoo-facemask", checksum: "ab".repeat(32), images: 930 },
    weights: "model/",
    voc: { face_mask: { ap: map + 0.05, ap11: map + 0.05 }, face: { ap: map - 0.05, ap11: map - 0.05 } },
    map,
    map11: map,
    ...extra,
  };
}

/** The files of {@link writeTestRun}; `null` leaves a file out. */
export interface TestRunFiles {
  config?: Partially<RunConfig>;
  provenance?: Provenance | null;
  metrics?: Record<string, unknown> | null;
  /** train_log.csv rows (without the header): `epoch,steps,lr,...` as lib/runs EpochLog writes them. */
  log?: string[] | null;
  /** `<dir>/eval/<name>/metrics.json` per name. */
  evaluations?: Record<string, Record<string, unknown>>;
}

/** Writes a run folder at `dir`: config.json always (with `files.config` merged in), the other files as given. */
export async function writeTestRun(dir: string, files: TestRunFiles = {}): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(`${dir}/config.json`, testConfig(files.config));
  if (files.provenance) await writeJsonAtomic(`${dir}/provenance.json`, files.provenance);
  if (files.metrics) await writeJsonAtomic(`${dir}/metrics.json`, files.metrics);
  if (files.log) {
    await Deno.writeTextFile(`${dir}/train_log.csv`, [EPOCH_COLUMNS.join(","), ...files.log, ""].join("\n"));
  }
  for (const [name, metrics] of Object.entries(files.evaluations ?? {})) {
    await Deno.mkdir(`${dir}/eval/${name}`, { recursive: true });
    await writeJsonAtomic(`${dir}/eval/${name}/metrics.json`, metrics);
  }
  return dir;
}

/** What {@link testRun} builds a run from. */
export interface TestRunOptions {
  experiment?: string;
  runId?: string;
  config?: Partially<RunConfig>;
  /** A metrics.json ({@link testMetrics}), or `null` (default) for a run not evaluated yet. */
  metrics?: Record<string, unknown> | null;
  /** Default {@link testProvenance}(); `null` for none. */
  provenance?: Provenance | null;
}

/** A {@link ListedRun} in memory (no folder on disk), as lib/runs `listRuns` would return it. */
export function testRun(options: TestRunOptions = {}): ListedRun {
  const experiment = options.experiment ?? "ablation";
  const runId = options.runId ?? "run-20260101-000000";
  const relPath = experiment ? `${experiment}/${runId}` : runId;
  return {
    dir: `/results/${relPath}`,
    experiment,
    runId,
    relPath,
    config: testConfig(options.config),
    metrics: options.metrics ? parseRunMetrics(options.metrics) : null,
    provenance: options.provenance === undefined ? testProvenance() : options.provenance,
    log: [],
    evaluations: [],
    files: [],
  };
}
