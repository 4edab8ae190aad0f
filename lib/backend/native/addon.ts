/**
 * Finding and loading the compiled oneDNN addon (native/build/Release/ssd_native.node).
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import { fileURLToPath } from "node:url";

/**
 * Convolution geometry passed to the addon, 18 int32 values in this order: N, IH, IW, IC, OH, OW, OC, KH, KW,
 * SH, SW, DH, DW, padTop, padLeft, padBottom, padRight, groups.
 */
export type ConvParams = Int32Array;

/** Activation codes understood by {@link NativeAddon.convForward}. */
export const ACTIVATION_CODES: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

/** A plan built by {@link NativeAddon.createPlan}: opaque, valid until {@link NativeAddon.disposePlan}. */
export type NativePlanHandle = { readonly __nativePlan: unique symbol };

/**
 * The functions the addon exports. Every array argument views caller-owned memory (the wasm heap); outputs are
 * written in place. NHWC activations; weights in tfjs layouts.
 */
export interface NativeAddon {
  /** y = act(conv(x, w) + bias). */
  convForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    p: ConvParams,
    act: number,
    alpha: number,
  ): void;
  /** dx = gradient of conv(x, w) with respect to x. */
  convBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, p: ConvParams): void;
  /** dw = gradient of conv(x, w) with respect to w. */
  convBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, p: ConvParams): void;
  /**
   * Fused CB forward; training writes z (conv output), the batch mean / biased variance and the ReLU workspace `ws`
   * ({@link bnWorkspaceBytes}) that the backward pass reads.
   */
  cbForward(
    x: Float32Array,
    w: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    z: Float32Array | null,
    y: Float32Array,
    p: ConvParams,
    eps: number,
    training: boolean,
    ws?: Float32Array | null,
  ): void;
  /**
   * Fused CB backward without the input gradient: (x, w, gamma, z, mean, variance, ws, dy, dz, dw, dgamma, dbeta, p,
   * eps), ws being the ReLU workspace the training forward wrote, writes dw, dgamma, dbeta and dz, the gradient at the conv output, from which {@link convBackwardData} gives
   * dx when it is needed.
   */
  cbBackwardParams(...args: (Float32Array | ConvParams | number)[]): void;
  /** Fused DCB forward; training also writes the two stages' ReLU workspaces (the last two arguments). */
  dcbForward(...args: (Float32Array | ConvParams | number | boolean | null)[]): void;
  /**
   * Fused DCB backward: (x, dwK, g1, pwK, g2, z1, a1, z2, ws2, m1, v1, m2, v2, dy, dx, ddwK, dg1, db1, dpwK, dg2, db2,
   * pDw, pPw, eps, ws1), ws1 / ws2 being the stages' ReLU workspaces from the training forward.
   */
  dcbBackward(...args: (Float32Array | ConvParams | number)[]): void;
  /**
   * Max-pooling gradient (x, dy, dx, p): each window's dy goes to its first maximum (row-major, as tfjs's cpu
   * kernel), `p` is the pool geometry in conv form.
   */
  maxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, p: ConvParams): void;
  /**
   * The implementation names for a convolution geometry, "forward|backward-data|backward-weights": oneDNN's (e.g.
   * "jit_wino_4x3:avx512_core|..." where its Winograd runs), or "own:winograd_4x3" for our own Winograd.
   */
  convImpl(p: ConvParams): string;
  /**
   * Copies `rows` runs of `len` floats, run r from `src[r * srcStride + srcOffset]` to `dst[r * dstStride +
   * dstOffset]` (SplitV and Concat along an axis); throws when a run would leave either array.
   */
  blockCopy(
    src: Float32Array,
    dst: Float32Array,
    rows: number,
    len: number,
    srcStride: number,
    srcOffset: number,
    dstStride: number,
    dstOffset: number,
  ): void;
  /**
   * Training-sample preparation (native/prep.h): for each image, crop (`geometry` holds 9 values a sample: width,
   * height, channels 1 or 3, crop x, y, w, h with w = h = 0 for the whole image, flip, output slot), resize to
   * `outW x outH` as sharp does, flip, photometric distortion (`photometric`: brightness, contrast, saturation, hue
   * a sample) and into `floats` (x / 255 - 0.5) and / or `bytes` at the sample's slot. Throws naming `images[k]`.
   */
  prepareBatch(
    images: Uint8Array[],
    geometry: Int32Array,
    photometric: Float64Array,
    outW: number,
    outH: number,
    floats: Float32Array | null,
    bytes: Uint8Array | null,
  ): void;
  /**
   * Whether {@link prepareBatch}'s photometric step may use its AVX2 form where the CPU has it (default on; the
   * bytes are the same, and tests compare the two); returns the previous setting.
   */
  setPrepVector(on: boolean): boolean;
  /** C = A B (row-major, m x k times k x n) with oneDNN's sgemm. */
  sgemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array): void;
  /** Sets the OpenMP thread count for later calls. */
  setThreads(n: number): void;
  /**
   * Whether convolutions run from now on may use Winograd where it pays (default on, or off with
   * SSD_NATIVE_WINOGRAD=0); returns the previous setting. Tests compare the two paths.
   */
  setWinograd(on: boolean): boolean;
  /**
   * Whether backward-weights of direct convolutions run from now on on oneDNN's blocked layouts (NHWC inputs
   * reordered in; default off, on with SSD_NATIVE_BWDW_BLOCKED=1); returns the previous setting.
   */
  setBwdWBlocked(on: boolean): boolean;
  /**
   * Our own Winograd F(4x4, 3x3) for stride-1 3x3 convolutions (native/winograd.cc): "auto" (default, or
   * SSD_NATIVE_OWN_WINOGRAD) runs it only where oneDNN runs no AVX-512 kernels (the CPU lacks AVX-512, or
   * ONEDNN_MAX_CPU_ISA caps it below), since oneDNN has Winograd only there; "on" wherever the shape qualifies; "off"
   * never. Returns the previous mode. `setWinograd(false)` turns it off too.
   */
  setOwnWinograd(mode: "auto" | "on" | "off"): "auto" | "on" | "off";
  /** Whether our own Winograd runs now for the shapes that qualify (mode, CPU and build allowing). */
  ownWinogradActive(): boolean;
  /** The OpenMP thread count. */
  getThreads(): number;
  /** Bytes of the ReLU workspace of a training-mode BN + ReLU stage on an N x H x W x C tensor. */
  bnWorkspaceBytes(n: number, h: number, w: number, c: number, epsilon: number): number;
  /** "oneDNN x.y.z". */
  version(): string;
  /** Number of cached primitives (grows once per new shape, then stays flat). */
  cacheSize(): number;
  /**
   * Builds an inference plan from an encoded op list (lib/backend/native/plan.ts `encodePlan` writes it), its
   * parameters (copied) and one scalar per op. Throws naming the op when the list is inconsistent.
   */
  createPlan(program: Int32Array, params: Float32Array[], scalars: Float32Array): NativePlanHandle;
  /**
   * Runs a plan at batch size `batch` on an NHWC input, writing every output (`batch` x its values per image);
   * primitives and buffers for a batch size are made on its first run.
   */
  runPlan(plan: NativePlanHandle, batch: number, input: Float32Array, outputs: Float32Array[]): void;
  /** Frees a plan's weights, primitives and buffers; returns whether it was still alive. */
  disposePlan(plan: NativePlanHandle): boolean;
  /** One line per step of the plan at `batch` (oneDNN implementation, layouts), and the bytes of its buffers. */
  planInfo(plan: NativePlanHandle, batch: number): string;
  /** Plans not yet released (disposed or garbage-collected) and the bytes they hold. */
  planStats(): { live: number; bytes: number };
}

