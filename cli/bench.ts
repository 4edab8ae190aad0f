/**
 * `deno task bench [--json] [--quick] [--peers] [--loop] [--backends native,wasm] [--batch 16] [--infer-batch 32]
 * [--min-seconds 3] [--repeats 5] [--threads N] [--profile]`: the 4-branch SSDv2 at 240x320, side by side on every
 * available backend in one run: training images/s (Nesterov momentum-SGD step including the multibox loss),
 * inference frames/s at batch 1 and images/s at batch 32, the GFLOP/s these imply, and the machine's attainable peak
 * from a large matmul. Inference is timed as detection runs it (on native: the whole network as one native plan,
 * lib/inference/native_plan.ts), with model.predict's figures beside it. Each figure is the median of `--repeats` timed windows sharing `--min-seconds`
 * (lib/bench/protocol.ts), so a moment of load from elsewhere on a shared machine does not move it.
 *
 * The first lines name the CPU (model, vector ISA) and the oneDNN implementations the native backend runs for the
 * network's convolutions, per pass and batch (lib/bench/conv_impls.ts).
 *
 * - `--peers`: then the same figures from PyTorch (bench/peers/torch_ssdv2.py: the same network and training step,
 *   via /usr/bin/python3; run a second time as `pytorch+tcmalloc` with tcmalloc preloaded where it is installed,
 *   since glibc's malloc can cost PyTorch most of its time in page faults) and ONNX Runtime (inference on our ONNX
 *   export), same protocol and threads, with the ratios ours / peer (lib/bench/peers.ts). A peer that cannot run is
 *   reported with the reason.
 * - `--loop`: the real training loop (loader, augmentation, trainer, batch 32 as 4 x 8) on the data it finds
 *   (`--data`, FACEMASK_DATA, ...), `--loop-warmup` steps then `--loop-repeats` windows of `--loop-steps` steps,
 *   beside the training figure above (lib/bench/loop.ts).
 * - `--profile`: tfjs's per-kernel times of one native training step, then the step's phases timed without the
 *   profiler (forward, what the loss, the gradients and the optimizer add: lib/bench/model.ts `stepPhases`).
 * - `--quick`: the smallest settings (batch 2, one window of 0.2 s, the native backend only), for CI smoke tests;
 *   the numbers mean nothing. Explicit options still win.
 *
 * `--json` prints one JSON object on stdout (progress goes to stderr):
 * `{ model, params, cpu: { model, isa, onednnMaxIsa? }, threads, protocol, peak_gflops, conv_impls, results: [{ backend,
 * train_img_s, infer_fps, infer_batch_img_s, infer_path, infer_predict_fps, infer_predict_batch_img_s }], peers: [{ name, version, threads, train_img_s, infer_fps,
 * infer_batch_img_s, reason }], ratios: [{ ours, peer, train, infer_fps, infer_batch }], loop, profile: { batch,
 * wall_ms, kernels, kernels_total_ms, phases_ms: { forward, loss, backward, update, step } } }` (`peers`, `ratios`,
 * `loop` and `profile` only when asked).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setupBackend } from "../lib/backend/mod.ts";
import { resolveThreads } from "../lib/backend/native/addon.ts";
import { loadNative, nativeAddon } from "../lib/backend/native/mod.ts";
import {
  benchInference,
  benchOptimizer,
  benchPredict,
  benchTraining,
  inferencePath,
  type KernelTime,
  peakGflops,
  profileKernels,
  type StepPhases,
  stepPhases,
  syntheticBatch,
  trainStep,
} from "../lib/bench/model.ts";
import { convImplCounts, type ConvImpls, formatConvImpls } from "../lib/bench/conv_impls.ts";
import { benchLoop, type LoopBench } from "../lib/bench/loop.ts";
import {
  findTcmalloc,
  type PeerRun,
  runOrtPeer,
  runTorchPeer,
  TCMALLOC_HINT,
  TCMALLOC_PATHS,
  torchPeerName,
} from "../lib/bench/peers.ts";
import {
  type BenchProtocol,
  checkProtocol,
  DEFAULT_PROTOCOL,
  QUICK_PROTOCOL,
  timingOf,
} from "../lib/bench/protocol.ts";
import { buildDetector, summarizeModel } from "../lib/model/mod.ts";
import { loadConfig } from "../lib/runs/config.ts";
import { cpuInfo, describeIsa } from "../lib/runs/run.ts";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";

const HELP = `usage: deno task bench [--json] [--quick] [--peers] [--loop] [--backends native,wasm] [--batch 16]
  [--infer-batch 32] [--min-seconds 3] [--repeats 5] [--threads N] [--profile] [--python /usr/bin/python3]
  [--data DIR] [--loop-steps 4] [--loop-warmup 2] [--loop-repeats 3]

Training img/s (batch 16), inference FPS (batch 1) and img/s (batch 32) of the 4-branch SSDv2 at 240x320 on each
backend: the median of --repeats windows sharing --min-seconds. --peers adds PyTorch and ONNX Runtime on the same
network and protocol, with ratios ours / peer; --loop the real training loop on the data it finds (--data);
--profile the kernels of one native training step and the step's phases (forward, loss, backward, update);
--quick the smallest settings (smoke tests); --json one JSON object on stdout.`;

const OPTIONS = {
  json: { type: "boolean", default: false },
  quick: { type: "boolean", default: false },
  peers: { type: "boolean", default: false },
  loop: { type: "boolean", default: false },
  backends: { type: "string" },
  batch: { type: "string" },
  "infer-batch": { type: "string" },
  "min-seconds": { type: "string" },
  repeats: { type: "string" },
  threads: { type: "string" },
  profile: { type: "boolean", default: false },
  python: { type: "string" },
  data: { type: "string" },
  "loop-steps": { type: "string" },
  "loop-warmup": { type: "string" },
  "loop-repeats": { type: "string" },
} as const;

/** The paper's run config (batch 32 as 4 x 8, augmentation), which `--loop` trains with. */
const PAPER_CONFIG = new URL("../experiments/ablation/branches-4.json", import.meta.url).pathname;

