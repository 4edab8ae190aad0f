/**
 * Run folders: `results/<experiment>/<run-id>/` and the contract of docs/design.md, plus the provenance
 * record (commit, data checksum and label, backend, seed, host, times, speeds).
 * @module
 */
import process from "node:process";
import { exists, readJson, writeJsonAtomic } from "./files.ts";
import { checkShape, shape as S } from "./shape.ts";
import type { RunConfig } from "./config.ts";
import { OBJECT_CLASSES } from "../types.ts";

/** Files every finished run folder holds (the P-R files are one per object class). */
export const RUN_CONTRACT: readonly string[] = [
  "config.json",
  "metrics.json",
  ...OBJECT_CLASSES.map((c) => `pr_${c}.json`),
  "model/model.json",
  "model/model.weights.bin",
  "train_log.csv",
  "train.log",
  "provenance.json",
];

/** Where the run's data came from, as recorded everywhere it matters. */
export interface DataProvenance {
  root: string;
  /** How the folder was found: `--data`, `FACEMASK_DATA`, `data/aizoo-facemask` or `generated`. */
  source: string;
  /** `generated` (synthetic pictures) or `real`. */
  label: "generated" | "real";
  /** Checksum of the data files (lib/data's dataChecksum). */
  checksum: string;
  description: string;
  trainImages: number;
  valImages: number;
  /**
   * Every problem the scan of the splits found (`<file>: <problem>`); samples with an error are left out of the
   * run. Absent in runs recorded before this field existed.
   */
  problems?: string[];
}

/** One resumed session of a run, as {@link Provenance.resumedSessions} records it. */
export interface ResumedSession {
  start: string;
  commit: string | null;
  dirty: boolean | null;
  backend: string;
  /** The processor of that session (a resumed run may move to another machine). */
  cpu?: CpuInfo;
}

/** Contents of `provenance.json`. */
export interface Provenance {
  commit: string | null;
  /** Whether the working tree had uncommitted changes when the run started. */
  dirty: boolean | null;
  data: DataProvenance;
  backend: { name: string; threads: number | null; detail?: unknown };
  seed: number;
  /** The machine; `cpu` is absent in runs recorded before it was added. */
  host: { hostname: string; os: string; arch: string; cpus: number; deno: string; cpu?: CpuInfo };
  start: string;
  end: string | null;
  durationSeconds: number | null;
  /** Start times of resumed sessions, oldest first. */
  resumed: string[];
  /**
   * The code and backend each resumed session ran with, oldest first (a long run may be resumed under a newer
   * commit). Absent in runs recorded before this field existed, and it covers only the resumes made since.
   */
  resumedSessions?: ResumedSession[];
  trainImgPerSec: number | null;
  evalImgPerSec: number | null;
  forwardImgPerSec: number | null;
  command: string;
}

/** `<name>-YYYYMMDD-HHMMSS` in UTC. */
export function makeRunId(name: string, date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${date.getUTCFullYear()}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}-` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`;
  return `${name}-${stamp}`;
}

/**
 * Creates `<resultsDir>/<experiment>/<run-id>/` and writes `config.json` there. Fails when the folder exists (a
 * run is never overwritten; use resume instead).
 */
export async function createRunDir(
  config: RunConfig,
  options: { resultsDir?: string; runId?: string; date?: Date } = {},
): Promise<string> {
  const id = options.runId ?? makeRunId(config.name, options.date ?? new Date());
  const dir = `${options.resultsDir ?? "results"}/${config.experiment}/${id}`;
  if (await exists(dir)) throw new Error(`${dir}: run folder already exists (use --resume to continue it)`);
  await Deno.mkdir(dir, { recursive: true });
  await writeJsonAtomic(`${dir}/config.json`, config);
  return dir;
}

/** What `run.lock` in a run folder holds while a process trains into it. */
export interface RunLockInfo {
  pid: number;
  hostname: string;
  start: string;
  command: string;
}

/** A held run-folder lock; {@link RunLock.release} removes it. */
export interface RunLock {
  path: string;
  /** Set when the lock was taken over from a process that no longer runs. */
  tookOverFrom: RunLockInfo | null;
  release(): Promise<void>;
}

/**
 * Whether process `pid` runs on this machine and may be a training process (signal 0 probes without signalling). On
 * Linux a live pid whose command line does not mention deno is another process that reuses the number (after a
 * restart, say), so it does not hold the lock.
 */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    if ((e as { code?: string }).code !== "EPERM") return false;
  }
  if (Deno.build.os !== "linux") return true;
  try {
    return /deno/.test(Deno.readTextFileSync(`/proc/${pid}/cmdline`));
  } catch {
    return true;
  }
}

