import assert from "node:assert/strict";
import { generateDataset } from "../lib/data/generate.ts";
import { findTcmalloc } from "../lib/bench/peers.ts";
import { main } from "./bench.ts";

// The smoke runs start the whole benchmark (and the peers) in a subprocess: about a minute on a busy 2-core machine.
// FACEMASK_SKIP_BENCH_SMOKE=1 skips them.
const skipSmoke = Deno.env.get("FACEMASK_SKIP_BENCH_SMOKE") === "1";
const REPO = new URL("..", import.meta.url).pathname;

async function bench(args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bench", ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(stdout);
  } catch (e) {
    throw new Error(`stdout is not one JSON object (${(e as Error).message}): ${stdout.slice(0, 500)}`);
  }
  return { code: out.code, json, stderr };
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

Deno.test("bench: a bad option value is one line naming it, exit 2, before anything is measured", async () => {
  for (
    const [args, msg] of [
      [["--batch", "0"], /--batch must be a positive integer, got 0/],
      [["--min-seconds=-1"], /--min-seconds must be a number >= 0, got -1/],
      [["--loop-steps", "x"], /--loop-steps must be a positive integer, got x/],
      [["--nope"], /unknown option '--nope'/],
    ] as const
  ) {
    const c = capture();
    assert.equal(await main([...args], c.io), 2);
    assert.equal(c.err.length, 1);
    assert.match(c.err[0], msg);
    assert.match(c.err[0], /^bench: .*\(deno task bench --help lists the options\)$/);
  }
});

Deno.test({
  name: "deno task bench --quick --peers --json: our figures, both peers (or why not), CPU and oneDNN names",
  ignore: skipSmoke,
  async fn() {
    const { json, stderr } = await bench(["--quick", "--peers", "--json"]);
    assert.match(stderr, /^bench: CPU .* \((AVX-512|AVX2|other|unknown)( capped to \S+ \(ONEDNN_MAX_CPU_ISA\))?\)/m);
    // onednnMaxIsa only where ONEDNN_MAX_CPU_ISA caps oneDNN.
    assert.deepEqual(Object.keys(json.cpu as object).filter((k) => k !== "onednnMaxIsa").sort(), ["isa", "model"]);
    assert.equal(json.params, 1043286);
    const p = json.protocol as { batch: number; inferBatch: number; minSeconds: number; repeats: number };
    assert.deepEqual([p.batch, p.inferBatch, p.minSeconds, p.repeats], [2, 2, 0.2, 1]);
    assert.ok(isNum(json.peak_gflops));
    assert.ok(isNum(json.threads));
    const results = json.results as Record<string, unknown>[];
    assert.equal(results.length, 1, "--quick runs one backend");
    for (const k of ["train_img_s", "infer_fps", "infer_batch_img_s"]) assert.ok(isNum(results[0][k]), k);
    if (results[0].backend === "native") {
      const impls = json.conv_impls as Record<string, { batch: number; forward: { name: string; count: number }[] }>;
      assert.equal(impls.train.batch, 2);
      assert.equal(impls.train.forward.reduce((s, c) => s + c.count, 0), 37);
      assert.ok(impls.train.forward.every((c) => typeof c.name === "string" && c.name.length > 0));
    }
    const peers = json.peers as Record<string, unknown>[];
    // Where PyTorch ran, it runs again with tcmalloc preloaded, or says why it could not.
    const torchRan = peers[0]?.reason === null;
    assert.deepEqual(
      peers.map((q) => q.name),
      torchRan ? ["pytorch", "pytorch+tcmalloc", "onnxruntime"] : ["pytorch", "onnxruntime"],
    );
    if (torchRan && findTcmalloc() === null) {
      assert.match(String(peers[1].reason), /not found \(apt-get install -y libtcmalloc-minimal4\)/);
    }
    for (const q of peers) {
      if (q.reason !== null) {
        assert.equal(typeof q.reason, "string");
        for (const k of ["train_img_s", "infer_fps", "infer_batch_img_s"]) assert.equal(q[k], null, `${q.name} ${k}`);
        continue;
      }
      assert.ok(isNum(q.infer_fps) && isNum(q.infer_batch_img_s), JSON.stringify(q));
      assert.ok(q.name === "onnxruntime" ? q.train_img_s === null : isNum(q.train_img_s), JSON.stringify(q));
    }
    const ratios = json.ratios as Record<string, unknown>[];
    assert.equal(ratios.length, peers.length);
    for (const r of ratios) {
      const peer = peers.find((q) => q.name === r.peer)!;
      if (peer.reason === null) {
        assert.equal(r.infer_fps, results[0].infer_fps as number / (peer.infer_fps as number));
      } else assert.equal(r.infer_fps, null);
    }
    assert.equal(json.loop, undefined, "no loop unless asked");
  },
});

Deno.test({
  name: "deno task bench --quick --loop --profile --json: the loop's img/s beside the bench's, the step's phases",
  ignore: skipSmoke,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cli_bench_loop_" });
    try {
      // --quick's loop: 1 warm-up step and 1 timed step of the paper's batch of 32.
      await generateDataset(dir, { seed: 7, train: 64, val: 1 });
      const { json } = await bench(["--quick", "--loop", "--profile", "--json", "--data", dir]);
      const profile = json.profile as {
        batch: number;
        kernels: { name: string }[];
        phases_ms: Record<string, number>;
      };
      assert.equal(profile.batch, 2);
      assert.ok(profile.kernels.some((k) => k.name === "SsdNativeCB"), "the fused CB kernel is in the profile");
      const ph = profile.phases_ms;
      assert.deepEqual(Object.keys(ph).sort(), ["backward", "forward", "loss", "step", "update"]);
      assert.ok(isNum(ph.forward) && isNum(ph.step));
      const loop = json.loop as Record<string, unknown>;
      assert.ok(isNum(loop.loop_img_s));
      const train = (json.results as { train_img_s: number }[])[0].train_img_s;
      assert.equal(loop.bench_train_img_s, train);
      assert.equal(loop.loop_over_bench, (loop.loop_img_s as number) / train);
      assert.deepEqual([loop.batchSize, loop.microBatch, loop.steps, loop.warmupSteps], [32, 8, 1, 1]);
      assert.deepEqual((loop.data as { label: string }).label, "generated");
      assert.equal(json.peers, undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
