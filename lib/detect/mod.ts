/**
 * The detection core: priors, box coding, matching and post-processing.
 * @module
 */
export * from "./priors.ts";
export * from "./boxes.ts";
export * from "./match.ts";
export * from "./postprocess.ts";
export * from "./coverage.ts";
