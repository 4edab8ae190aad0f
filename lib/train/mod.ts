/**
 * Training, evaluation and the experiment runner: configs, schedule, optimizer, checkpoints, run folders, the
 * training loop, evaluation of a model on a split, the end-to-end pipeline and run reports.
 * @module
 */
export * from "./schedule.ts";
export * from "./optimizer.ts";
export * from "./checkpoint.ts";
export * from "./log.ts";
export * from "./trainer.ts";
export * from "./evaluate.ts";
export * from "./pipeline.ts";
export * from "./reports.ts";
export * from "./grid.ts";