class Usage extends Error {}

function posInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Usage(`--${name} must be a positive integer, got ${v}`);
  return n;
}

/**
 * One of our backends' figures. `infer_*` are what detection runs (`infer_path`: the native plan or model.predict),
 * `infer_predict_*` model.predict's figures beside them (the same numbers where the path is predict).
 */
interface Result {
  backend: string;
  train_img_s: number;
  infer_fps: number;
  infer_batch_img_s: number;
  infer_path: "plan" | "predict";
  infer_predict_fps: number;
  infer_predict_batch_img_s: number;
}

/** `--profile`: one native training step's kernels (the 20 slowest, tfjs's profiler) and its phases. */
interface BenchProfile {
  batch: number;
  wall_ms: number;
  kernels: KernelTime[];
  kernels_total_ms: number;
  phases_ms: StepPhases;
}

/** A peer as the JSON records it. */
interface PeerRecord {
  name: string;
  version: string | null;
  threads: number | null;
  train_img_s: number | null;
  infer_fps: number | null;
  infer_batch_img_s: number | null;
  reason: string | null;
  detail: Record<string, unknown> | null;
}

function peerRecord(run: PeerRun): PeerRecord {
  const r = run.result;
  return {
    name: run.name,
    version: r?.version ?? null,
    threads: r?.threads ?? null,
    train_img_s: r?.train_img_s ?? null,
    infer_fps: r?.infer_fps ?? null,
    infer_batch_img_s: r?.infer_batch_img_s ?? null,
    reason: run.reason,
    detail: r?.detail ?? null,
  };
}

/** ours / peer, null where either lacks the figure. */
function ratio(ours: number, peer: number | null): number | null {
  return peer === null || !(peer > 0) ? null : ours / peer;
}

function implsJson(i: ConvImpls) {
  return { batch: i.batch, forward: i.forward, backward_data: i.backwardData, backward_weights: i.backwardWeights };
}

