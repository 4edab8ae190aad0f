/**
 * Atomic file writes and weights in the TF.js format (`model.json` with a `weightsManifest`, plus one binary
 * shard), written without tf.io's browser or `file://` handlers so that the same code runs in tests, CLIs and
 * notebooks.
 *
 * Weights are matched by position, not by name, when loaded: tfjs numbers layer names globally per process, so a
 * model rebuilt in the same process gets different names; shapes are checked one by one instead.
 * @module
 */

import type { NamedArray } from "../model/weights.ts";
export type { NamedArray };

function tempName(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const base = path.slice(slash + 1);
  return `${dir}.${base}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/** Writes `data` to `path` through a temporary file in the same folder and a rename, so readers never see half. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempName(path);
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`cannot write ${path}: ${(err as Error).message}`);
  }
}

/** {@link writeFileAtomic} for JSON, pretty-printed with a final newline. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** A JSON file that cannot be read or parsed; `message` is `<file>: <problem>`. */
export class JsonFileError extends Error {
  /** Creates the error for `file`; `notFound` tells a missing file from an unreadable or invalid one. */
  constructor(readonly file: string, readonly problem: string, readonly notFound = false) {
    super(`${file}: ${problem}`);
    this.name = "JsonFileError";
  }
}

/**
 * Reads and parses a JSON file: the one JSON reader of run files. Errors are {@link JsonFileError}s naming the file
 * (`file not found`, `not valid JSON: ...`).
 */
export async function readJson<T = unknown>(path: string): Promise<T> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const notFound = err instanceof Deno.errors.NotFound;
    throw new JsonFileError(path, notFound ? "file not found" : (err as Error).message, notFound);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new JsonFileError(path, `not valid JSON: ${(err as Error).message}`);
  }
}

/** {@link readJson}, or `null` when the file does not exist (any other problem is still an error). */
export async function readJsonIfPresent<T = unknown>(path: string): Promise<T | null> {
  try {
    return await readJson<T>(path);
  } catch (err) {
    if (err instanceof JsonFileError && err.notFound) return null;
    throw err;
  }
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function concat(arrays: NamedArray[]): Uint8Array {
  const total = arrays.reduce((n, a) => n + a.data.length, 0);
  const all = new Float32Array(total);
  let offset = 0;
  for (const a of arrays) {
    all.set(a.data, offset);
    offset += a.data.length;
  }
  return new Uint8Array(all.buffer);
}

/** Options of {@link writeWeights}. */
export interface WriteWeightsOptions {
  /** File stem of the json and bin files (default `model` -> `model.json` + `model.weights.bin`). */
  stem?: string;
  /** Stored as `modelTopology` (a tfjs layers topology, or `null` when the model cannot serialise one). */
  topology?: unknown;
  /** Stored as `userDefinedMetadata` (e.g. the model config needed to rebuild the network). */
  metadata?: Record<string, unknown>;
}

/**
 * Writes weights in the TF.js layers-model format into `dir`: `<stem>.json` (topology, `weightsManifest` with one
 * float32 shard) and `<stem>.weights.bin`. Both files are written atomically; the bin first, so a json never
 * points at a missing or partial shard.
 */
export async function writeWeights(dir: string, weights: NamedArray[], options: WriteWeightsOptions = {}) {
  const stem = options.stem ?? "model";
  for (const w of weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (n !== w.data.length) {
      throw new Error(`writeWeights: ${w.name} has shape [${w.shape}] but ${w.data.length} values`);
    }
  }
  const bin = `${stem}.weights.bin`;
  await writeFileAtomic(`${dir}/${bin}`, concat(weights));
  await writeJsonAtomic(`${dir}/${stem}.json`, {
    format: "layers-model",
    generatedBy: "ssdv2-ts lib/train",
    convertedBy: null,
    modelTopology: options.topology ?? null,
    weightsManifest: [{
      paths: [bin],
      weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: "float32" })),
    }],
    userDefinedMetadata: options.metadata ?? {},
  });
}

/** What {@link readWeights} returns. */
export interface ReadWeights {
  weights: NamedArray[];
  metadata: Record<string, unknown>;
  topology: unknown;
}

interface ManifestFile {
  weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  userDefinedMetadata?: Record<string, unknown>;
  modelTopology?: unknown;
}

/** Reads weights written by {@link writeWeights} (or any float32 TF.js manifest); errors name the file. */
export async function readWeights(dir: string, options: { stem?: string } = {}): Promise<ReadWeights> {
  const jsonPath = `${dir}/${options.stem ?? "model"}.json`;
  const manifest = await readJson<ManifestFile>(jsonPath);
  if (!Array.isArray(manifest.weightsManifest)) throw new Error(`${jsonPath}: no weightsManifest`);
  const weights: NamedArray[] = [];
  for (const group of manifest.weightsManifest) {
    const parts: Uint8Array[] = [];
    for (const p of group.paths) {
      const binPath = `${dir}/${p}`;
      try {
        parts.push(await Deno.readFile(binPath));
      } catch (err) {
        throw new Error(`${binPath}: cannot read weight shard named in ${jsonPath}: ${(err as Error).message}`);
      }
    }
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    const floats = new Float32Array(bytes.buffer, 0, Math.floor(bytes.length / 4));
    let offset = 0;
    for (const spec of group.weights) {
      if (spec.dtype !== "float32") {
        throw new Error(`${jsonPath}: weight ${spec.name} is ${spec.dtype}, expected float32`);
      }
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (offset + n > floats.length) {
        throw new Error(`${jsonPath}: shard holds ${floats.length} values, the manifest needs more (at ${spec.name})`);
      }
      weights.push({ name: spec.name, shape: spec.shape, data: floats.slice(offset, offset + n) });
      offset += n;
    }
    if (offset * 4 !== bytes.length) {
      throw new Error(`${jsonPath}: shard has ${bytes.length} bytes, the manifest describes ${offset * 4}`);
    }
  }
  return { weights, metadata: manifest.userDefinedMetadata ?? {}, topology: manifest.modelTopology ?? null };
}
