/**
 * The detector models: block layers, the SSDv2 trunk and the trunks we compare, and the model summary.
 * @module
 */
export * from "./blocks.ts";
export * from "./detector.ts";
export * from "./summary.ts";
export * from "./fused.ts";
