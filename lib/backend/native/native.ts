/**
 * Registering the native backend: the wasm backend's kernels under the name "native", oneDNN kernels over them,
 * the fused blocks, and the {@link FusedBlocks} that the model's CB / DCB layers pick up.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { setFusedBlocks } from "../../model/fused.ts";
import { loadAddon, type NativeAddon, resolveThreads } from "./addon.ts";
import { fusedKernelConfigs, nativeFusedBlocks } from "./fused_blocks.ts";
import { NATIVE_BACKEND, nativeKernelConfigs } from "./kernels.ts";

/** Options of {@link loadNative}. */
export interface LoadNativeOptions {
  /** OpenMP threads for oneDNN; default SSD_NATIVE_THREADS, else every core. */
  threads?: number;
}

/** Result of {@link loadNative}. */
export type LoadNativeResult = { ok: true; backendName: string } | { ok: false; reason: string };

let loaded: NativeAddon | null = null;

/** The loaded addon (for the benchmark's sgemm peak probe and for tests), or null before {@link loadNative}. */
export function nativeAddon(): NativeAddon | null {
  return loaded;
}

/** The wasm backend instance, initialised if needed, without changing the active backend. */
async function wasmInstance(): Promise<BackendWasm> {
  const existing = tf.findBackend("wasm");
  if (existing) return existing as BackendWasm;
  const engine = tf.engine() as unknown as {
    initializeBackend(name: string): { success: boolean | Promise<boolean> };
  };
  const ok = await engine.initializeBackend("wasm").success;
  const b = tf.findBackend("wasm");
  if (!ok || !b) throw new Error("the wasm backend failed to initialise");
  return b as BackendWasm;
}

/**
 * Loads the oneDNN addon and registers the "native" backend (kernels, fused-block kernels, and the fused blocks for
 * the model layers). Does not change the active backend. Returns `{ ok: false, reason }` without throwing when the
 * addon is not built or cannot load (reason says what to run or install). Calling it again only resets threads.
 */
export async function loadNative(options: LoadNativeOptions = {}): Promise<LoadNativeResult> {
  let addon: NativeAddon;
  let threads: number;
  try {
    threads = resolveThreads(options.threads);
    addon = loadAddon();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  addon.setThreads(threads);
  if (loaded) return { ok: true, backendName: NATIVE_BACKEND };
  let wasm: BackendWasm;
  try {
    wasm = await wasmInstance();
  } catch (e) {
    return { ok: false, reason: `native backend needs the wasm backend: ${(e as Error).message}` };
  }
  const fallbacks = new Map(tf.getKernelsForBackend("wasm").map((k) => [k.kernelName, k]));
  const mine = [
    ...nativeKernelConfigs(addon, NATIVE_BACKEND, (name) => fallbacks.get(name)),
    ...fusedKernelConfigs(addon, NATIVE_BACKEND),
  ];
  const overridden = new Set(mine.map((k) => k.kernelName));
  for (const k of fallbacks.values()) {
    if (!overridden.has(k.kernelName)) tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  }
  for (const k of mine) tf.registerKernel(k);
  // The wasm kernels bind their entry points in setup; run it now so the fallbacks work before "wasm" is ever active.
  for (const k of fallbacks.values()) k.setupFunc?.(wasm);
  // Priority below wasm's (2): the backend chain in lib/backend chooses it explicitly.
  tf.registerBackend(NATIVE_BACKEND, () => wasm, 1);
  setFusedBlocks(nativeFusedBlocks(NATIVE_BACKEND));
  loaded = addon;
  return { ok: true, backendName: NATIVE_BACKEND };
}
