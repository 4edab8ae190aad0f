import assert from "node:assert/strict";
import { generateDataset } from "../lib/data/generate.ts";
import { loadConfig, readRunConfig } from "../lib/runs/config.ts";
import { runIdentity } from "../lib/experiments/grid.ts";
import { main } from "./train.ts";

const TINY = new URL("../experiments/test/tiny.json", import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

Deno.test("train: bad command lines and bad --set are one line, exit 2, before anything runs", async () => {
  const cases: [string[], string][] = [
    [[TINY, "--epochs", "5"], "train: unknown option '--epochs' (deno task train --help lists the options)"],
    [
      [TINY, "--set", "train.epochs"],
      `train: --set train.epochs: config: expected key.path=value, e.g. --set train.epochs=5`,
    ],
    [
      [TINY, "--set", "model.trunk=vgg"],
      'train: --set model.trunk=vgg: field "model.trunk": expected one of ssdv2, ' +
      'slim, rfb, aizoo, got the string "vgg"',
    ],
    [
      [TINY, "--set", "train.batchSize=5"],
      `train: ${TINY} with --set train.batchSize=5: field "train.microBatch": 2 ` +
      "does not divide train.batchSize 5",
    ],
    [
      ["--resume", "/nowhere", "x.json"],
      "train: --resume takes no config file (the run's config.json is used), got " +
      "'x.json' (deno task train --help lists the options)",
    ],
  ];
  // --results points nowhere useful: a case that wrongly got through would fail at once instead of training.
  for (const [args, line] of cases) {
    const c = capture();
    assert.equal(await main([...args, "--results", "/dev/null/none"], c.io), 2, args.join(" "));
    assert.deepEqual([c.err, c.out], [[line], []]);
  }
  // A config file that cannot be read is not a usage error: exit 1, one line.
  const c = capture();
  assert.equal(await main(["/nowhere/x.json"], c.io), 1);
  assert.deepEqual(c.err, ["train: /nowhere/x.json: config: cannot read config: file not found"]);
});

Deno.test("train --set / --backend: the overrides are in the run's config.json, and so in its identity", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "cli_train_" });
  try {
    await generateDataset(`${tmp}/data`, { seed: 5, train: 4, val: 2 });
    const c = capture();
    const args = [TINY, "--data", `${tmp}/data`, "--results", `${tmp}/results`, "--set", "train.epochs=1"];
    args.push("--set", "model.width=8", "--set", "train.batchSize=2", "--backend", "wasm");
    assert.equal(await main(args, c.io), 0, c.err.join("\n"));
    const runDir = c.out.at(-1)!.replace(/^run folder: /, "");
    assert.match(runDir, new RegExp(`^${tmp}/results/test/e2e/tiny-\\d{8}-\\d{6}$`));
    const config = await readRunConfig(runDir);
    const base = await loadConfig(TINY);
    assert.deepEqual(
      [config.train.epochs, config.model.width, config.train.batchSize, config.backend.name],
      [1, 8, 2, "wasm"],
    );
    assert.deepEqual([base.train.epochs, base.model.width, base.train.batchSize, base.backend.name], [4, 16, 4, "cpu"]);
    assert.equal(config.train.lr, base.train.lr);
    assert.notEqual(runIdentity(config), runIdentity(base));
    const provenance = JSON.parse(await Deno.readTextFile(`${runDir}/provenance.json`));
    assert.equal(provenance.backend.name, "wasm");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
