/**
 * Experiments: a run config trained into a run folder and evaluated (the pipeline), grids of configs (Table 2's
 * ablation, the backbone comparison) with reuse and resume of finished and interrupted runs, and the evaluation of a
 * run folder on other data.
 * @module
 */
export * from "./pipeline.ts";
export * from "./grid.ts";
export * from "./run_evaluation.ts";
