import assert from "node:assert/strict";
import {
  applyOverrides,
  ConfigError,
  DEFAULT_CONFIG,
  loadConfig,
  mergeConfig,
  parseOverride,
  resolveConfig,
} from "./config.ts";

Deno.test("DEFAULT_CONFIG: docs/design.md's schedule", () => {
  const t = DEFAULT_CONFIG.train;
  assert.equal(t.batchSize, 32);
  assert.equal(t.lr, 0.01);
  assert.equal(t.momentum, 0.9);
  assert.equal(t.nesterov, true);
  assert.equal(t.warmupEpochs, 5);
  assert.deepEqual(t.decayEpochs, [50, 70]);
  assert.equal(t.decayFactor, 0.1);
  assert.equal(t.lrFloor, 1e-4);
  assert.equal(t.weightDecay, 5e-4);
  assert.equal(t.epochs, 100);
  assert.equal(DEFAULT_CONFIG.matching.iouThreshold, 0.45);
  assert.equal(DEFAULT_CONFIG.eval.scoreThreshold, 0.02);
  assert.equal(DEFAULT_CONFIG.eval.nmsIou, 0.4);
  assert.equal(DEFAULT_CONFIG.eval.topK, 200);
});

Deno.test("resolveConfig: overrides merge over the defaults", () => {
  const c = resolveConfig({ train: { epochs: 3 }, model: { branches: 2 } });
  assert.equal(c.train.epochs, 3);
  assert.equal(c.train.lr, 0.01);
  assert.equal(c.model.branches, 2);
  assert.equal(c.model.trunk, "ssdv2");
});

Deno.test("resolveConfig: messages name the file and the field", () => {
  const f = { file: "x.json" };
  assert.throws(() => resolveConfig({ train: { lrr: 1 } }, f), /x\.json: field "train\.lrr": unknown key/);
  assert.throws(() => resolveConfig({ train: { lr: "big" } }, f), /x\.json: field "train\.lr": expected a number/);
  assert.throws(() => resolveConfig({ train: { lr: 0 } }, f), /field "train\.lr": 0 is out of range \(0, 10\]/);
  assert.throws(() => resolveConfig({ model: { branches: 5 } }, f), /field "model\.branches": 5 is out of range/);
  assert.throws(() => resolveConfig({ model: { branches: 2.5 } }, f), /"model\.branches": expected an integer/);
  assert.throws(() => resolveConfig({ model: { trunk: "vgg" } }, f), /"model\.trunk": expected one of ssdv2/);
  assert.throws(() => resolveConfig({ data: { augment: 1 } }, f), /"data\.augment": expected true or false/);
  assert.throws(() => resolveConfig({ train: { decayEpochs: [50, "x"] } }, f), /"train\.decayEpochs\[1\]"/);
  assert.throws(() => resolveConfig({ train: { decayEpochs: [70, 50] } }, f), /strictly increasing/);
  assert.throws(() => resolveConfig({ train: { microBatch: 5 } }, f), /"train\.microBatch": 5 does not divide/);
  assert.throws(() => resolveConfig({ train: 3 }, f), /"train": expected an object/);
  assert.throws(() => resolveConfig([], f), ConfigError);
});

Deno.test("mergeConfig: arrays are replaced, objects merged, inputs untouched", () => {
  const base = { a: { b: 1, c: [1, 2] }, d: 1 };
  const out = mergeConfig(base, { a: { c: [3] } });
  assert.deepEqual(out, { a: { b: 1, c: [3] }, d: 1 });
  assert.deepEqual(base, { a: { b: 1, c: [1, 2] }, d: 1 });
});

