import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../lib/runs/config.ts";
import { backendProblem, useBackendForRun } from "./backend_option.ts";

Deno.test("backendProblem: the names of lib/backend, anything else is a message", () => {
  for (const b of ["auto", "tensorflow", "native", "wasm", "cpu"]) assert.equal(backendProblem(b), null);
  assert.equal(backendProblem("gpu"), "--backend must be one of auto, tensorflow, native, wasm, cpu, got 'gpu'");
});

Deno.test("useBackendForRun: FACEMASK_BACKEND where the config says auto (or that name), else a message", async () => {
  const tmp = await Deno.makeTempDir();
  const saved = Deno.env.get("FACEMASK_BACKEND");
  try {
    const write = (name: string) =>
      Deno.writeTextFile(`${tmp}/config.json`, JSON.stringify({ ...DEFAULT_CONFIG, backend: { name, threads: 0 } }));
    Deno.env.delete("FACEMASK_BACKEND");
    await write("auto");
    assert.equal(await useBackendForRun(tmp, "wasm"), null);
    assert.equal(Deno.env.get("FACEMASK_BACKEND"), "wasm");
    await write("cpu");
    assert.equal(await useBackendForRun(tmp, "cpu"), null);
    assert.equal(Deno.env.get("FACEMASK_BACKEND"), "cpu");
    Deno.env.delete("FACEMASK_BACKEND");
    assert.match((await useBackendForRun(tmp, "native"))!, /config\.json asks for backend\.name "cpu"/);
    assert.equal(Deno.env.get("FACEMASK_BACKEND"), undefined);
    await assert.rejects(
      () => useBackendForRun(`${tmp}/none`, "cpu"),
      /config\.json: config: cannot read the run's config/,
    );
  } finally {
    if (saved === undefined) Deno.env.delete("FACEMASK_BACKEND");
    else Deno.env.set("FACEMASK_BACKEND", saved);
    await Deno.remove(tmp, { recursive: true });
  }
});
