/**
 * Tiny training runs for the notebooks' `smoke` profile: a real run folder (lib/experiments' `runExperiment`, every
 * file of the run-folder contract) from a few steps on the generated data, so that the notebooks that display
 * runs execute the same code under `smoke` as under `full` in seconds. Their numbers mean nothing.
 * @module
 */

import { Progress } from "../train/progress.ts";
import { runExperiment } from "../experiments/pipeline.ts";
import { resolveConfig, type RunConfig } from "../runs/mod.ts";
import type { NotebookContext } from "./context.ts";

/** The config overrides of a smoke run: 2 epochs of the generated training images, batches of 8, cpu-cheap. */
export const SMOKE_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  seed: 3,
  data: { prefetch: 1, augment: true },
  train: { epochs: 2, batchSize: 8, microBatch: 4, lr: 5e-3, warmupEpochs: 0, decayEpochs: [] },
  eval: { everyEpochs: 1, batchSize: 8 },
});

/** Options of {@link smokeRunConfig} and {@link trainSmokeRun}. */
export interface SmokeRunOptions {
  /** Run name (the run folder is `<experiment>/<name>-<time>`). */
  name: string;
  /** Experiment folder below the results folder; default `smoke`. */
  experiment?: string;
  /** Model block overrides (trunk, branches). */
  model?: Partial<RunConfig["model"]>;
  /** Epochs (default 2). */
  epochs?: number;
  /** Train on this many of the generated training images (default all). */
  limitTrain?: number;
}

/** The resolved config of a smoke run (validated by lib/runs). */
export function smokeRunConfig(options: SmokeRunOptions): RunConfig {
  const base = SMOKE_CONFIG as { train: Record<string, unknown> } & Record<string, unknown>;
  return resolveConfig({
    ...base,
    name: options.name,
    experiment: options.experiment ?? "smoke",
    description: "notebook smoke run on generated data (meaningless numbers)",
    data: { ...(base.data as Record<string, unknown>), limitTrain: options.limitTrain ?? 0 },
    model: { ...options.model },
    train: { ...base.train, ...(options.epochs ? { epochs: options.epochs } : {}) },
  });
}

/**
 * Trains a smoke run on the context's (generated) data into `resultsDir` and returns its run folder. Refuses to
 * run outside the smoke profile, so a `full` notebook never shows a tiny run as if it were a real one.
 */
export async function trainSmokeRun(
  ctx: NotebookContext,
  resultsDir: string,
  options: SmokeRunOptions,
): Promise<string> {
  if (ctx.profile !== "smoke") {
    throw new Error(`trainSmokeRun: only for the smoke profile (this notebook runs with ${ctx.profile})`);
  }
  const outcome = await runExperiment(smokeRunConfig(options), {
    data: ctx.data.root,
    resultsDir,
    checksum: false,
    onLog: () => {},
    progress: new Progress({ tty: false, write: () => {} }),
  });
  return outcome.runDir;
}
