/**
 * The native {@link SgdKernel}: one addon call per weight (`sgdUpdate`, native/ssd_native.cc) in place of the five or
 * six tfjs kernels of lib/train/optimizer.ts's update (divide, decay, momentum, step, two assigns), bit for bit the
 * same weights and buffers (tested). It writes into the weight's and the buffer's memory in the wasm heap, so it
 * declines (and the tfjs form runs) unless the native backend is active and no other tensor shares that memory.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { SgdKernel, SgdKernelParams } from "../../types.ts";
import type { NativeAddon } from "./addon.ts";
import { nativeAddon } from "./native.ts";
import { heapView, NATIVE_BACKEND } from "./kernels.ts";

/** A kernel over `addon`, used while `tf.getBackend()` is the native backend. */
export function createNativeSgdKernel(addon: NativeAddon): SgdKernel {
  return (w: tf.Variable, buffer: tf.Variable, g: tf.Tensor, p: SgdKernelParams): boolean => {
    if (tf.getBackend() !== NATIVE_BACKEND) return false;
    if (w.dtype !== "float32" || buffer.dtype !== "float32" || g.dtype !== "float32") return false;
    const backend = tf.backend() as BackendWasm;
    // In place is safe only where nothing else reads the weight's or the buffer's bytes.
    if (backend.refCount(w.dataId) !== 1 || backend.refCount(buffer.dataId) !== 1) return false;
    if (w.dataId === g.dataId || buffer.dataId === g.dataId) return false;
    addon.sgdUpdate(
      heapView(backend, w),
      heapView(backend, buffer),
      heapView(backend, g),
      p.scale,
      p.lr,
      p.momentum,
      p.weightDecay,
      p.decay,
      p.nesterov,
    );
    return true;
  };
}

/**
 * The native kernel when the addon is loaded (the native backend set up) and `SSD_NATIVE_SGD` is not `0`; else null,
 * and the tfjs form runs. A value other than 0 / 1 / empty is an error naming the variable.
 */
export function nativeSgdKernel(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): SgdKernel | null {
  const raw = (env("SSD_NATIVE_SGD") ?? "").trim();
  if (raw !== "" && raw !== "0" && raw !== "1") {
    throw new Error(
      `SSD_NATIVE_SGD must be 0 (tfjs kernels) or 1 (one native call a weight, the default), got "${raw}"`,
    );
  }
  const addon = nativeAddon();
  return addon && raw !== "0" ? createNativeSgdKernel(addon) : null;
}