/** Absolute path of the built addon. */
export const ADDON_PATH: string = fileURLToPath(
  new URL("../../../native/build/Release/ssd_native.node", import.meta.url),
);

/** What to run when the addon is missing. */
export const BUILD_HINT =
  "run `deno task build:native` (needs g++, make, python3 and Debian libdnnl-dev; see cli/build_native.ts)";

let cached: NativeAddon | null = null;

/** Loads the addon once; throws an Error naming the path and the cause when it is missing or cannot load. */
export function loadAddon(path: string = ADDON_PATH): NativeAddon {
  if (cached) return cached;
  if (!existsSync(path)) throw new Error(`native addon not built (${path} is missing): ${BUILD_HINT}`);
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new Error(`native addon ${path} failed to load (${(e as Error).message}); rebuild it: ${BUILD_HINT}`);
  }
  return cached;
}

/** True when the addon file exists (it may still fail to load). */
export function addonBuilt(path: string = ADDON_PATH): boolean {
  return existsSync(path);
}

/**
 * Thread count to use: the explicit option, else the SSD_NATIVE_THREADS environment variable, else every core.
 * Throws when the value is not a positive integer.
 */
export function resolveThreads(threads?: number): number {
  const fromEnv = process.env.SSD_NATIVE_THREADS;
  const n = threads ?? (fromEnv ? Number(fromEnv) : navigator.hardwareConcurrency || 1);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `native backend: threads must be a positive integer, got ${threads ?? `SSD_NATIVE_THREADS=${fromEnv}`}`,
    );
  }
  return n;
}
