import assert from "node:assert/strict";
import { buildDemo, DEFAULT_RUN, main, PAGE_FILES, TFJS_VERSION, VENDOR_FILES } from "./demo_build.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const RUN = `${REPO}/${DEFAULT_RUN}`;
const DEMO = `${REPO}/results/demo`;
const NODE_MODULES = `${REPO}/node_modules`;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

async function same(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test("buildDemo writes the run's model, the TF.js bundles, the page and a README into a new folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo_build_" });
  try {
    // A stale file in vendor/ must not survive a rebuild.
    await Deno.mkdir(`${dir}/vendor`, { recursive: true });
    await Deno.writeTextFile(`${dir}/vendor/old.js`, "stale");
    const res = await buildDemo(RUN, dir);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/model/model.json`));
    assert.deepEqual(json.weightsManifest[0].paths, ["group1-shard1of1.bin"]);
    const meta = json.userDefinedMetadata;
    assert.equal(meta.origin.epoch, 70);
    assert.equal(meta.origin.which, "best");
    assert.equal(meta.priors.count, 4420);
    assert.equal(res.files["model/group1-shard1of1.bin"], (await Deno.stat(`${RUN}/model/model.weights.bin`)).size);
    const vendor = [...Deno.readDirSync(`${dir}/vendor`)].map((e) => e.name).sort();
    assert.deepEqual(vendor, VENDOR_FILES.map((v) => v.file.slice(v.file.lastIndexOf("/") + 1)).sort());
    for (const v of VENDOR_FILES) {
      const name = v.file.slice(v.file.lastIndexOf("/") + 1);
      assert.ok(await same(`${dir}/vendor/${name}`, `${NODE_MODULES}/${v.pkg}/${v.file}`), name);
    }
    for (const f of PAGE_FILES) assert.ok(await same(`${dir}/${f}`, `${DEMO}/${f}`), f);
    const readme = await Deno.readTextFile(`${dir}/README.md`);
    assert.match(readme, /python3 -m http\.server -d results\/demo 8000/);
    assert.match(readme, new RegExp(`Run: \`${RUN.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\``));
    assert.match(readme, /Weights: epoch 70, the epoch selected on the validation split \(val mAP 0\.8415/);
    assert.match(readme, new RegExp(`TF\\.js ${TFJS_VERSION.replace(/\./g, "\\.")}`));
    assert.match(readme, /`vendor\/tf\.min\.js` \(\d+ bytes\)/);
    // model.json was not left private by the staging folder
    assert.equal((await Deno.stat(`${dir}/model`)).mode! & 0o777, 0o755);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the committed results/demo holds the committed run's weights and the pinned TF.js bundles", async () => {
  const dir = await Deno.makeTempDir({ prefix: "demo_build_fresh_" });
  try {
    // In a fresh process, as `deno task demo:build` runs it: tfjs numbers a layer name it has seen before in the
    // same process (a second export in one process names the input "image_2").
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${REPO}/cli/demo_build.ts`, DEFAULT_RUN, "--out", dir],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /weights of epoch 70 \(selected on validation\)/);
    assert.ok(await same(`${dir}/model/group1-shard1of1.bin`, `${DEMO}/model/group1-shard1of1.bin`), "stale weights");
    const fresh = JSON.parse(await Deno.readTextFile(`${dir}/model/model.json`));
    const committed = JSON.parse(await Deno.readTextFile(`${DEMO}/model/model.json`));
    assert.deepEqual(
      committed,
      fresh,
      "results/demo/model/model.json differs from a fresh export: deno task demo:build",
    );
    for (const v of VENDOR_FILES) {
      const name = v.file.slice(v.file.lastIndexOf("/") + 1);
      assert.ok(await same(`${DEMO}/vendor/${name}`, `${NODE_MODULES}/${v.pkg}/${v.file}`), name);
    }
    // The page refers only to files of its folder: no absolute URL, no root-relative path, no CDN.
    const html = await Deno.readTextFile(`${DEMO}/index.html`);
    const refs = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    assert.deepEqual(refs, ["data:,", "vendor/tf.min.js", "vendor/tf-backend-wasm.min.js", "demo.js"]);
    const js = await Deno.readTextFile(`${DEMO}/demo.js`);
    assert.doesNotMatch(js, /https?:\/\//);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("buildDemo refuses TF.js bundles of another version and leaves the folder alone", async () => {
  const root = await Deno.makeTempDir({ prefix: "demo_build_bad_" });
  try {
    for (const pkg of new Set(VENDOR_FILES.map((v) => v.pkg))) {
      await Deno.mkdir(`${root}/nm/${pkg}/dist`, { recursive: true });
      await Deno.writeTextFile(`${root}/nm/${pkg}/package.json`, JSON.stringify({ version: "3.21.0" }));
    }
    await assert.rejects(
      buildDemo(RUN, `${root}/out`, { nodeModules: `${root}/nm` }),
      /nm\/@tensorflow\/tfjs\/package\.json: version 3\.21\.0, the demo vendors 4\.22\.0/,
    );
    await assert.rejects(Deno.stat(`${root}/out`), Deno.errors.NotFound);
    await assert.rejects(
      buildDemo(RUN, `${root}/out`, { pageDir: `${root}/nowhere` }),
      /nowhere\/index\.html: cannot read a page file of the demo/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("demo:build command: help, a bad command line, a missing run", async () => {
  const h = capture();
  assert.equal(await main(["--help"], h.io), 0);
  assert.match(h.out[0], /usage: deno task demo:build/);
  const two = capture();
  assert.equal(await main(["a", "b"], two.io), 2);
  assert.match(two.err[0], /at most one run folder, got 2/);
  const opt = capture();
  assert.equal(await main(["--bogus"], opt.io), 2);
  assert.match(opt.err[0], /demo:build: unknown option '--bogus'/);
  const dir = await Deno.makeTempDir({ prefix: "demo_build_missing_" });
  try {
    const miss = capture();
    assert.equal(await main([`${dir}/no-run`, "--out", `${dir}/out`], miss.io), 1);
    assert.match(miss.err[0], /demo:build: .*no-run/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
