import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "./config.ts";
import { createRunDir, gitState, hostInfo, makeRunId, missingRunFiles, RUN_CONTRACT } from "./run.ts";

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
