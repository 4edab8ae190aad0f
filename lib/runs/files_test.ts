import assert from "node:assert/strict";
import {
  exists,
  JsonFileError,
  readJson,
  readJsonIfPresent,
  readWeights,
  writeFileAtomic,
  writeJsonAtomic,
  writeWeights,
} from "./files.ts";

Deno.test("writeFileAtomic: replaces the file and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFileAtomic(`${dir}/a.txt`, "one");
    await writeFileAtomic(`${dir}/a.txt`, "two");
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "two");
    await writeJsonAtomic(`${dir}/b.json`, { x: [1, 2] });
    assert.deepEqual(await readJson(`${dir}/b.json`), { x: [1, 2] });
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names.sort(), ["a.txt", "b.json"]);
    await assert.rejects(() => writeFileAtomic(`${dir}/missing/c.txt`, "x"), /cannot write .*missing\/c\.txt/);
    await assert.rejects(() => readJson(`${dir}/none.json`), /none\.json: file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeWeights/readWeights: TF.js manifest, values and order survive", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const weights = [
      { name: "conv/kernel", shape: [1, 1, 2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: "conv/bias", shape: [2], data: new Float32Array([-0.5, 0.25]) },
    ];
    await writeWeights(dir, weights, { metadata: { trunk: "ssdv2" } });
    const manifest = await readJson<{ weightsManifest: { paths: string[]; weights: unknown[] }[] }>(
      `${dir}/model.json`,
    );
    assert.deepEqual(manifest.weightsManifest[0].paths, ["model.weights.bin"]);
    assert.deepEqual(manifest.weightsManifest[0].weights[1], { name: "conv/bias", shape: [2], dtype: "float32" });
    // 6 float32 values = 24 bytes in one shard.
    assert.equal((await Deno.stat(`${dir}/model.weights.bin`)).size, 24);
    const back = await readWeights(dir);
    assert.deepEqual(back.metadata, { trunk: "ssdv2" });
    assert.deepEqual(Array.from(back.weights[0].data), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(back.weights[1].data), [-0.5, 0.25]);
    assert.deepEqual(back.weights[0].shape, [1, 1, 2, 2]);

    await Deno.writeFile(`${dir}/model.weights.bin`, new Uint8Array(20));
    await assert.rejects(() => readWeights(dir), /model\.json: shard holds 5 values/);
    await Deno.remove(`${dir}/model.weights.bin`);
    await assert.rejects(() => readWeights(dir), /model\.weights\.bin: cannot read weight shard/);
    assert.equal(await exists(`${dir}/model.weights.bin`), false);
    await assert.rejects(
      () => writeWeights(dir, [{ name: "w", shape: [3], data: new Float32Array(2) }]),
      /w has shape \[3\] but 2 values/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readJsonIfPresent: null for a missing file; a broken one is still a JsonFileError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readJsonIfPresent(`${dir}/none.json`), null);
    await Deno.writeTextFile(`${dir}/bad.json`, "{oops");
    const err = await readJsonIfPresent(`${dir}/bad.json`).catch((e) => e);
    assert.ok(err instanceof JsonFileError);
    assert.deepEqual([err.file, err.notFound], [`${dir}/bad.json`, false]);
    assert.match(err.message, /bad\.json: not valid JSON/);
    await Deno.writeTextFile(`${dir}/ok.json`, "[1]");
    assert.deepEqual(await readJsonIfPresent(`${dir}/ok.json`), [1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
