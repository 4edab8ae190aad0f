// Tests of lib/experiments/grid.ts's `set`, `print` and `tableOnly` (grid_test.ts has the rest of the grid).
import assert from "node:assert/strict";
import { applyOverrides, loadConfig, type RunConfig } from "../runs/config.ts";
import { writeJsonAtomic } from "../runs/files.ts";
import { createRunDir, RUN_CONTRACT } from "../runs/run.ts";
import { testProvenance } from "../runs/testing.ts";
import { generateDataset } from "../data/generate.ts";
import { gridCommand, type GridOutputs, GRIDS, runGrid, shellQuote } from "./grid.ts";
import { loadRunData } from "./pipeline.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** Outputs that record their calls: printing a grid must write no table. */
function recordingOutputs(calls: string[]): GridOutputs {
  return {
    run: (dir) => (calls.push(`run ${dir}`), Promise.resolve([])),
    grid: (kind) => (calls.push(`grid ${kind}`), Promise.resolve([])),
  };
}

/** A run folder of `config` on data with `checksum`: finished (every contract file) or with a checkpoint only. */
async function fakeRun(resultsDir: string, config: RunConfig, runId: string, finished: boolean, checksum: string) {
  const dir = await createRunDir(config, { resultsDir, runId });
  await writeJsonAtomic(
    `${dir}/provenance.json`,
    testProvenance({ data: { checksum, label: "generated" }, end: finished ? "2026-11-29T10:00:00.000Z" : null }),
  );
  for (const f of finished ? RUN_CONTRACT : ["checkpoints/last.json"]) {
    if (f === "config.json" || f === "provenance.json") continue;
    await Deno.mkdir(`${dir}/${f}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${f}`, "{}");
  }
  return dir;
}

Deno.test("shellQuote: plain words as they are, anything else in single quotes", () => {
  assert.equal(shellQuote("experiments/quick/carry-1.json"), "experiments/quick/carry-1.json");
  assert.equal(shellQuote("train.epochs=5"), "train.epochs=5");
  assert.equal(shellQuote("/data/my faces"), "'/data/my faces'");
  assert.equal(shellQuote(`name="it's"`), `'name="it'"'"'s"'`);
  assert.equal(shellQuote(""), "''");
});

Deno.test("gridCommand: a train command, a resume command or a done comment", () => {
  const opts = { data: "/d", resultsDir: "results", set: ["train.epochs=5", "description=a b"] };
  assert.equal(
    gridCommand("experiments/ablation/carry-1.json", null, opts),
    "deno task train experiments/ablation/carry-1.json --data /d --set train.epochs=5 --set 'description=a b'",
  );
  assert.equal(
    gridCommand("experiments/ablation/carry-1.json", null, { resultsDir: "/r/", set: [] }),
    "deno task train experiments/ablation/carry-1.json --results /r/",
  );
  assert.equal(
    gridCommand("x.json", { runDir: "results/ablation/carry-1-20261201-000000", finished: false }, opts),
    "deno task train --resume results/ablation/carry-1-20261201-000000 --data /d",
  );
  assert.equal(
    gridCommand("x.json", { runDir: "results/ablation/carry-1-20261201-000000", finished: true }, opts),
    "# done: results/ablation/carry-1-20261201-000000",
  );
});