Deno.test("loadConfig: extends a parent, names from the path, errors name the file holding the bad value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/experiments/base`, { recursive: true });
    await Deno.mkdir(`${dir}/experiments/quick`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/experiments/base/b4.json`,
      JSON.stringify({ model: { branches: 4 }, train: { epochs: 100, decayEpochs: [50, 70] }, seed: 7 }),
    );
    await Deno.writeTextFile(
      `${dir}/experiments/quick/b4.json`,
      JSON.stringify({ extends: "../base/b4.json", train: { epochs: 2, decayEpochs: [1] } }),
    );
    const c = await loadConfig(`${dir}/experiments/quick/b4.json`);
    assert.equal(c.experiment, "quick");
    assert.equal(c.name, "b4");
    assert.equal(c.seed, 7);
    assert.equal(c.model.branches, 4);
    assert.equal(c.train.epochs, 2);
    assert.deepEqual(c.train.decayEpochs, [1]);

    await Deno.writeTextFile(`${dir}/experiments/base/bad.json`, JSON.stringify({ model: { width: -1 } }));
    await Deno.writeTextFile(`${dir}/experiments/quick/child.json`, JSON.stringify({ extends: "../base/bad.json" }));
    await assert.rejects(
      () => loadConfig(`${dir}/experiments/quick/child.json`),
      /base\/bad\.json: field "model\.width"/,
    );

    await Deno.writeTextFile(`${dir}/experiments/quick/loop.json`, JSON.stringify({ extends: "loop.json" }));
    await assert.rejects(() => loadConfig(`${dir}/experiments/quick/loop.json`), /cycle/);
    await Deno.writeTextFile(`${dir}/experiments/quick/broken.json`, "{ not json");
    await assert.rejects(
      () => loadConfig(`${dir}/experiments/quick/broken.json`),
      /broken\.json: config: not valid JSON/,
    );
    await assert.rejects(
      () => loadConfig(`${dir}/nope.json`),
      /nope\.json: config: cannot read config: file not found/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("experiments/: every config file loads and validates; quick profiles keep the paper's model", async () => {
  const root = new URL("../../experiments/", import.meta.url).pathname;
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) await walk(`${dir}/${e.name}`);
      else if (e.name.endsWith(".json")) files.push(`${dir}/${e.name}`);
    }
  };
  await walk(root.replace(/\/$/, ""));
  assert.ok(files.length >= 17, `found ${files.length} configs`);
  for (const f of files) await loadConfig(f);
  // Table 2's configs: both prior readings for k = 1..3, and the 4-branch model they share.
  const names = [1, 2, 3].flatMap((k) => [`carry-${k}`, `own-${k}`]).concat("branches-4");
  for (const name of names) {
    const k = Number(name.at(-1));
    const paper = await loadConfig(`${root}ablation/${name}.json`);
    const quick = await loadConfig(`${root}quick/${name}.json`);
    assert.equal(paper.model.branches, k);
    assert.equal(paper.train.epochs, 100);
    assert.equal(quick.model.branches, k);
    assert.equal(quick.model.priors, paper.model.priors);
    assert.equal(quick.experiment, "ablation/quick");
    assert.equal(quick.name, name);
  }
  assert.equal((await loadConfig(`${root}backbones/rfb.json`)).model.trunk, "rfb");
});

Deno.test("parseOverride: JSON when it parses, else the text; a missing '=' or key is an error", () => {
  assert.deepEqual(parseOverride("train.epochs=5"), { arg: "train.epochs=5", path: "train.epochs", value: 5 });
  assert.deepEqual(parseOverride("train.decayEpochs=[30,60]").value, [30, 60]);
  assert.equal(parseOverride("data.root=null").value, null);
  assert.equal(parseOverride("data.root=/d/a=b").value, "/d/a=b");
  assert.equal(parseOverride("backend.name=wasm").value, "wasm");
  assert.equal(parseOverride('name="123"').value, "123");
  assert.equal(parseOverride("description=").value, "");
  for (const bad of ["train.epochs", "=5", "train..epochs=5", ".epochs=5"]) {
    assert.throws(() => parseOverride(bad), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, `--set ${bad}: config: expected key.path=value, e.g. --set train.epochs=5`);
      return true;
    });
  }
});

Deno.test("applyOverrides: sets nested keys in order, keeps the rest, leaves the input untouched", () => {
  const base = resolveConfig({ train: { epochs: 100, decayEpochs: [50, 70] } });
  const out = applyOverrides(base, [
    "train.epochs=5",
    "train.decayEpochs=[2,4]",
    "backend.name=wasm",
    "data.root=/data/aizoo",
    'data.augmentation={"crop":false}',
    "train.epochs=6",
  ]);
  assert.equal(out.train.epochs, 6);
  assert.deepEqual(out.train.decayEpochs, [2, 4]);
  assert.equal(out.backend.name, "wasm");
  assert.equal(out.backend.threads, base.backend.threads);
  assert.equal(out.data.root, "/data/aizoo");
  assert.equal(out.data.augmentation.crop, false);
  assert.equal(out.data.augmentation.minScale, base.data.augmentation.minScale);
  assert.equal(out.train.lr, base.train.lr);
  assert.equal(base.train.epochs, 100);
  assert.equal(base.backend.name, "auto");
  assert.equal(applyOverrides(base, []), base);
});

Deno.test("applyOverrides: an unknown key or a bad value names the --set; a broken rule names every --set", () => {
  const base = resolveConfig({});
  const fails = (sets: string[], message: string) =>
    assert.throws(() => applyOverrides(base, sets, { source: "x.json" }), (e: Error) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.message, message);
      return true;
    });
  fails(
    ["train.epoch=5"],
    '--set train.epoch=5: field "train.epoch": unknown key (known keys here: ' +
      "epochs, batchSize, microBatch, batchNormOver, stepsPerEpoch, lr, momentum, nesterov, weightDecay, " +
      "weightDecayOn, warmupEpochs, decayEpochs, decayFactor, lrFloor)",
  );
  fails(
    ["train.epochs=abc"],
    '--set train.epochs=abc: field "train.epochs": expected an integer in [1, 10000], ' +
      'got the string "abc"',
  );
  fails(["train.epochs=0"], '--set train.epochs=0: field "train.epochs": 0 is out of range [1, 10000]');
  fails(
    ["backend.name=gpu"],
    '--set backend.name=gpu: field "backend.name": expected one of auto, tensorflow, ' +
      'native, wasm, cpu, got the string "gpu"',
  );
  fails(["backend=wasm"], '--set backend=wasm: field "backend": expected an object, got the string "wasm"');
  fails(["seed.x=1"], '--set seed.x=1: field "seed": expected an integer in [0, 4294967295], got an object');
  fails(
    ["train.batchSize=12", "seed=3"],
    'x.json with --set train.batchSize=12 --set seed=3: field "train.microBatch": 8 does not divide ' +
      "train.batchSize 12",
  );
  // Relations are checked once, after every override: an order that passes through a broken state is fine.
  assert.equal(applyOverrides(base, ["train.batchSize=12", "train.microBatch=4"]).train.microBatch, 4);
});
