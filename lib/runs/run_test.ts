import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "./config.ts";
import {
  acquireRunLock,
  cpuInfo,
  createRunDir,
  describeIsa,
  gitState,
  hostInfo,
  makeRunId,
  missingRunFiles,
  onednnAvx512,
  parseProvenance,
  readProvenance,
  RUN_CONTRACT,
} from "./run.ts";
import { testProvenance } from "./testing.ts";
import { exists } from "./files.ts";

Deno.test("makeRunId: name and UTC time stamp", () => {
  assert.equal(makeRunId("branches-4", new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), "branches-4-20260102-030405");
});

Deno.test("createRunDir: results/<experiment>/<run-id> with config.json; never overwrites", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = { ...DEFAULT_CONFIG, experiment: "ablation/quick", name: "b1" };
    const run = await createRunDir(config, { resultsDir: dir, runId: "b1-x" });
    assert.equal(run, `${dir}/ablation/quick/b1-x`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${run}/config.json`)), config);
    await assert.rejects(() => createRunDir(config, { resultsDir: dir, runId: "b1-x" }), /already exists/);
    const missing = await missingRunFiles(run);
    assert.equal(missing.length, RUN_CONTRACT.length - 1);
    assert.ok(!missing.includes("config.json"));
    assert.ok(missing.includes("pr_face_mask.json") && missing.includes("pr_face.json"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gitState and hostInfo: commit is 40 hex digits in this repository", async () => {
  const g = await gitState();
  if (g.commit !== null) assert.match(g.commit, /^[0-9a-f]{40}$/);
  const outside = await gitState("/");
  assert.equal(outside.commit, null);
  assert.equal(hostInfo().os, Deno.build.os);
});

Deno.test("acquireRunLock: one holder at a time; a dead holder's lock is taken over; another host's is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await acquireRunLock(dir, "first");
    assert.equal(a.tookOverFrom, null);
    const held = JSON.parse(await Deno.readTextFile(`${dir}/run.lock`));
    assert.equal(held.pid, Deno.pid);
    assert.equal(held.command, "first");
    // This process is alive, so a second taker is refused with the holder named.
    await assert.rejects(() => acquireRunLock(dir, "second"), /another process is training this run \(pid \d+ .*first/);
    await a.release();
    assert.equal(await exists(`${dir}/run.lock`), false);
    await a.release(); // twice is harmless

    // A lock whose process is gone (a killed run) is taken over.
    const dead = { pid: 999999999, hostname: Deno.hostname(), start: "2026-01-01T00:00:00Z", command: "killed" };
    await Deno.writeTextFile(`${dir}/run.lock`, JSON.stringify(dead));
    const b = await acquireRunLock(dir, "third");
    assert.deepEqual(b.tookOverFrom, dead);
    // Releasing does not remove a lock that is no longer ours.
    await Deno.writeTextFile(`${dir}/run.lock`, JSON.stringify({ ...dead, pid: 1, command: "someone else" }));
    await b.release();
    assert.equal(await exists(`${dir}/run.lock`), true);

    // On Linux a live pid that is not a deno process (the number was reused) does not hold the lock.
    if (Deno.build.os === "linux" && !/deno/.test(Deno.readTextFileSync("/proc/1/cmdline"))) {
      await Deno.writeTextFile(`${dir}/run.lock`, JSON.stringify({ ...dead, pid: 1, command: "reused pid" }));
      const c = await acquireRunLock(dir, "fourth");
      assert.equal(c.tookOverFrom?.pid, 1);
      await c.release();
    }

    // Another machine's lock cannot be checked: refused, with the file to delete named.
    await Deno.writeTextFile(`${dir}/run.lock`, JSON.stringify({ ...dead, hostname: "elsewhere" }));
    await assert.rejects(() => acquireRunLock(dir), /on elsewhere .*delete .*run\.lock if it no longer runs/);
    await Deno.writeTextFile(`${dir}/run.lock`, "{ not json");
    await assert.rejects(() => acquireRunLock(dir), /lock cannot be read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readProvenance: checked field by field; keys it does not know are kept for the next write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const good = testProvenance({ host: { cpu: { model: "AMD EPYC", isa: "AVX2" } } });
    await Deno.writeTextFile(`${dir}/provenance.json`, JSON.stringify({ ...good, futureField: { x: 1 } }));
    const p = await readProvenance(dir);
    assert.equal(p.host.cpu?.isa, "AVX2");
    assert.deepEqual((p as unknown as Record<string, unknown>).futureField, { x: 1 });
    await Deno.writeTextFile(`${dir}/provenance.json`, JSON.stringify({ ...good, end: 5 }));
    await assert.rejects(readProvenance(dir), /provenance\.json: field "end": expected a string or null, got number 5/);
    const { seed: _seed, ...noSeed } = good;
    assert.throws(() => parseProvenance(noSeed, { file: "p.json" }), /^RunFileError: p\.json: field "seed": missing/);
    await assert.rejects(readProvenance(`${dir}/none`), /none\/provenance\.json: file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cpuInfo: model and widest ISA from /proc/cpuinfo text, oneDNN's cap from the environment", () => {
  const text = (flags: string) => `processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: ${flags}\n`;
  const none = () => undefined;
  assert.deepEqual(cpuInfo(text("fpu sse4_2 avx avx2 fma avx512f avx512bw"), none), {
    model: "AMD EPYC",
    isa: "AVX-512",
  });
  assert.deepEqual(cpuInfo(text("fpu sse4_2 avx avx2 fma"), none), { model: "AMD EPYC", isa: "AVX2" });
  // A flag that only starts like one does not count.
  assert.equal(cpuInfo(text("fpu avx2_fake avx512f_x"), none).isa, "other");
  assert.deepEqual(cpuInfo("", none), { model: "unknown", isa: "unknown" });
  const capped = cpuInfo(text("avx2 avx512f"), (n) => (n === "ONEDNN_MAX_CPU_ISA" ? " avx2 " : undefined));
  assert.deepEqual(capped, { model: "AMD EPYC", isa: "AVX-512", onednnMaxIsa: "AVX2" });
  assert.equal(onednnAvx512(capped), false);
  assert.equal(describeIsa(capped), "AVX-512 capped to AVX2 (ONEDNN_MAX_CPU_ISA)");
  const old = cpuInfo(text("avx2 avx512f"), (n) => (n === "DNNL_MAX_CPU_ISA" ? "AVX512_CORE" : undefined));
  assert.equal(old.onednnMaxIsa, "AVX512_CORE");
  assert.equal(onednnAvx512(old), true);
  // ALL is no cap.
  const all = cpuInfo(text("avx2 avx512f"), () => "ALL");
  assert.equal(all.onednnMaxIsa, undefined);
  assert.equal(onednnAvx512(all), true);
  assert.equal(describeIsa(all), "AVX-512");
  assert.equal(onednnAvx512(cpuInfo(text("avx2"), none)), false);
});
