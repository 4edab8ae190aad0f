/**
 * danfojs-node, loaded on first use and without letting it change our tfjs.
 *
 * Loading danfo costs about 2.7 s and 240 MB, so nothing imports it at module level: code that builds a DataFrame
 * calls {@link loadDanfo}, and a command that never builds one (`--help`, detection, training until its tables)
 * never pays for it. {@link danfoLoaded} says whether it has been loaded (tests of start-up cost).
 *
 * danfojs-node 1.1.2 (the newest that installs here) brings its own tfjs 3.21, whose core shares tfjs 4.22's global
 * registries: importing it replaces 4.22's cpu kernels and the gradient functions of every op (all backends) with
 * 3.21's. {@link loadDanfo} snapshots both registries, imports danfo, then puts 4.22's entries back, so a training
 * run that also writes danfo tables keeps the kernels and gradients it was tested with. Import danfo only through
 * here.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";

type Registry = Map<unknown, unknown>;

/** The danfojs-node module. */
export type Danfo = typeof import("danfojs-node");

/** The tfjs global registries that a second copy of tfjs-core overwrites. */
export const GUARDED_REGISTRIES = ["kernelRegistry", "gradRegistry"] as const;

function tfGlobals(): Map<string, unknown> {
  // tfjs-core keeps its registries in `_tfGlobals` on the global object; touching a kernel makes sure it exists.
  tf.getKernelsForBackend(tf.getBackend() ?? "cpu");
  const globals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals;
  if (!globals) throw new Error("lib/util/danfo.ts: tfjs global registries not found (tfjs-core layout changed?)");
  return globals;
}

/** Runs `load` and then restores the guarded tfjs registries to what they held before it. */
export async function withTfRegistriesKept<T>(load: () => Promise<T>): Promise<T> {
  const globals = tfGlobals();
  const saved = GUARDED_REGISTRIES.map((name) => [name, new Map(globals.get(name) as Registry)] as const);
  try {
    return await load();
  } finally {
    for (const [name, entries] of saved) {
      const registry = globals.get(name) as Registry;
      registry.clear();
      for (const [key, value] of entries) registry.set(key, value);
    }
  }
}

/** Warnings the second tfjs prints while it re-registers what 4.22 already has (over 300 lines). */
const REGISTRATION_NOISE = /already registered|already been set|Reusing existing backend/;

async function importDanfo(): Promise<Danfo> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!REGISTRATION_NOISE.test(String(args[0]))) warn(...args);
  };
  // One of danfo's dependencies requires Node's deprecated `punycode` module, which prints a DeprecationWarning
  // (DEP0040) in the middle of a run's output; it says nothing about our code, so it is muted while danfo loads.
  const noDeprecation = process.noDeprecation;
  process.noDeprecation = true;
  try {
    return await import("danfojs-node");
  } finally {
    console.warn = warn;
    process.noDeprecation = noDeprecation;
  }
}

let danfo: Danfo | null = null;
let loading: Promise<Danfo> | null = null;

/** Whether danfojs-node has been loaded in this process. */
export function danfoLoaded(): boolean {
  return danfo !== null;
}

/** The danfojs-node module, imported on the first call with tfjs 4.22's kernels and gradients kept. */
export function loadDanfo(): Promise<Danfo> {
  if (danfo) return Promise.resolve(danfo);
  loading ??= withTfRegistriesKept(importDanfo).then((m) => danfo = m, (e) => {
    loading = null;
    throw e;
  });
  return loading;
}
