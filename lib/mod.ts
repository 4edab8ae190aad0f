/**
 * SSDv2 face-mask detection in TypeScript: the public API of the library.
 *
 * Each area also has its own `mod.ts` (lib/data/mod.ts, lib/model/mod.ts, ...); notebooks and commands may import
 * either this file or the area they need.
 * @module
 */
export * from "./types.ts";
export * from "./util/rng.ts";
export * from "./backend/mod.ts";
export * from "./data/mod.ts";
export * from "./detect/mod.ts";
export * from "./loss/mod.ts";
export * from "./model/mod.ts";
export * from "./metrics/mod.ts";
export * from "./report/mod.ts";
export * from "./runs/mod.ts";
export * from "./train/mod.ts";
