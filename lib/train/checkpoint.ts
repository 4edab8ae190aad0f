/**
 * Checkpoints: per epoch one folder with the model weights (TF.js format), the optimizer state and the loop state
 * (epoch, step, RNG state, best metric). A folder is assembled under a temporary name and renamed into place, then
 * `index.json` (the commit point) is rewritten atomically; only the last and the best checkpoints are kept.
 *
 * Layout: `<dir>/index.json` `{ last, best, bestMetric }` and `<dir>/epoch-NNNN/{model.json, model.weights.bin,
 * optimizer.json, optimizer.weights.bin, state.json}`.
 * @module
 */
import { exists, type NamedArray, readJson, readWeights, writeJsonAtomic, writeWeights } from "../runs/files.ts";
import type { SgdState } from "./optimizer.ts";

/** The training loop's own state at the end of an epoch. */
export interface LoopState {
  /** Epochs completed (1-based count). */
  epoch: number;
  /** Optimizer steps completed. */
  step: number;
  /** State of the run's master {@link Rng} after this epoch. */
  rngState: number;
  /** Best validation mAP so far and its epoch (null before the first evaluation). */
  bestMetric: number | null;
  bestEpoch: number | null;
}

/** Everything a checkpoint holds. */
export interface Checkpoint {
  weights: NamedArray[];
  optimizer: SgdState;
  state: LoopState;
}

/** Contents of `index.json`. */
export interface CheckpointIndex {
  last: string | null;
  best: string | null;
  bestMetric: number | null;
}

/** Folder name of the checkpoint after `epoch`. */
export function checkpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, "0")}`;
}

/** Reads `index.json`, or an empty index when there is none yet. */
export async function readCheckpointIndex(dir: string): Promise<CheckpointIndex> {
  const path = `${dir}/index.json`;
  if (!(await exists(path))) return { last: null, best: null, bestMetric: null };
  return await readJson<CheckpointIndex>(path);
}

/**
 * Saves the checkpoint after `checkpoint.state.epoch` into `dir` and prunes older ones. With `isBest` it also
 * becomes the best checkpoint. Returns the folder written.
 */
export async function saveCheckpoint(
  dir: string,
  checkpoint: Checkpoint,
  options: { isBest?: boolean; metric?: number | null; metadata?: Record<string, unknown> } = {},
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const name = checkpointName(checkpoint.state.epoch);
  const tmp = `${dir}/.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.mkdir(tmp);
  try {
    await writeWeights(tmp, checkpoint.weights, { stem: "model", metadata: options.metadata });
    const buffers = checkpoint.optimizer.buffers.map((b) => ({ name: b.name, shape: b.shape, data: b.data }));
    await writeWeights(tmp, buffers, { stem: "optimizer", metadata: { iterations: checkpoint.optimizer.iterations } });
    await writeJsonAtomic(`${tmp}/state.json`, checkpoint.state);
    const final = `${dir}/${name}`;
    // A resumed run may write an epoch again; the index does not point at it yet, so removing it is safe.
    const index = await readCheckpointIndex(dir);
    if (await exists(final)) {
      if (index.best === name || index.last === name) {
        await writeJsonAtomic(`${dir}/index.json`, {
          ...index,
          last: index.last === name ? null : index.last,
          best: index.best === name ? null : index.best,
        });
      }
      await Deno.remove(final, { recursive: true });
    }
    await Deno.rename(tmp, final);
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new Error(`cannot save checkpoint ${name} in ${dir}: ${(err as Error).message}`);
  }
  const index = await readCheckpointIndex(dir);
  const next: CheckpointIndex = options.isBest
    ? { last: name, best: name, bestMetric: options.metric ?? null }
    : { ...index, last: name };
  await writeJsonAtomic(`${dir}/index.json`, next);
  await pruneCheckpoints(dir, next);
  return `${dir}/${name}`;
}

/** Removes checkpoint folders (and leftover temporary ones) that the index no longer names. */
async function pruneCheckpoints(dir: string, index: CheckpointIndex): Promise<void> {
  const keep = new Set([index.last, index.best].filter((x): x is string => x !== null));
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isDirectory) continue;
    const isCheckpoint = /^epoch-\d+$/.test(entry.name) || /^\.epoch-\d+\..*\.tmp$/.test(entry.name);
    if (isCheckpoint && !keep.has(entry.name)) await Deno.remove(`${dir}/${entry.name}`, { recursive: true });
  }
}

/** Loads the `last` or `best` checkpoint from `dir`, or `null` when there is none. */
export async function loadCheckpoint(
  dir: string,
  options: { which?: "last" | "best" } = {},
): Promise<(Checkpoint & { path: string }) | null> {
  const index = await readCheckpointIndex(dir);
  const name = index[options.which ?? "last"];
  if (!name) return null;
  const path = `${dir}/${name}`;
  const model = await readWeights(path, { stem: "model" });
  const opt = await readWeights(path, { stem: "optimizer" });
  const state = await readJson<LoopState>(`${path}/state.json`);
  if (typeof state.epoch !== "number" || typeof state.rngState !== "number") {
    throw new Error(`${path}/state.json: missing epoch or rngState`);
  }
  const iterations = Number(opt.metadata.iterations ?? 0);
  return { path, weights: model.weights, optimizer: { iterations, buffers: opt.weights }, state };
}
