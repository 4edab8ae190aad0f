import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../runs/config.ts";
import { dataLabelOf } from "../data/label.ts";
import { writeJsonAtomic } from "../runs/files.ts";
import { runGrid } from "../experiments/grid.ts";
import { GRID_OUTPUTS, runSummaryOf, writeAblationTable, writeRunTables } from "./run_outputs.ts";

const RUN = new URL("../../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;

async function fakeRun(dir: string, branches: number, map: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const config = {
    ...DEFAULT_CONFIG,
    name: `branches-${branches}`,
    experiment: "ablation",
    model: { ...DEFAULT_CONFIG.model, branches, priors: "carry" },
    train: { ...DEFAULT_CONFIG.train, epochs: 2 },
  };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  await Deno.writeTextFile(
    `${dir}/metrics.json`,
    JSON.stringify({
      map,
      voc: { face_mask: { ap: map + 0.1 }, face: { ap: map - 0.1 } },
      data: { label: "generated", images: 6 },
      speed: { forwardImgPerSec: 20, evalImgPerSec: 15 },
      trainImgPerSec: 5,
      weightsEpoch: 2,
      model: { params: 1_000_000, macs: 5.4e8 },
    }),
  );
  await Deno.writeTextFile(
    `${dir}/provenance.json`,
    JSON.stringify({
      backend: { name: "wasm" },
      end: "2026-12-01T00:00:00Z",
      data: { label: "generated", root: "/nonexistent", valImages: 6, trainImages: 16 },
    }),
  );
  for (const [name, ap] of [["face_mask", map + 0.1], ["face", map - 0.1]] as const) {
    const curve = {
      name,
      npos: 2,
      scores: [0.9, 0.8],
      recall: [0.5, 1],
      precision: [1, 1],
      interpolated: [1, 1],
      ap,
      ap11: ap,
    };
    await Deno.writeTextFile(`${dir}/pr_${name}.json`, JSON.stringify(curve));
  }
  await Deno.writeTextFile(
    `${dir}/train_log.csv`,
    "epoch,steps,lr,loss,loss_cls,loss_loc,train_img_s,seconds,val_map,val_ap_face_mask,val_ap_face\n" +
      "1,4,0.01,5,3,2,4,10,,,\n2,4,0.01,4,2.5,1.5,4,10,0.3,0.4,0.2\n",
  );
}

Deno.test("runSummaryOf: reads a run folder into a RunSummary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fakeRun(`${dir}/r4`, 4, 0.5);
    const s = await runSummaryOf(`${dir}/r4`);
    assert.equal(s.branches, 4);
    assert.equal(s.map, 0.5);
    assert.deepEqual(s.perClassAp, { face_mask: 0.6, face: 0.4 });
    assert.equal(s.params, 1_000_000);
    assert.equal(s.fps, 20);
    assert.equal(s.backend, "wasm");
    assert.equal(s.dataLabel, "GENERATED synthetic data (6 val images)");
    assert.equal(dataLabelOf("real", 930), "AIZOO data, 930 val images (not the paper's 1,839)");
    assert.equal(dataLabelOf("real", 1839, 6120), "AIZOO data, 6,120 train / 1,839 val images");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeRunTables and writeAblationTable: tables with the paper's values, charts on disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fakeRun(`${dir}/r1`, 1, 0.3);
    await fakeRun(`${dir}/r4`, 4, 0.5);
    const files = await writeRunTables(`${dir}/r4`);
    for (const f of files) assert.ok((await Deno.stat(f)).size > 0, f);
    assert.ok(files.some((f) => f.endsWith("pr_curves.svg")) && files.some((f) => f.endsWith("training.png")));
    const out = await writeAblationTable([`${dir}/r4`, `${dir}/r1`], `${dir}/ablation`);
    const csv = await Deno.readTextFile(`${dir}/ablation/table2.csv`);
    const lines = csv.trim().split("\n");
    // carry k=1, then the 4-branch run under both readings, with the paper's values beside them.
    assert.match(lines[1], /^carry,1,1,30,,40,20,,2,.*r1,62\.35$/);
    assert.match(lines[2], /^carry,4,1,50,,60,40,,2,.*r4,72\.79$/);
    assert.match(lines[3], /^own,4,1,50,/);
    assert.match(await Deno.readTextFile(`${dir}/ablation/table2.md`), /GENERATED/);
    assert.equal(out.length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runGrid --table-only with GRID_OUTPUTS: Table 2 from the run folders there, nothing trained", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "grid_table_" });
  try {
    await assert.rejects(
      () =>
        runGrid("ablation", {
          profile: "paper",
          resultsDir: tmp,
          tableOnly: true,
          log: () => {},
          outputs: GRID_OUTPUTS,
        }),
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
      outputs: GRID_OUTPUTS,
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
