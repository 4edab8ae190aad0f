/**
 * Peers of `deno task bench --peers`: the same network measured by other frameworks under the same
 * {@link BenchProtocol}, so our figures can be read against theirs on the same machine in the same session.
 *
 * - PyTorch (bench/peers/torch_ssdv2.py, run by Debian's /usr/bin/python3 with python3-torch): the network rebuilt
 *   layer for layer in NCHW, training (multibox loss + Nesterov SGD with weight decay) and inference. The script
 *   refuses to measure when its network's weight count or prior count differs from ours. It runs twice where
 *   tcmalloc is installed: as it comes (glibc malloc), and with tcmalloc preloaded, as PyTorch's CPU tuning guides
 *   advise. On machines where page faults are dear, glibc hands PyTorch's large activation tensors back to the kernel
 *   after every step and faults them in again: on the AVX-512 machine of 2026-12-07 that was 1.9 million faults and
 *   16 s of system time beside 24 s of user time, and PyTorch trained 4x slower than with tcmalloc. Reporting only
 *   the first would flatter us.
 * - ONNX Runtime (onnxruntime-node): inference only, on the ONNX export (lib/export/onnx.ts) of our own detector.
 *
 * A peer that cannot run here (no python, no torch, no onnxruntime) gives `result: null` and the reason, so the
 * benchmark still reports everything else.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { fileURLToPath } from "node:url";
import { buildOnnxModel } from "../export/onnx.ts";
import { detectorSource } from "../export/source.ts";
import type { Detector } from "../model/mod.ts";
import { isFile } from "../util/paths.ts";
import { type BenchProtocol, checkProtocol, protocolArgs, timeItAsync, timingOf } from "./protocol.ts";

/** A peer's figures (null where the peer has none: ONNX Runtime does not train). */
export interface PeerResult {
  name: string;
  version: string;
  threads: number;
  /** Training images/s at `protocol.batch`. */
  train_img_s: number | null;
  /** Inference frames/s at batch 1. */
  infer_fps: number;
  /** Inference images/s at `protocol.inferBatch`. */
  infer_batch_img_s: number;
  /** Whatever else the peer reported (weight count, layout, fastest and slowest windows...). */
  detail: Record<string, unknown>;
}

/** What running a peer gave: its result, or null and why. */
export type PeerRun = { name: string; result: PeerResult; reason: null } | {
  name: string;
  result: null;
  reason: string;
};

/** Path of the PyTorch peer script. */
export const TORCH_SCRIPT: string = fileURLToPath(new URL("../../bench/peers/torch_ssdv2.py", import.meta.url));

/** Debian's python, the one python3-torch installs into (the first python3 on PATH may lack torch). */
export const DEFAULT_PYTHON = "/usr/bin/python3";

/** How to install what the PyTorch peer needs. */
export const TORCH_HINT = "apt-get install -y python3-torch";

/** Options of {@link runTorchPeer}. */
export interface TorchPeerOptions {
  threads: number;
  protocol: BenchProtocol;
  /** Our weight count (summarizeModel's totalParams, BN moving statistics included); the script must match it. */
  expectParams: number;
  /** Our prior count at `inputSize`; the script must match it. */
  expectPriors: number;
  /** `[height, width]`; default [240, 320]. */
  inputSize?: [number, number];
  python?: string;
  script?: string;
  /** Kill the script after this long; default 10 minutes. */
  timeoutMs?: number;
  /**
   * A malloc library to preload (LD_PRELOAD), e.g. {@link findTcmalloc}'s; the peer is then named
   * `pytorch+<library stem>` (`pytorch+tcmalloc`).
   */
  preload?: string;
  /**
   * oneDNN's ISA cap of this run (`onednnMaxIsa` of lib/runs/run.ts `cpuInfo()`). PyTorch's oneDNN inherits
   * ONEDNN_MAX_CPU_ISA from our environment; for an AVX2 cap the script also gets ATEN_CPU_CAPABILITY=avx2, so
   * PyTorch's own kernels (batch norm, elementwise, the optimizer) run on the same ISA as its convolutions.
   */
  onednnMaxIsa?: string;
}

/** The ATen capability that matches a oneDNN ISA cap, where there is one (`avx2` for AVX2 caps). */
export function atenCapability(onednnMaxIsa: string | undefined): string | null {
  if (onednnMaxIsa === undefined) return null;
  return /^AVX2/i.test(onednnMaxIsa) ? "avx2" : /^(SSE|AVX$)/i.test(onednnMaxIsa) ? "default" : null;
}

/** Where Debian and other distributions put tcmalloc (package libtcmalloc-minimal4 on Debian). */
export const TCMALLOC_PATHS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
  "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
  "/usr/lib64/libtcmalloc_minimal.so.4",
  "/usr/lib/libtcmalloc_minimal.so.4",
];

/** How to install the allocator of the second PyTorch peer. */
export const TCMALLOC_HINT = "apt-get install -y libtcmalloc-minimal4";

