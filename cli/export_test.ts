import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { generatePriors, SSDV2_PRIORS } from "../lib/detect/priors.ts";
import { maxAbsDiff } from "../lib/export/testing.ts";
import { main } from "./export.ts";

const { onnx } = onnxProto;
const RUN = new URL("../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

async function logitsOf(file: string, input: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 1 });
  try {
    const r = await session.run({ image: new ort.Tensor("float32", input, [1, 240, 320, 3]) });
    return r.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

Deno.test("export --format tfjs writes a standard layers model holding every weight of the run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_export_tfjs_" });
  try {
    const s = capture();
    assert.equal(await main([RUN, "--format", "tfjs", "--out", `${dir}/tfjs`], s.io), 0, s.err.join("\n"));
    assert.match(s.out[0], /model\.json and .*group1-shard1of1\.bin \(4173144 bytes of weights, 4420 priors\)/);
    // the same number of float32 values as the run's own weight file
    const own = (await Deno.stat(`${RUN}/model/model.weights.bin`)).size;
    assert.equal((await Deno.stat(`${dir}/tfjs/group1-shard1of1.bin`)).size, own);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/tfjs/model.json`));
    const classes = new Set(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name));
    assert.ok(!classes.has("ConvBlock") && !classes.has("DepthwiseConvBlock"), [...classes].join(" "));
    assert.equal(json.userDefinedMetadata.origin.epoch, 70);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export --format onnx: folded and BN-node files agree, and carry the priors and the sidecar", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_export_onnx_" });
  try {
    const a = capture();
    assert.equal(await main([RUN, "--format", "onnx", "--out", `${dir}/folded.onnx`], a.io), 0, a.err.join("\n"));
    assert.match(a.out[0], /folded\.onnx \(\d+ bytes; .*Conv \d+.*\) and .*folded\.meta\.json/);
    assert.doesNotMatch(a.out[0], /BatchNormalization/);
    const b = capture();
    assert.equal(await main([RUN, "--format", "onnx", "--bn-nodes", "--out", `${dir}/bn.onnx`], b.io), 0);
    const model = onnx.ModelProto.decode(await Deno.readFile(`${dir}/bn.onnx`));
    const bnNodes = model.graph!.node!.filter((n) => n.opType === "BatchNormalization").length;
    // the ssdv2 trunk: 11 ConvBlocks (one BN each) and 3 DepthwiseConvBlocks (two each)
    assert.equal(bnNodes, 11 + 3 * 2);
    assert.match(b.out[0], /BatchNormalization 17/);
    const priors = model.graph!.node!.find((n) => n.output?.[0] === "priors")!.attribute![0].t!;
    const raw = priors.rawData!;
    const values = new Float32Array(Uint8Array.from(raw).buffer);
    assert.equal(maxAbsDiff(values, generatePriors(SSDV2_PRIORS)), 0);
    const input = new Float32Array(240 * 320 * 3).map((_, i) => ((i * 7919) % 255) / 255 - 0.5);
    const diff = maxAbsDiff(await logitsOf(`${dir}/folded.onnx`, input), await logitsOf(`${dir}/bn.onnx`, input));
    console.log(`  folded vs BatchNormalization nodes: max |diff| logits ${diff.toExponential(2)}`);
    assert.ok(diff <= 1e-4, String(diff));
    const sidecar = JSON.parse(await Deno.readTextFile(`${dir}/bn.meta.json`));
    assert.match(sidecar.onnx.batchNorm, /BatchNormalization nodes \(17\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export: bad arguments exit 2 with the reason, a folder that is no run exits 1 naming the file", async () => {
  const cases: [string[], RegExp][] = [
    [["--format", "onnx"], /exactly one run folder, got 0/],
    [[RUN, "--format", "keras"], /--format must be onnx or tfjs, got keras/],
    [[RUN], /--format must be onnx or tfjs, got nothing/],
    [[RUN, "--format", "tfjs", "--bn-nodes"], /--bn-nodes applies to --format onnx only/],
    [[RUN, "--format", "onnx", "--no-such"], /no-such/],
  ];
  for (const [args, re] of cases) {
    const s = capture();
    assert.equal(await main(args, s.io), 2, args.join(" "));
    assert.match(s.err[0], re);
  }
  const dir = await Deno.makeTempDir({ prefix: "cli_export_norun_" });
  try {
    const s = capture();
    assert.equal(await main([dir, "--format", "tfjs", "--out", `${dir}/o`], s.io), 1);
    assert.match(s.err[0], new RegExp(`${dir}/config.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/export.ts --help prints its usage and exits 0", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./export.ts", import.meta.url).pathname, "--help"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /usage: deno task export <run-dir> --format onnx\|tfjs/i);
});