/**
 * Takes `<runDir>/run.lock` (created exclusively), so that two processes never train into one run folder (say, a
 * grid resuming a run that a `--resume` elsewhere is still training). A lock left by a process that no longer runs
 * on this machine (killed, machine restarted) is taken over; a live one, or one from another host, is an error
 * naming the holder.
 */
export async function acquireRunLock(runDir: string, command = ["deno", ...Deno.args].join(" ")): Promise<RunLock> {
  const path = `${runDir}/run.lock`;
  const mine: RunLockInfo = { pid: Deno.pid, hostname: Deno.hostname(), start: new Date().toISOString(), command };
  let tookOverFrom: RunLockInfo | null = null;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, JSON.stringify(mine, null, 2) + "\n", { createNew: true });
      return {
        path,
        tookOverFrom,
        release: async () => {
          try {
            const now = JSON.parse(await Deno.readTextFile(path)) as RunLockInfo;
            if (now.pid === mine.pid && now.start === mine.start) await Deno.remove(path);
          } catch (e) {
            if (!(e instanceof Deno.errors.NotFound)) throw e;
          }
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    let held: RunLockInfo;
    try {
      held = JSON.parse(await Deno.readTextFile(path)) as RunLockInfo;
    } catch (e) {
      throw new Error(
        `${path}: run folder is locked and its lock cannot be read (${(e as Error).message}); ` +
          `delete it if no process is training this run`,
      );
    }
    const here = held.hostname === mine.hostname;
    if (!here || !Number.isInteger(held.pid) || processAlive(held.pid)) {
      throw new Error(
        `${runDir}: another process is training this run (pid ${held.pid} on ${held.hostname} since ${held.start}: ` +
          `${held.command}); wait for it or stop it${here ? "" : `, or delete ${path} if it no longer runs`}`,
      );
    }
    tookOverFrom = held;
    await Deno.remove(path).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  throw new Error(`${path}: another process took the lock at the same moment; try again`);
}

/** The current git commit and whether the tree is dirty; nulls when git is unavailable. */
export async function gitState(cwd = "."): Promise<{ commit: string | null; dirty: boolean | null }> {
  const run = async (args: string[]) => {
    try {
      const out = await new Deno.Command("git", { args, cwd, stdout: "piped", stderr: "null" }).output();
      return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
    } catch {
      return null;
    }
  };
  const commit = await run(["rev-parse", "HEAD"]);
  const status = commit ? await run(["status", "--porcelain", "--untracked-files=no"]) : null;
  return { commit, dirty: status === null ? null : status.length > 0 };
}

/** The processor: its model name and widest vector instruction set (speed figures depend on it). */
export interface CpuInfo {
  model: string;
  /** `AVX-512` (oneDNN runs Winograd there), `AVX2`, `other`, or `unknown` where /proc/cpuinfo is unreadable. */
  isa: "AVX-512" | "AVX2" | "other" | "unknown";
  /**
   * oneDNN's instruction-set cap (`ONEDNN_MAX_CPU_ISA`, or the older `DNNL_MAX_CPU_ISA`), upper-cased, where one is
   * set: `AVX2` on an AVX-512 CPU runs the kernels an AVX2 machine runs. Absent when nothing caps it.
   */
  onednnMaxIsa?: string;
}

/** Environment lookup that yields undefined where reading the environment is not permitted. */
function envOrUndefined(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Reads the CPU model and vector ISA from /proc/cpuinfo (Linux; `unknown` elsewhere) and oneDNN's ISA cap from the
 * environment (`env`, default the process's).
 */
export function cpuInfo(text?: string, env: (name: string) => string | undefined = envOrUndefined): CpuInfo {
  const cap = (env("ONEDNN_MAX_CPU_ISA") ?? env("DNNL_MAX_CPU_ISA"))?.trim().toUpperCase();
  const capped = cap && cap !== "ALL" ? { onednnMaxIsa: cap } : {};
  let info = text;
  if (info === undefined) {
    try {
      info = Deno.readTextFileSync("/proc/cpuinfo");
    } catch {
      return { model: "unknown", isa: "unknown", ...capped };
    }
  }
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? "unknown";
  const flags = ` ${/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? ""} `;
  const isa = flags.includes(" avx512f ")
    ? "AVX-512"
    : flags.includes(" avx2 ")
    ? "AVX2"
    : flags.trim()
    ? "other"
    : "unknown";
  return { model, isa, ...capped };
}

/** Whether oneDNN runs its AVX-512 kernels (and its Winograd) on this CPU: AVX-512 there and not capped below it. */
export function onednnAvx512(cpu: CpuInfo): boolean {
  return cpu.isa === "AVX-512" && (cpu.onednnMaxIsa === undefined || cpu.onednnMaxIsa.startsWith("AVX512"));
}

/** `AVX-512`, or `AVX-512 capped to AVX2 (ONEDNN_MAX_CPU_ISA)`: how speed records name the ISA the kernels ran. */
export function describeIsa(cpu: CpuInfo): string {
  return cpu.onednnMaxIsa === undefined ? cpu.isa : `${cpu.isa} capped to ${cpu.onednnMaxIsa} (ONEDNN_MAX_CPU_ISA)`;
}

/** Host description for provenance. */
export function hostInfo(): Provenance["host"] {
  let hostname = "unknown";
  try {
    hostname = Deno.hostname();
  } catch { /* not permitted: keep unknown */ }
  return {
    hostname,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency ?? 0,
    deno: Deno.version.deno,
    cpu: cpuInfo(),
  };
}

/** Writes `provenance.json` atomically. */
export async function writeProvenance(runDir: string, provenance: Provenance): Promise<void> {
  await writeJsonAtomic(`${runDir}/provenance.json`, provenance);
}

/**
 * Reads `provenance.json` of a run, checked by {@link parseProvenance}.
 *
 * ```ts
 * import { readRun } from "ssdv2";
 * const p = (await readRun("results/ablation/branches-4-20261129-122037")).provenance!; // readProvenance's result
 * console.log(p.commit?.slice(0, 7), p.data.label, p.data.valImages, p.backend.name); // 113ef4c real 930 native
 * console.log(p.durationSeconds, p.trainImgPerSec?.toFixed(1)); // 6035.133 "36.1": seconds, training images/s
 * ```
 */
export async function readProvenance(runDir: string): Promise<Provenance> {
  const file = `${runDir}/provenance.json`;
  return parseProvenance(await readJson(file), { file });
}

/** The shape of a recorded {@link CpuInfo} (provenance.json, reproduce.json). */
export const CPU_SHAPE = S.object({
  model: S.string(),
  isa: S.oneOf("AVX-512", "AVX2", "other", "unknown"),
  onednnMaxIsa: S.optional(S.string()),
});

/**
 * The shape of provenance.json. Fields added after the first runs were recorded (`data.problems`, `host.cpu`,
 * `resumedSessions`) may be absent, as {@link Provenance} says; every other field has been written since the start.
 */
const PROVENANCE_SHAPE = S.object({
  commit: S.nullable(S.string()),
  dirty: S.nullable(S.boolean()),
  data: S.object({
    root: S.string(),
    source: S.string(),
    label: S.oneOf("generated", "real"),
    checksum: S.string(),
    description: S.string(),
    trainImages: S.integer(0),
    valImages: S.integer(0),
    problems: S.optional(S.array(S.string())),
  }),
  backend: S.object({ name: S.string(), threads: S.nullable(S.number()), detail: S.optional(S.any()) }),
  seed: S.integer(0),
  host: S.object({
    hostname: S.string(),
    os: S.string(),
    arch: S.string(),
    cpus: S.integer(0),
    deno: S.string(),
    cpu: S.optional(CPU_SHAPE),
  }),
  start: S.string(),
  end: S.nullable(S.string()),
  durationSeconds: S.nullable(S.number(0)),
  resumed: S.array(S.string()),
  resumedSessions: S.optional(S.array(S.object({
    start: S.string(),
    commit: S.nullable(S.string()),
    dirty: S.nullable(S.boolean()),
    backend: S.string(),
    cpu: S.optional(CPU_SHAPE),
  }))),
  trainImgPerSec: S.nullable(S.number(0)),
  evalImgPerSec: S.nullable(S.number(0)),
  forwardImgPerSec: S.nullable(S.number(0)),
  command: S.string(),
});

/**
 * Checks a parsed provenance.json against {@link Provenance}; a bad or missing field is a `RunFileError` naming
 * `file` and the field. Keys it does not know are kept (rewriting a provenance must not drop them).
 */
export function parseProvenance(raw: unknown, options: { file?: string } = {}): Provenance {
  return checkShape<Provenance>(PROVENANCE_SHAPE, raw, options.file ?? "provenance.json");
}

/** Contract files missing from a run folder (empty when the run is complete). */
export async function missingRunFiles(runDir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const f of RUN_CONTRACT) if (!(await exists(`${runDir}/${f}`))) missing.push(f);
  return missing;
}