/** The first of `paths` that is a file, or null. */
export function findTcmalloc(paths: readonly string[] = TCMALLOC_PATHS): string | null {
  return paths.find(isFile) ?? null;
}

/** `pytorch`, or `pytorch+tcmalloc` for a preloaded `.../libtcmalloc_minimal.so.4`. */
export function torchPeerName(preload?: string): string {
  if (!preload) return "pytorch";
  const stem = preload.split("/").pop()!.replace(/^lib/, "").replace(/\.so.*$/, "").replace(/_minimal$/, "");
  return `pytorch+${stem}`;
}

function finitePositive(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v > 0;
}

/**
 * Parses the JSON line the PyTorch script prints (the last line of stdout that starts with `{`); throws, naming
 * the field, when a figure is missing or not a positive number.
 */
export function parseTorchOutput(stdout: string): PeerResult {
  const line = stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{")).pop();
  if (!line) throw new Error(`${TORCH_SCRIPT}: printed no JSON line (stdout: ${JSON.stringify(stdout.slice(-300))})`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line);
  } catch (e) {
    throw new Error(`${TORCH_SCRIPT}: its JSON line does not parse (${(e as Error).message}): ${line.slice(0, 200)}`);
  }
  for (const k of ["train_img_s", "infer_fps", "infer_batch_img_s", "threads", "params"]) {
    if (!finitePositive(j[k])) throw new Error(`${TORCH_SCRIPT}: "${k}" is ${JSON.stringify(j[k])}, not a number > 0`);
  }
  const { name, version, threads, train_img_s, infer_fps, infer_batch_img_s, ...detail } = j;
  return {
    name: String(name ?? "pytorch"),
    version: String(version ?? "unknown"),
    threads: threads as number,
    train_img_s: train_img_s as number,
    infer_fps: infer_fps as number,
    infer_batch_img_s: infer_batch_img_s as number,
    detail,
  };
}

/**
 * Runs the PyTorch peer with our protocol and thread count. Null with the reason when python or torch is missing,
 * when the script refuses (weight or prior count differs from ours) or fails.
 */
export async function runTorchPeer(options: TorchPeerOptions): Promise<PeerRun> {
  const name = torchPeerName(options.preload);
  const python = options.python ?? DEFAULT_PYTHON;
  const script = options.script ?? TORCH_SCRIPT;
  const [h, w] = options.inputSize ?? [240, 320];
  checkProtocol(options.protocol);
  const aten = atenCapability(options.onednnMaxIsa);
  const args = [
    script,
    "--threads",
    String(options.threads),
    ...protocolArgs(options.protocol),
    "--height",
    String(h),
    "--width",
    String(w),
    "--expect-params",
    String(options.expectParams),
    "--expect-priors",
    String(options.expectPriors),
  ];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(python, {
      args,
      stdout: "piped",
      stderr: "piped",
      // One OpenMP pool of the asked size; the script also calls torch.set_num_threads.
      env: {
        OMP_NUM_THREADS: String(options.threads),
        ...(options.preload ? { LD_PRELOAD: options.preload } : {}),
        ...(aten ? { ATEN_CPU_CAPABILITY: aten } : {}),
      },
      signal: AbortSignal.timeout(options.timeoutMs ?? 600_000),
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { name, result: null, reason: `${python} not found (${TORCH_HINT})` };
    return { name, result: null, reason: `${python} ${script} could not run: ${(e as Error).message}` };
  }
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    if (/No module named '?torch'?(\s|$)/m.test(stderr)) {
      return { name, result: null, reason: `PyTorch is not installed for ${python} (${TORCH_HINT})` };
    }
    const tail = stderr.trim().split("\n").slice(-3).join(" | ");
    const how = out.signal ? `was killed (${out.signal})` : `exited with status ${out.code}`;
    return { name, result: null, reason: `${script} ${how}: ${tail}` };
  }
  try {
    return { name, result: { ...parseTorchOutput(new TextDecoder().decode(out.stdout)), name }, reason: null };
  } catch (e) {
    return { name, result: null, reason: (e as Error).message };
  }
}

/** Options of {@link runOrtPeer}. */
export interface OrtPeerOptions {
  /** Our detector; its ONNX export is what ONNX Runtime runs. */
  detector: Detector;
  threads: number;
  protocol: BenchProtocol;
  /** Fold BatchNorm into the convolutions (the export's default, true). */
  foldBatchNorm?: boolean;
}

/**
 * ONNX Runtime inference (CPU execution provider, `intraOpNumThreads` = `threads`, all graph optimisations) on the
 * ONNX export of `options.detector`: frames/s at batch 1 and images/s at `protocol.inferBatch`, outputs read back
 * on every call. Null with the reason when onnxruntime-node cannot load.
 */