Deno.test("runGrid --print: one line per config in grid order, reuse decided with the --set overrides", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "grid_print_" });
  try {
    const data = `${tmp}/data`;
    await generateDataset(data, { seed: 3, train: 4, val: 2 });
    const results = `${tmp}/results`;
    const set = ["train.epochs=2", "backend.name=cpu"];
    const configs = GRIDS.ablation.quick;
    const load = async (i: number) => applyOverrides(await loadConfig(`${REPO}${configs[i]}`), set);
    const checksum = (await loadRunData(await load(0), { data })).provenance.checksum;
    const done = await fakeRun(results, await load(0), "carry-1-20261201-000000", true, checksum);
    const partial = await fakeRun(results, await load(1), "carry-2-20261201-000000", false, checksum);
    // The same config without the overrides, and the right config on other data: neither is a match.
    await fakeRun(results, await loadConfig(`${REPO}${configs[2]}`), "carry-3-20261201-000000", true, checksum);
    await fakeRun(results, await load(3), "branches-4-20261201-000000", true, "cd".repeat(32));

    const printed: string[] = [], calls: string[] = [];
    const outcome = await runGrid("ablation", {
      profile: "quick",
      data,
      resultsDir: results,
      set,
      print: true,
      log: (l) => printed.push(l),
      outputs: recordingOutputs(calls),
    });
    const sets = "--set train.epochs=2 --set backend.name=cpu";
    assert.deepEqual(printed, [
      `# done: ${done}`,
      `deno task train --resume ${partial} --data ${data}`,
      ...configs.slice(2).map((c) => `deno task train ${c} --data ${data} --results ${results} ${sets}`),
    ]);
    assert.deepEqual(outcome.commands, printed);
    assert.deepEqual(outcome.files, []);
    assert.deepEqual(calls, []);
    // Printing trains nothing and writes nothing.
    assert.deepEqual([...Deno.readDirSync(`${results}/ablation/quick`)].map((e) => e.name).sort(), [
      "branches-4-20261201-000000",
      "carry-1-20261201-000000",
      "carry-2-20261201-000000",
      "carry-3-20261201-000000",
    ]);

    const fresh: string[] = [];
    await runGrid("ablation", {
      profile: "quick",
      data,
      resultsDir: results,
      print: true,
      fresh: true,
      log: (l) => fresh.push(l),
      outputs: recordingOutputs(calls),
    });
    assert.deepEqual(fresh, configs.map((c) => `deno task train ${c} --data ${data} --results ${results}`));

    await assert.rejects(
      () =>
        runGrid("ablation", {
          profile: "quick",
          data,
          resultsDir: results,
          set: ["train.epoch=2"],
          print: true,
          outputs: recordingOutputs(calls),
        }),
      /--set train\.epoch=2: field "train\.epoch": unknown key/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("runGrid with evalData: each finished run is evaluated as the grid reaches it, before the table", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "grid_eval_" });
  try {
    const data = `${tmp}/data`;
    await generateDataset(data, { seed: 3, train: 4, val: 2 });
    const results = `${tmp}/results`;
    const configs = GRIDS.ablation.quick;
    const checksum = (await loadRunData(await loadConfig(`${REPO}${configs[0]}`), { data })).provenance.checksum;
    const dirs: string[] = [];
    for (const c of configs) {
      const config = await loadConfig(`${REPO}${c}`);
      dirs.push(await fakeRun(results, config, `${config.name}-20261201-000000`, true, checksum));
    }
    const calls: string[] = [];
    const evaluate = (
      dir: string,
      evalData: string,
    ) => (calls.push(`evaluate ${dir} on ${evalData}`), Promise.resolve());
    // The grid's progress lines go to the same list, so the order shows when each evaluation ran.
    const log = (line: string) => {
      const m = /^\[ablation quick\] (\d+)\/\d+: /.exec(line);
      if (m) calls.push(`config ${m[1]}`);
    };
    const base = { profile: "quick", data, resultsDir: results, log, outputs: recordingOutputs(calls) };
    await runGrid("ablation", { ...base, evalData: "/eval/aizoo-val1497", evaluate });
    assert.deepEqual(calls, [
      ...dirs.flatMap((d, i) => [`config ${i + 1}`, `evaluate ${d} on /eval/aizoo-val1497`]),
      "grid ablation",
    ]);
    // Without evalData nothing is evaluated; --table-only evaluates what it collects.
    calls.length = 0;
    await runGrid("ablation", { ...base, evaluate });
    assert.deepEqual(calls.filter((c) => !c.startsWith("config")), ["grid ablation"]);
    calls.length = 0;
    await runGrid("ablation", { ...base, evalData: "/e", evaluate, tableOnly: true });
    const evaluated = calls.filter((c) => c.startsWith("evaluate"));
    assert.deepEqual(evaluated.sort(), dirs.map((d) => `evaluate ${d} on /e`).sort());
    assert.equal(calls.at(-1), "grid ablation");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
