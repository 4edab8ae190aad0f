/**
 * The notebooks' plumbing and the shareable report: nbformat notebooks built from TypeScript sources, run-folder
 * discovery, the static HTML page, and a headless-browser check of that page.
 * @module
 */

export * from "./notebook.ts";
export * from "./html.ts";
export * from "./vendor.ts";
export * from "./browser.ts";
export * from "./runs.ts";
export * from "./draw.ts";
export * from "./context.ts";
export * from "./display.ts";
export * from "./report.ts";
export * from "./smoke.ts";
export * from "./notebook_runs.ts";
export * from "./paths.ts";
