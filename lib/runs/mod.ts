/**
 * Run folders: the schema of `config.json` and its validation, the JSON and weight files, provenance and the lock a
 * training process holds, and the typed reading of a whole run folder (`readRun`, `listRuns`). Everything that
 * writes or reads a run folder goes through here.
 * @module
 */
export * from "./config.ts";
export * from "./files.ts";
export * from "./run.ts";
export * from "./train_log.ts";
export * from "./read.ts";
export * from "./shape.ts";
