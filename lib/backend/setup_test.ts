import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { describeBackend, setupBackend, tfjsNodeStatus, WASM_TRAINING_KERNELS } from "./mod.ts";
import { shortDetail } from "./setup.ts";

/** Runs `fn` with FACEMASK_BACKEND set to `value` (or unset), restoring it afterwards. */
async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = Deno.env.get("FACEMASK_BACKEND");
  if (value === undefined) Deno.env.delete("FACEMASK_BACKEND");
  else Deno.env.set("FACEMASK_BACKEND", value);
  try {
    return await fn();
  } finally {
    if (saved === undefined) Deno.env.delete("FACEMASK_BACKEND");
    else Deno.env.set("FACEMASK_BACKEND", saved);
  }
}

Deno.test("setupBackend('wasm'): wasm with training kernels, one log line, same answer when asked again", async () => {
  const lines: string[] = [];
  const info = await setupBackend({ backend: "wasm", log: (l) => lines.push(l) });
  assert.equal(info.name, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.equal(info.requested, "wasm");
  assert.equal(info.threads, 1);
  assert.equal(info.tfjsVersion, tf.version.tfjs);
  assert.deepEqual(info.attempts.map((a) => [a.backend, a.ok]), [["wasm", true]]);
  assert.match(info.reason, /^forced \(option\)/);
  for (const k of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(k, "wasm"), k);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^backend: wasm \(forced; (no )?SIMD, 1 thread\)$/);
  assert.equal(lines[0], `backend: ${info.summary}`);
  const again = await setupBackend({ backend: "wasm", log: (l) => lines.push(l) });
  assert.equal(again, info);
  assert.equal(lines.length, 1, "no new setup, no new line");
  assert.match(describeBackend(info), /^wasm \(requested wasm; tfjs 4\.22\.0; 1 thread\(s\)\): forced/);
});