export async function runOrtPeer(options: OrtPeerOptions): Promise<PeerRun> {
  const name = "onnxruntime";
  const p = checkProtocol(options.protocol);
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch (e) {
    return { name, result: null, reason: `onnxruntime-node does not load: ${(e as Error).message}` };
  }
  const built = buildOnnxModel(detectorSource(options.detector), { foldBatchNorm: options.foldBatchNorm ?? true });
  const session = await ort.InferenceSession.create(built.bytes, {
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  try {
    const [, h, w, c] = options.detector.model.inputs[0].shape as number[];
    const P = options.detector.priors.length / 4;
    const feed = (n: number) => {
      const data = new Float32Array(n * h * w * c);
      for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37) * 0.5;
      return { image: new ort.Tensor("float32", data, [n, h, w, c]) };
    };
    const run = async (f: Record<string, InstanceType<typeof ort.Tensor>>, n: number) => {
      const out = await session.run(f);
      const dims = out.logits.dims;
      if (dims[0] !== n || dims[1] !== P) {
        throw new Error(`lib/bench/peers.ts: ONNX Runtime gave logits [${dims}], expected [${n}, ${P}, ...]`);
      }
      // Read back as our benchmark does (dataSync): the outputs are CPU arrays already.
      for (const k of Object.keys(out)) void (out[k].data as Float32Array)[0];
    };
    const f1 = feed(1), fb = feed(p.inferBatch);
    const fps = await timeItAsync(() => run(f1, 1), timingOf(p, "infer"));
    const batch = await timeItAsync(() => run(fb, p.inferBatch), timingOf(p, "inferBatch"));
    return {
      name,
      result: {
        name,
        version: ort.env.versions.node ?? ort.env.versions.common,
        threads: options.threads,
        train_img_s: null,
        infer_fps: 1 / fps.seconds,
        infer_batch_img_s: p.inferBatch / batch.seconds,
        detail: {
          opset: built.metadata.onnx.opset,
          batchNorm: built.metadata.onnx.batchNorm,
          layout: "NHWC input, transposed to NCHW in the graph",
          windows_s: { infer: fps.range, infer_batch: batch.range },
        },
      },
      reason: null,
    };
  } finally {
    await session.release();
  }
}

/** How far the PyTorch network's outputs are from ours with our weights copied in (inference mode). */
export interface TorchCheck {
  weightsLoaded: number;
  /** max |torch - ours| over the logits, and max |ours| (the scale it compares with). */
  logitsMaxAbsDiff: number;
  logitsMaxAbs: number;
  offsetsMaxAbsDiff: number;
  offsetsMaxAbs: number;
}

/**
 * Runs our `detector` on `input` (NHWC, on the active backend), hands its weights, the input and the outputs to
 * the PyTorch script's `--check`, and returns the differences it reports: near float32 rounding when the two
 * networks compute the same function (layer order, padding, activations, concatenation and flattening order).
 * Throws with the script's message when it fails.
 */
export async function checkTorchNetwork(
  detector: Detector,
  input: Float32Array,
  options: { python?: string; script?: string } = {},
): Promise<TorchCheck> {
  const [, h, w, c] = detector.model.inputs[0].shape as number[];
  const n = input.length / (h * w * c);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`lib/bench/peers.ts: input of ${input.length} values is not N x ${h} x ${w} x ${c}`);
  }
  const [logits, offsets] = tf.tidy(() =>
    (detector.model.predict(tf.tensor4d(input, [n, h, w, c])) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array)
  );
  const dir = await Deno.makeTempDir({ prefix: "torch_check_" });
  try {
    const entries: { name: string; shape: number[]; offset: number }[] = [];
    let size = 0;
    for (const v of detector.model.weights) {
      // originalName: `name` gains a suffix (kernel_2) when other models were built in this process before.
      entries.push({ name: v.originalName, shape: v.shape as number[], offset: size });
      size += tf.util.sizeFromShape(v.shape as number[]);
    }
    const blob = new Float32Array(size);
    detector.model.weights.forEach((v, i) => blob.set(v.read().dataSync() as Float32Array, entries[i].offset));
    const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    await Deno.writeFile(`${dir}/weights.bin`, bytes(blob));
    await Deno.writeFile(`${dir}/input.bin`, bytes(input));
    await Deno.writeFile(`${dir}/logits.bin`, bytes(logits));
    await Deno.writeFile(`${dir}/offsets.bin`, bytes(offsets));
    await Deno.writeTextFile(`${dir}/check.json`, JSON.stringify({ weights: entries, input_shape: [n, h, w, c] }));
    const script = options.script ?? TORCH_SCRIPT;
    const out = await new Deno.Command(options.python ?? DEFAULT_PYTHON, {
      args: [script, "--threads", "1", "--check", dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    if (!out.success) throw new Error(`${script} --check failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    const j = JSON.parse(stdout.trim().split("\n").pop()!);
    return {
      weightsLoaded: j.weights_loaded,
      logitsMaxAbsDiff: j.logits_max_abs_diff,
      logitsMaxAbs: j.logits_max_abs,
      offsetsMaxAbsDiff: j.offsets_max_abs_diff,
      offsetsMaxAbs: j.offsets_max_abs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
