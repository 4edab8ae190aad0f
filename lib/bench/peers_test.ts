import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { buildDetector, summarizeModel } from "../model/mod.ts";
import { randomizeNormalization } from "../export/testing.ts";
import {
  atenCapability,
  checkTorchNetwork,
  DEFAULT_PYTHON,
  findTcmalloc,
  parseTorchOutput,
  runOrtPeer,
  runTorchPeer,
  TORCH_SCRIPT,
  torchPeerName,
} from "./peers.ts";
import { type BenchProtocol, QUICK_PROTOCOL } from "./protocol.ts";
import { isFile } from "../util/paths.ts";

await tf.setBackend("cpu");

const TINY: BenchProtocol = { ...QUICK_PROTOCOL, minSeconds: 0.02 };
const hasTorch = new Deno.Command(DEFAULT_PYTHON, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
  .outputSync().success;

Deno.test("parseTorchOutput: the last JSON line, figures checked by name", () => {
  const line = JSON.stringify({
    name: "pytorch",
    version: "1.13.0",
    threads: 2,
    train_img_s: 3.5,
    infer_fps: 20,
    infer_batch_img_s: 40,
    params: 1043286,
  });
  const r = parseTorchOutput(`warning: something\n{"not": "this"}\n${line}\n`);
  assert.deepEqual(
    [r.name, r.version, r.threads, r.train_img_s, r.infer_fps, r.infer_batch_img_s],
    ["pytorch", "1.13.0", 2, 3.5, 20, 40],
  );
  assert.equal(r.detail.params, 1043286);
  assert.throws(() => parseTorchOutput("no json here"), /printed no JSON line/);
  assert.throws(() => parseTorchOutput(line.replace('"infer_fps":20', '"infer_fps":null')), /"infer_fps" is null/);
  assert.throws(() => parseTorchOutput("{broken"), /does not parse/);
});

Deno.test("runTorchPeer: a missing python or torch gives null and the reason, not an exception", async () => {
  const common = { threads: 1, protocol: TINY, expectParams: 1, expectPriors: 1 };
  const noPython = await runTorchPeer({ ...common, python: "/nonexistent/python3" });
  assert.equal(noPython.result, null);
  assert.match(noPython.reason!, /\/nonexistent\/python3 not found \(apt-get install -y python3-torch\)/);
  const dir = await Deno.makeTempDir({ prefix: "peers_test_" });
  try {
    await Deno.writeTextFile(`${dir}/no_torch.py`, "raise ModuleNotFoundError(\"No module named 'torch'\")\n");
    await Deno.writeTextFile(`${dir}/fails.py`, 'import sys\nprint("bad things", file=sys.stderr)\nsys.exit(3)\n');
    const noTorch = await runTorchPeer({ ...common, python: "python3", script: `${dir}/no_torch.py` });
    assert.equal(noTorch.result, null);
    assert.match(noTorch.reason!, /PyTorch is not installed for python3/);
    const fails = await runTorchPeer({ ...common, python: "python3", script: `${dir}/fails.py` });
    assert.match(fails.reason!, /exited with status 3: bad things/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("torchPeerName / findTcmalloc: the peer is named after the preloaded allocator; the first file found", async () => {
  assert.equal(torchPeerName(), "pytorch");
  assert.equal(torchPeerName("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"), "pytorch+tcmalloc");
  assert.equal(torchPeerName("/opt/lib/libjemalloc.so.2"), "pytorch+jemalloc");
  const dir = await Deno.makeTempDir({ prefix: "peers_test_" });
  try {
    await Deno.writeTextFile(`${dir}/libtcmalloc_minimal.so.4`, "");
    await Deno.mkdir(`${dir}/adir`);
    assert.equal(
      findTcmalloc([`${dir}/missing.so`, `${dir}/adir`, `${dir}/libtcmalloc_minimal.so.4`]),
      `${dir}/libtcmalloc_minimal.so.4`,
    );
    assert.equal(findTcmalloc([`${dir}/missing.so`, `${dir}/adir`]), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atenCapability: the ATen dispatch level that matches a oneDNN ISA cap", () => {
  assert.equal(atenCapability(undefined), null);
  assert.equal(atenCapability("AVX2"), "avx2");
  assert.equal(atenCapability("AVX2_VNNI"), "avx2");
  assert.equal(atenCapability("AVX"), "default");
  assert.equal(atenCapability("SSE41"), "default");
  assert.equal(atenCapability("AVX512_CORE"), null);
});

Deno.test("runTorchPeer: the preload reaches the script's environment and names the peer", async () => {
  const dir = await Deno.makeTempDir({ prefix: "peers_test_" });
  try {
    // Stands in for the PyTorch script: echoes the environment it got as the peer's JSON line.
    await Deno.writeTextFile(
      `${dir}/echo.py`,
      "import json, os\nprint(json.dumps({'name': 'pytorch', 'version': 'x', 'threads': 1, 'train_img_s': 1, " +
        "'infer_fps': 1, 'infer_batch_img_s': 1, 'params': 1, 'preload': os.environ.get('LD_PRELOAD'), " +
        "'omp': os.environ.get('OMP_NUM_THREADS'), 'aten': os.environ.get('ATEN_CPU_CAPABILITY')}))\n",
    );
    // Any shared library that exists preloads harmlessly; the C library is always there.
    const libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
      .find(isFile);
    const common = { threads: 3, protocol: TINY, expectParams: 1, expectPriors: 1, python: "python3" };
    const plain = await runTorchPeer({ ...common, script: `${dir}/echo.py` });
    assert.equal(plain.name, "pytorch");
    assert.equal(plain.result!.detail.preload, null);
    assert.equal(plain.result!.detail.omp, "3");
    assert.equal(plain.result!.detail.aten, null);
    // Under an AVX2 cap of oneDNN, PyTorch's own kernels are held to AVX2 as well.
    const capped = await runTorchPeer({ ...common, script: `${dir}/echo.py`, onednnMaxIsa: "AVX2" });
    assert.equal(capped.result!.detail.aten, "avx2");
    if (libc) {
      const pre = await runTorchPeer({ ...common, script: `${dir}/echo.py`, preload: libc });
      assert.equal(pre.name, "pytorch+c");
      assert.equal(pre.result!.name, "pytorch+c");
      assert.equal(pre.result!.detail.preload, libc);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "runTorchPeer: the PyTorch network has our weight count and priors, and reports every figure",
  ignore: !hasTorch,
  async fn() {
    const inputSize: [number, number] = [64, 96];
    const d = buildDetector({ trunk: "ssdv2", branches: 4, inputSize });
    const params = summarizeModel(d.model).totalParams;
    const P = d.priors.length / 4;
    d.model.dispose();
    const run = await runTorchPeer({ threads: 1, protocol: TINY, expectParams: params, expectPriors: P, inputSize });
    assert.equal(run.reason, null);
    const r = run.result!;
    assert.equal(r.name, "pytorch");
    assert.equal(r.threads, 1);
    assert.equal(r.detail.params, params);
    assert.equal(r.detail.priors, P);
    assert.equal(r.detail.batch, TINY.batch);
    // What the process cost the kernel, so an allocator that faults memory in every step shows.
    assert.ok((r.detail.minor_faults as number) > 0 && (r.detail.sys_s as number) >= 0, JSON.stringify(r.detail));
    assert.equal(r.detail.allocator_preload, null);
    for (const v of [r.train_img_s!, r.infer_fps, r.infer_batch_img_s]) assert.ok(v > 0 && Number.isFinite(v), `${v}`);
    // The script refuses a network that is not ours.
    const wrong = await runTorchPeer({
      threads: 1,
      protocol: TINY,
      expectParams: params + 1,
      expectPriors: P,
      inputSize,
    });
    assert.equal(wrong.result, null);
    assert.match(wrong.reason!, new RegExp(`has ${params} weights, ours ${params + 1}`));
    const wrongP = await runTorchPeer({
      threads: 1,
      protocol: TINY,
      expectParams: params,
      expectPriors: 4420,
      inputSize,
    });
    assert.match(wrongP.reason!, new RegExp(`64x96 gives ${P} priors, ours 4420`));
    assert.ok(TORCH_SCRIPT.endsWith("bench/peers/torch_ssdv2.py"));
  },
});

Deno.test("runTorchPeer: the 240x320 network has 4420 priors and our exact weight count", {
  ignore: !hasTorch,
}, async () => {
  const d = buildDetector({ trunk: "ssdv2", branches: 4 });
  const params = summarizeModel(d.model).totalParams;
  d.model.dispose();
  // maxIters 1 and no warm-up: one call per figure, enough to check the counts at the real input size.
  const protocol: BenchProtocol = {
    ...TINY,
    minSeconds: 0,
    maxIters: 1,
    warmup: { train: 0, infer: 0, inferBatch: 0 },
  };
  const run = await runTorchPeer({ threads: 1, protocol, expectParams: params, expectPriors: 4420 });
  assert.equal(run.reason, null);
  assert.equal(run.result!.detail.params, 1043286);
  assert.equal(run.result!.detail.priors, 4420);
});

Deno.test({
  name: "checkTorchNetwork: with our weights the PyTorch network computes our outputs (float32 rounding apart)",
  ignore: !hasTorch,
  async fn() {
    const d = buildDetector({ trunk: "ssdv2", branches: 4, inputSize: [64, 96], seed: 3 });
    try {
      // Non-trivial BN statistics, so a BN in the wrong place or with the wrong epsilon shows.
      randomizeNormalization(d.model, 5);
      const input = new Float32Array(2 * 64 * 96 * 3).map((_, i) => Math.sin(i * 0.71) * 0.5);
      const before = tf.memory().numTensors;
      const r = await checkTorchNetwork(d, input);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(r.weightsLoaded, d.model.weights.length);
      assert.ok(r.logitsMaxAbs > 0.1 && r.offsetsMaxAbs > 0.1, JSON.stringify(r));
      assert.ok(r.logitsMaxAbsDiff <= 1e-4 * r.logitsMaxAbs, JSON.stringify(r));
      assert.ok(r.offsetsMaxAbsDiff <= 1e-4 * r.offsetsMaxAbs, JSON.stringify(r));
    } finally {
      d.model.dispose();
    }
  },
});

Deno.test("runOrtPeer: ONNX Runtime inference on our exported detector, no training figure", async () => {
  const d = buildDetector({ trunk: "ssdv2", branches: 4, inputSize: [64, 96] });
  try {
    const before = tf.memory().numTensors;
    const run = await runOrtPeer({ detector: d, threads: 1, protocol: TINY });
    assert.equal(tf.memory().numTensors, before, "tensors left behind by the export");
    assert.equal(run.reason, null);
    const r = run.result!;
    assert.equal(r.name, "onnxruntime");
    assert.equal(r.train_img_s, null);
    assert.match(r.version, /^\d+\.\d+/);
    assert.equal(r.detail.opset, 13);
    for (const v of [r.infer_fps, r.infer_batch_img_s]) assert.ok(v > 0 && Number.isFinite(v), `${v}`);
    await assert.rejects(
      () => runOrtPeer({ detector: d, threads: 1, protocol: { ...TINY, inferBatch: 0 } }),
      /inferBatch must be a positive integer/,
    );
  } finally {
    d.model.dispose();
  }
});