Deno.test("setupBackend('cpu') switches to cpu, and back to wasm when asked", async () => {
  const info = await setupBackend({ backend: "cpu", log: () => {} });
  assert.equal(info.name, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal((await setupBackend({ backend: "wasm", log: () => {} })).name, "wasm");
});

Deno.test("forcing tensorflow without tfjs-node is a clear, fast error", async () => {
  const t0 = performance.now();
  await assert.rejects(
    () => setupBackend({ backend: "tensorflow", log: () => {} }),
    /backend 'tensorflow' is not available: tensorflow: @tensorflow\/tfjs-node not installed \(to use it: add/,
  );
  // Detection touches only the import map: far below the 100 ms budget even on a busy machine.
  assert.ok(performance.now() - t0 < 100, `took ${performance.now() - t0} ms`);
});

Deno.test("auto: tries tfjs-node first, then native, then wasm; the reason names each failure", async () => {
  const info = await withEnv(undefined, () => setupBackend({ log: () => {} }));
  assert.equal(info.requested, "auto");
  assert.deepEqual(info.attempts[0], {
    backend: "tensorflow",
    ok: false,
    detail: tfjsNodeStatus().detail,
  });
  assert.equal(info.attempts[1].backend, "native");
  const expected = info.attempts[1].ok ? "native" : "wasm";
  assert.equal(info.name, expected);
  assert.deepEqual(
    info.attempts.map((a) => a.backend),
    expected === "native" ? ["tensorflow", "native"] : [
      "tensorflow",
      "native",
      "wasm",
    ],
  );
  assert.ok(info.reason.startsWith("tensorflow: @tensorflow/tfjs-node not installed"), info.reason);
  assert.ok(info.reason.includes("native: "), info.reason);
  // The printed line is short: the chosen backend first, then each one passed over in a few words.
  assert.equal(info.summary.split("\n").length, 1);
  assert.ok(info.summary.length < 120, info.summary);
  assert.match(
    info.summary,
    expected === "native"
      ? /^native \(oneDNN [\d.]+, \d+ threads?; tensorflow: tfjs-node not installed\)$/
      : /^wasm \((no )?SIMD, 1 thread; tensorflow: tfjs-node not installed; native: .+\)$/,
  );
});

Deno.test("shortDetail: the first clause, base names for paths, without the backend's own name", () => {
  assert.equal(
    shortDetail("tensorflow", tfjsNodeStatus(() => "npm:x").detail),
    "tfjs-node is in the import map but not in node_modules",
  );
  assert.equal(
    shortDetail("native", "native addon not built (/work/native/build/Release/ssd_native.node is missing): run it"),
    "addon not built",
  );
  assert.equal(
    shortDetail("native", "native addon /a/b/ssd_native.node failed to load (dlopen); rebuild it"),
    "addon ssd_native.node failed to load",
  );
  assert.equal(
    shortDetail("native", "native backend: threads must be a positive integer, got 0"),
    "threads must be a positive integer, got 0",
  );
  assert.equal(shortDetail("wasm", "x".repeat(80)), `${"x".repeat(57)}...`);
});

Deno.test("FACEMASK_BACKEND replaces auto but not an explicit option; a bad value is an error naming it", async () => {
  const fromEnv = await withEnv("cpu", () => setupBackend({ log: () => {} }));
  assert.equal(fromEnv.name, "cpu");
  assert.equal(fromEnv.requested, "cpu");
  assert.match(fromEnv.reason, /^forced \(FACEMASK_BACKEND\)/);
  assert.equal(fromEnv.summary, "cpu (FACEMASK_BACKEND=cpu; plain JavaScript, slow)");
  // A run config's "auto" is a request for auto too: FACEMASK_BACKEND replaces it, and the record says so.
  const viaConfig = await withEnv("wasm", () => setupBackend({ backend: "auto", log: () => {} }));
  assert.match(viaConfig.reason, /^forced \(FACEMASK_BACKEND\)/);
  const explicit = await withEnv("cpu", () => setupBackend({ backend: "wasm", log: () => {} }));
  assert.equal(explicit.name, "wasm");
  await withEnv(
    "gpu",
    () => assert.rejects(() => setupBackend({ log: () => {} }), /FACEMASK_BACKEND='gpu' is not a backend/),
  );
  await assert.rejects(() => setupBackend({ backend: "wasm", threads: 0, log: () => {} }), /threads must be/);
});

Deno.test("tfjsNodeStatus: each way tfjs-node can be missing is reported, and only a full install is ok", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const pkg = `${dir}/node_modules/@tensorflow/tfjs-node`;
    Deno.mkdirSync(`${pkg}/dist`, { recursive: true });
    const entry = `file://${pkg}/dist/index.js`;
    const notMapped = tfjsNodeStatus(() => {
      throw new TypeError("not in import map");
    });
    assert.equal(notMapped.ok, false);
    assert.match(notMapped.detail, /not installed \(to use it: add "@tensorflow\/tfjs-node"/);
    const mappedOnly = tfjsNodeStatus(() => "npm:@tensorflow/tfjs-node@4.22.0");
    assert.equal(mappedOnly.ok, false);
    assert.match(mappedOnly.detail, /not in node_modules.*would download/);

    Deno.writeTextFileSync(`${pkg}/package.json`, JSON.stringify({ version: "3.21.1" }));
    assert.match(tfjsNodeStatus(() => entry).detail, /3\.21\.1 does not match tfjs 4\.22\.0/);

    Deno.writeTextFileSync(`${pkg}/package.json`, JSON.stringify({ version: tf.version.tfjs }));
    const noBinding = tfjsNodeStatus(() => entry);
    assert.equal(noBinding.ok, false);
    assert.match(noBinding.detail, /installed without its native binding/);

    Deno.mkdirSync(`${pkg}/lib/napi-v8`, { recursive: true });
    Deno.writeFileSync(`${pkg}/lib/napi-v8/tfjs_binding.node`, new Uint8Array(0));
    const full = tfjsNodeStatus(() => entry);
    assert.equal(full.ok, true);
    assert.equal(full.url, entry);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("setupBackend rejects an unknown backend name", async () => {
  await assert.rejects(
    () => setupBackend({ backend: "gpu" as "cpu", log: () => {} }),
    /unknown backend 'gpu'/,
  );
});
