/**
 * The training engine: the loop (split into step, epoch and finish), the SGD optimizer, the learning-rate schedule,
 * checkpoints and the progress line. It knows a model, a loss and batches; run configs and run folders are the
 * business of lib/experiments.
 * @module
 */
export * from "./schedule.ts";
export * from "./optimizer.ts";
export * from "./checkpoint.ts";
export * from "./progress.ts";
export * from "./trainer.ts";
