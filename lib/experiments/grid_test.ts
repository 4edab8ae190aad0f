import assert from "node:assert/strict";
import { DEFAULT_CONFIG, loadConfig, type RunConfig } from "../runs/config.ts";
import { findReusableRun, GRIDS, runIdentity } from "./grid.ts";
import { writeJsonAtomic } from "../runs/files.ts";
import { createRunDir, RUN_CONTRACT } from "../runs/run.ts";
import { testProvenance } from "../runs/testing.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const SUM = "ab".repeat(32);

/** A run folder with the given state: `finished` writes every contract file, else only a checkpoint. */
async function fakeRun(
  resultsDir: string,
  config: RunConfig,
  runId: string,
  state: { finished: boolean; checksum?: string; checkpoint?: boolean },
): Promise<string> {
  const dir = await createRunDir(config, { resultsDir, runId });
  await writeJsonAtomic(
    `${dir}/provenance.json`,
    testProvenance({
      data: { checksum: state.checksum ?? SUM },
      end: state.finished ? "2026-11-29T10:00:00.000Z" : null,
    }),
  );
  if (state.finished) {
    for (const f of RUN_CONTRACT) {
      if (f === "config.json" || f === "provenance.json") continue;
      await Deno.mkdir(`${dir}/${f}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${f}`, "x");
    }
  }
  if (state.checkpoint) {
    await Deno.mkdir(`${dir}/checkpoints`, { recursive: true });
    await Deno.writeTextFile(`${dir}/checkpoints/last.json`, "{}");
  }
  return dir;
}

Deno.test("runIdentity: labels do not count, key order does not count, any setting does", () => {
  const a = { ...DEFAULT_CONFIG, name: "a", experiment: "x", description: "one" };
  const b = { ...DEFAULT_CONFIG, description: "two", experiment: "y", name: "b" };
  assert.equal(runIdentity(a), runIdentity(b));
  const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as RunConfig;
  assert.equal(runIdentity(reordered), runIdentity(a));
  assert.notEqual(runIdentity({ ...a, seed: a.seed + 1 }), runIdentity(a));
  assert.notEqual(runIdentity({ ...a, train: { ...a.train, epochs: a.train.epochs + 1 } }), runIdentity(a));
  assert.notEqual(runIdentity({ ...a, model: { ...a.model, trunk: "slim" } }), runIdentity(a));
});

Deno.test("GRIDS: the short ssdv2 backbone is the short 4-branch ablation run; every config file loads", async () => {
  for (const kind of ["ablation", "backbones"] as const) {
    for (const files of Object.values(GRIDS[kind])) for (const f of files) await loadConfig(`${REPO}${f}`);
  }
  for (const profile of ["quick", "short", "paper"]) {
    const ablation4 = await loadConfig(`${REPO}${GRIDS.ablation[profile][3]}`);
    const ssdv2 = await loadConfig(`${REPO}${GRIDS.backbones[profile][0]}`);
    assert.equal(ssdv2.model.trunk, "ssdv2");
    // The quick profiles differ on purpose (the backbone runs use batch 32); short and paper are the same runs.
    if (profile !== "quick") assert.equal(runIdentity(ssdv2), runIdentity(ablation4), profile);
  }
});

Deno.test("findReusableRun: newest finished match first, else an unfinished one with a checkpoint, else null", async () => {
  const root = await Deno.makeTempDir();
  try {
    const config = { ...DEFAULT_CONFIG, experiment: "ablation/short", name: "branches-4" };
    const asBackbone = { ...config, experiment: "backbones/short", name: "backbone-ssdv2" };
    assert.equal(await findReusableRun(root, config, SUM), null);
    assert.equal(await findReusableRun(`${root}/missing`, config, SUM), null);

    await fakeRun(root, config, "branches-4-20261129-080000", { finished: false }); // no checkpoint: nothing to resume
    assert.equal(await findReusableRun(root, config, SUM), null);
    const partial = await fakeRun(root, config, "branches-4-20261129-090000", { finished: false, checkpoint: true });
    assert.deepEqual(await findReusableRun(root, asBackbone, SUM), { runDir: partial, finished: false });

    const old = await fakeRun(root, config, "branches-4-20261128-090000", { finished: true });
    assert.deepEqual(await findReusableRun(root, asBackbone, SUM), { runDir: old, finished: true });
    const newer = await fakeRun(root, config, "branches-4-20261129-070000", { finished: true });
    assert.deepEqual(await findReusableRun(root, config, SUM), { runDir: newer, finished: true });

    // Other data, another setting, an uncomputed checksum: no match.
    assert.equal(await findReusableRun(root, config, "cd".repeat(32)), null);
    assert.equal(await findReusableRun(root, { ...config, seed: 2 }, SUM), null);
    assert.equal(await findReusableRun(root, config, "not computed"), null);

    // A finished run that lost a contract file is not reused (and has no checkpoint to resume from).
    await Deno.remove(`${newer}/metrics.json`);
    assert.deepEqual(await findReusableRun(root, config, SUM), { runDir: old, finished: true });

    // Unreadable folders are passed over.
    await Deno.mkdir(`${root}/ablation/short/broken`, { recursive: true });
    await Deno.writeTextFile(`${root}/ablation/short/broken/config.json`, "{ not json");
    await Deno.writeTextFile(`${root}/ablation/short/broken/provenance.json`, "{}");
    assert.deepEqual(await findReusableRun(root, config, SUM), { runDir: old, finished: true });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