/** Runs the benchmark; returns the exit code. */
export async function main(args: string[], io: Io = { log: console.log, error: console.error }): Promise<number> {
  const parsed = parseCommandArgs(args, { name: "bench", help: HELP, options: OPTIONS }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const v = parsed.values;
  const base = v.quick ? QUICK_PROTOCOL : DEFAULT_PROTOCOL;
  let protocol: BenchProtocol, threads: number, loopSteps: number, loopWarmup: number, loopRepeats: number;
  try {
    const minSeconds = v["min-seconds"] === undefined ? base.minSeconds : Number(v["min-seconds"]);
    if (!(minSeconds >= 0) || !Number.isFinite(minSeconds)) {
      throw new Usage(`--min-seconds must be a number >= 0, got ${v["min-seconds"]}`);
    }
    protocol = checkProtocol({
      ...base,
      batch: posInt("batch", v.batch, base.batch),
      inferBatch: posInt("infer-batch", v["infer-batch"], base.inferBatch),
      minSeconds,
      repeats: posInt("repeats", v.repeats, base.repeats),
    });
    threads = v.threads === undefined ? resolveThreads() : posInt("threads", v.threads, 1);
    loopSteps = posInt("loop-steps", v["loop-steps"], v.quick ? 1 : 4);
    loopWarmup = posInt("loop-warmup", v["loop-warmup"], v.quick ? 1 : 2);
    loopRepeats = posInt("loop-repeats", v["loop-repeats"], v.quick ? 1 : 3);
  } catch (e) {
    if (e instanceof Usage) return usageError(io, "bench", e.message);
    throw e;
  }
  // With --json stdout holds only the JSON object: progress goes to stderr.
  const say = v.json ? io.error : io.log;

  const cpu = cpuInfo();
  say(
    `bench: CPU ${cpu.model} (${describeIsa(cpu)}), ${navigator.hardwareConcurrency} logical cores, ${threads} threads`,
  );
  // wasm first: it registers our wasm training kernels, which the native backend copies when it loads.
  await setupBackend({ backend: "wasm", log: say });
  const native = await loadNative({ threads });
  if (!native.ok) say(`bench: native backend unavailable: ${native.reason}`);
  const wanted = (v.backends ?? (v.quick ? (native.ok ? "native" : "wasm") : "native,wasm")).split(",")
    .map((s) => s.trim()).filter((s) => s !== "");
  const backends = wanted.filter((b) => b !== "native" || native.ok).filter((b) => tf.findBackendFactory(b) != null);
  for (const b of wanted) if (!backends.includes(b)) say(`bench: skipping unavailable backend '${b}'`);
  if (backends.length === 0) {
    io.error(`bench: none of the backends ${wanted.join(", ")} is available`);
    return 1;
  }

  const detector = buildDetector({ trunk: "ssdv2", branches: 4 });
  const { totalMacs, totalParams } = summarizeModel(detector.model);
  const inferFlops = 2 * totalMacs;
  // Backward costs about twice the forward (gradients of inputs and of weights): 3x the forward FLOPs per image.
  const trainFlops = 3 * inferFlops;
  const model = `ssdv2 4-branch 240x320 (${totalParams} params, ${(totalMacs / 1e9).toFixed(3)} GMACs/image)`;
  const { batch, inferBatch } = protocol;
  say(
    `bench: ${model}; training batch ${batch}, inference batch 1 and ${inferBatch}; ` +
      `${protocol.repeats} window(s) sharing ${protocol.minSeconds} s per figure`,
  );

  const addon = nativeAddon();
  let convImpls: Record<string, ReturnType<typeof implsJson>> | null = null;
  if (addon) {
    const sets = {
      train: convImplCounts(addon, detector.model, { batch, training: true }),
      infer: convImplCounts(addon, detector.model, { batch: 1, training: false }),
      infer_batch: convImplCounts(addon, detector.model, { batch: inferBatch, training: false }),
    };
    say(`bench: ${addon.version()} implementations of the network's convolutions, training at batch ${batch}:`);
    for (const l of formatConvImpls(sets.train)) say(`  ${l}`);
    say(`  inference batch 1 ${formatConvImpls(sets.infer)[0]}`);
    say(`  inference batch ${inferBatch} ${formatConvImpls(sets.infer_batch)[0]}`);
    convImpls = Object.fromEntries(Object.entries(sets).map(([k, s]) => [k, implsJson(s)]));
  }

  const peak = peakGflops({ addon, minSeconds: Math.min(1, protocol.minSeconds) });
  say(`bench: peak ${peak.gflops.toFixed(1)} GFLOP/s (${peak.method})`);

  const data = syntheticBatch(detector, { batch, seed: 1 });
  const x1 = tf.tidy(() => data.x.slice([0, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor4D;
  const xb = tf.randomUniform([inferBatch, 240, 320, 3], -0.5, 0.5, "float32", 2) as tf.Tensor4D;
  const results: Result[] = [];
  const peers: PeerRecord[] = [];
  let loop: (LoopBench & { bench_train_img_s: number; loop_over_bench: number }) | null = null;
  try {
    for (const backend of backends) {
      await tf.setBackend(backend);
      const t0 = performance.now();
      const train = benchTraining(detector, data, timingOf(protocol, "train"));
      const path = inferencePath(detector);
      const fps = benchInference(detector, x1, timingOf(protocol, "infer"));
      const batchRate = benchInference(detector, xb, timingOf(protocol, "inferBatch"));
      // model.predict beside the plan, so that before / after shows in one run.
      const predictFps = path === "plan" ? benchPredict(detector, x1, timingOf(protocol, "infer")) : fps;
      const predictRate = path === "plan" ? benchPredict(detector, xb, timingOf(protocol, "inferBatch")) : batchRate;
      results.push({
        backend,
        train_img_s: train,
        infer_fps: fps,
        infer_batch_img_s: batchRate,
        infer_path: path,
        infer_predict_fps: predictFps,
        infer_predict_batch_img_s: predictRate,
      });
      say(`bench: ${backend} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }

    if (v.peers) {
      say(`bench: PyTorch peer (${threads} threads)...`);
      const torchOptions = {
        threads,
        protocol,
        expectParams: totalParams,
        expectPriors: detector.priors.length / 4,
        python: v.python,
        onednnMaxIsa: cpu.onednnMaxIsa,
      };
      const torch = await runTorchPeer(torchOptions);
      if (torch.reason) say(`bench: PyTorch peer unavailable: ${torch.reason}`);
      peers.push(peerRecord(torch));
      if (torch.result) {
        // The same script with tcmalloc, which many PyTorch CPU users preload; the ratios then show both.
        const tcmalloc = findTcmalloc();
        if (tcmalloc) {
          say(`bench: PyTorch peer with ${tcmalloc} preloaded...`);
          const tuned = await runTorchPeer({ ...torchOptions, preload: tcmalloc });
          if (tuned.reason) say(`bench: PyTorch peer with tcmalloc unavailable: ${tuned.reason}`);
          peers.push(peerRecord(tuned));
        } else {
          peers.push(
            peerRecord({
              name: torchPeerName(TCMALLOC_PATHS[0]),
              result: null,
              reason: `not found (${TCMALLOC_HINT})`,
            }),
          );
        }
      }
      say(`bench: ONNX Runtime peer (${threads} threads)...`);
      const ortRun = await runOrtPeer({ detector, threads, protocol }).catch((e): PeerRun => ({
        name: "onnxruntime",
        result: null,
        reason: `failed: ${(e as Error).message}`,
      }));
      if (ortRun.reason) say(`bench: ONNX Runtime peer unavailable: ${ortRun.reason}`);
      if (ortRun.result && cpu.onednnMaxIsa !== undefined) {
        // Its MLAS kernels pick their ISA from the CPU alone: its figures are not capped like ours and PyTorch's.
        ortRun.result.detail.isa_not_capped = `ONEDNN_MAX_CPU_ISA=${cpu.onednnMaxIsa} does not apply to ONNX Runtime`;
        say(`bench: note: ONNX Runtime ignores ONEDNN_MAX_CPU_ISA; its figures use the CPU's full ISA (${cpu.isa})`);
      }
      peers.push(peerRecord(ortRun));
    }

    if (v.loop) {
      const loopBackend = results.find((r) => r.backend === "native") ?? results[0];
      await tf.setBackend(loopBackend.backend);
      const config = await loadConfig(PAPER_CONFIG);
      const r = await benchLoop({
        config,
        data: v.data,
        warmupSteps: loopWarmup,
        steps: loopSteps,
        repeats: loopRepeats,
        log: say,
      });
      loop = {
        ...r,
        bench_train_img_s: loopBackend.train_img_s,
        loop_over_bench: r.loop_img_s / loopBackend.train_img_s,
      };
    }
  } finally {
    tf.dispose([data.x, data.labels, data.offsets, x1, xb]);
  }

  // --profile: tfjs's kernel times of one step, then the step's phases timed without the profiler (its bookkeeping
  // slows the step).
  let profile: BenchProfile | null = null;
  if (v.profile && native.ok) {
    await tf.setBackend("native");
    const prof = syntheticBatch(detector, { batch, seed: 1 });
    const opt = benchOptimizer();
    try {
      trainStep(detector, prof, opt);
      const t0 = performance.now();
      const kernels = await profileKernels(() => trainStep(detector, prof, opt));
      const wall = performance.now() - t0;
      const phases = stepPhases(detector, prof, {
        optimizer: opt,
        minSeconds: protocol.minSeconds * 2,
        repeats: protocol.repeats,
      });
      profile = {
        batch,
        wall_ms: wall,
        kernels: kernels.slice(0, 20),
        kernels_total_ms: kernels.reduce((s, k) => s + k.ms, 0),
        phases_ms: phases,
      };
    } finally {
      opt.dispose();
      tf.dispose([prof.x, prof.labels, prof.offsets]);
    }
  }

  const ratios = results.flatMap((r) =>
    peers.map((p) => ({
      ours: r.backend,
      peer: p.name,
      train: ratio(r.train_img_s, p.train_img_s),
      infer_fps: ratio(r.infer_fps, p.infer_fps),
      infer_batch: ratio(r.infer_batch_img_s, p.infer_batch_img_s),
    }))
  );

  if (v.json) {
    io.log(JSON.stringify(
      {
        model,
        params: totalParams,
        cpu,
        threads,
        protocol,
        peak_gflops: peak.gflops,
        conv_impls: convImpls,
        results,
        ...(v.peers ? { peers, ratios } : {}),
        ...(v.loop ? { loop } : {}),
        ...(profile ? { profile } : {}),
      },
      null,
      2,
    ));
  } else {
    const pct = (gf: number) => `${gf.toFixed(1)} GFLOP/s (${((100 * gf) / peak.gflops).toFixed(1)}% of peak)`;
    const line = (name: string, train: number | null, fps: number | null, rate: number | null) =>
      `${name.padEnd(20)} train ${
        train === null ? "n/a" : `${train.toFixed(2)} img/s = ${pct((train * trainFlops) / 1e9)}`
      }; ` +
      `infer b1 ${fps === null ? "n/a" : `${fps.toFixed(1)} FPS = ${pct((fps * inferFlops) / 1e9)}`}; ` +
      `infer b${inferBatch} ${rate === null ? "n/a" : `${rate.toFixed(1)} img/s = ${pct((rate * inferFlops) / 1e9)}`}`;
    for (const r of results) {
      io.log(line(`${r.backend} (${r.infer_path})`, r.train_img_s, r.infer_fps, r.infer_batch_img_s));
      if (r.infer_path === "plan") {
        io.log(line(`${r.backend} (predict)`, null, r.infer_predict_fps, r.infer_predict_batch_img_s));
      }
    }
    if (JSON.stringify(convImpls).includes("wino")) {
      // Winograd does fewer multiply-adds than the direct convolutions the GFLOP/s figures count.
      io.log(
        "GFLOP/s count direct-convolution work; where Winograd ran (above) it did less, so % of peak can pass 100",
      );
    }
    const n = results.find((r) => r.backend === "native"), w = results.find((r) => r.backend === "wasm");
    if (n && w) io.log(`native / wasm training speed-up: ${(n.train_img_s / w.train_img_s).toFixed(1)}x`);
    for (const p of peers) {
      if (p.reason) io.log(`${p.name.padEnd(20)} not run: ${p.reason}`);
      else io.log(line(`${p.name} ${p.version}`, p.train_img_s, p.infer_fps, p.infer_batch_img_s));
    }
    const x = (q: number | null) => (q === null ? "n/a" : `${q.toFixed(2)}x`);
    for (const q of ratios) {
      io.log(
        `${q.ours} / ${q.peer}: train ${x(q.train)}, infer b1 ${x(q.infer_fps)}, infer b${inferBatch} ` +
          x(q.infer_batch),
      );
    }
    if (loop) {
      io.log(
        `loop (${loop.backend}, ${loop.batchSize} as ${
          loop.batchSize / loop.microBatch
        } x ${loop.microBatch}, ${loop.prep} prep, ` +
          `${loop.data.label} data, augmentation ${loop.augment ? "on" : "off"}): ${
            loop.loop_img_s.toFixed(2)
          } img/s ` +
          `= ${x(loop.loop_over_bench)} the bench's training figure (${loop.bench_train_img_s.toFixed(2)} img/s)`,
      );
    }
  }

  if (profile && !v.json) {
    io.log(`profile of one native training step, batch ${batch} (profiled wall ${profile.wall_ms.toFixed(0)} ms):`);
    for (const k of profile.kernels) {
      io.log(`  ${k.name.padEnd(34)} ${k.ms.toFixed(1).padStart(8)} ms ${String(k.calls).padStart(5)} calls`);
    }
    io.log(`  ${"(all kernels)".padEnd(34)} ${profile.kernels_total_ms.toFixed(1).padStart(8)} ms`);
    const ph = profile.phases_ms;
    const part = (name: string, ms: number) => `${name} ${ms.toFixed(1)} ms (${(100 * ms / ph.step).toFixed(0)}%)`;
    io.log(
      `phases of one native training step, batch ${batch} (median of ${protocol.repeats} windows): ` +
        [part("forward", ph.forward), part("loss", ph.loss), part("backward", ph.backward), part("update", ph.update)]
          .join(", ") +
        `; step ${ph.step.toFixed(1)} ms`,
    );
  }
  detector.model.dispose();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
