/**
 * The notebooks' plumbing: nbformat notebooks built from TypeScript sources and run headlessly in Jupyter, the
 * runtime helpers the notebook cells call (display, drawing, paths, run discovery) and the smoke run CI uses.
 * @module
 */
export * from "./nbformat.ts";
export * from "./jupyter.ts";
export * from "../reporting/runs.ts";
export * from "../reporting/draw.ts";
export * from "./context.ts";
export * from "./display.ts";
export * from "./smoke.ts";
export * from "./notebook_runs.ts";
export * from "./paths.ts";
