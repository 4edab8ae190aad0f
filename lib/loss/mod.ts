/**
 * Training losses of the detector.
 * @module
 */
export * from "./multibox.ts";
