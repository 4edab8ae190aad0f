// Tests of lib/train/grid.ts's `set`, `print` and `tableOnly` (grid_test.ts has the rest of the grid).
import assert from "node:assert/strict";
import { applyOverrides, loadConfig, type RunConfig } from "../runs/config.ts";
import { writeJsonAtomic } from "../runs/files.ts";
import { createRunDir, RUN_CONTRACT } from "../runs/run.ts";
import { generateDataset } from "../data/generate.ts";
import { gridCommand, GRIDS, runGrid, shellQuote } from "./grid.ts";
import { loadRunData } from "./pipeline.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const RUN = `${REPO}results/ablation/branches-4-20261129-122037`;

/** A run folder of `config` on data with `checksum`: finished (every contract file) or with a checkpoint only. */
async function fakeRun(resultsDir: string, config: RunConfig, runId: string, finished: boolean, checksum: string) {
  const dir = await createRunDir(config, { resultsDir, runId });
  await writeJsonAtomic(`${dir}/provenance.json`, {
    data: { checksum, label: "generated" },
    end: finished ? "2026-11-29T10:00:00.000Z" : null,
  });
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

    const printed: string[] = [];
    const outcome = await runGrid("ablation", {
      profile: "quick",
      data,
      resultsDir: results,
      set,
      print: true,
      log: (l) => printed.push(l),
    });
    const sets = "--set train.epochs=2 --set backend.name=cpu";
    assert.deepEqual(printed, [
      `# done: ${done}`,
      `deno task train --resume ${partial} --data ${data}`,
      ...configs.slice(2).map((c) => `deno task train ${c} --data ${data} --results ${results} ${sets}`),
    ]);
    assert.deepEqual(outcome.commands, printed);
    assert.deepEqual(outcome.files, []);
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
    });
    assert.deepEqual(fresh, configs.map((c) => `deno task train ${c} --data ${data} --results ${results}`));

    await assert.rejects(
      () => runGrid("ablation", { profile: "quick", data, resultsDir: results, set: ["train.epoch=2"], print: true }),
      /--set train\.epoch=2: field "train\.epoch": unknown key/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("runGrid --table-only: the table from the run folders there, nothing trained", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "grid_table_" });
  try {
    await assert.rejects(
      () => runGrid("ablation", { profile: "paper", resultsDir: tmp, tableOnly: true, log: () => {} }),
      /--table-only: no run folders of the paper ablation grid under /,
    );
    // The committed 4-branch run, as if copied back from another machine (without its weights: a table needs none).
    const dir = `${tmp}/ablation/branches-4-20261129-122037`;
    await Deno.mkdir(dir, { recursive: true });
    for (const f of ["config.json", "metrics.json", "train_log.csv"]) await Deno.copyFile(`${RUN}/${f}`, `${dir}/${f}`);
    const provenance = JSON.parse(await Deno.readTextFile(`${RUN}/provenance.json`));
    // Elsewhere the data may be absent: the table does not need it.
    await writeJsonAtomic(`${dir}/provenance.json`, {
      ...provenance,
      data: { ...provenance.data, root: `${tmp}/none` },
    });
    const lines: string[] = [];
    const outcome = await runGrid("ablation", {
      profile: "paper",
      resultsDir: tmp,
      tableOnly: true,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(outcome.runDirs, [dir]);
    assert.equal(outcome.dataLabel, "real");
    assert.ok(outcome.files.includes(`${tmp}/ablation/table2.csv`), outcome.files.join(", "));
    const map = JSON.parse(await Deno.readTextFile(`${RUN}/metrics.json`)).map as number;
    assert.ok(map > 0.8 && map < 0.9, String(map));
    assert.match(
      await Deno.readTextFile(`${tmp}/ablation/table2.md`),
      new RegExp((map * 100).toFixed(2).replace(".", "\\.")),
    );
    const runs = JSON.parse(await Deno.readTextFile(`${tmp}/ablation/ablation_runs.json`));
    assert.deepEqual([runs.profile, runs.runs], ["paper", [dir]]);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
