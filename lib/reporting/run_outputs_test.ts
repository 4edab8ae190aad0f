import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../runs/config.ts";
import { dataLabelOf } from "../data/label.ts";
import { writeJsonAtomic } from "../runs/files.ts";
import { runGrid } from "../experiments/grid.ts";
import { readRun } from "../runs/read.ts";
import { testProvenance } from "../runs/testing.ts";
import {
  GRID_OUTPUTS,
  readTable2Run,
  table2RunOf,
  VAL1497_EVALUATION,
  writeAblationTable,
  writeRunTables,
} from "./run_outputs.ts";
import { summarizeRun } from "./summary.ts";

const RUN = new URL("../../results/ablation/branches-4-20261129-122037", import.meta.url).pathname;

async function fakeRun(dir: string, branches: number, map: number, extra: Record<string, unknown> = {}): Promise<void> {
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
      ...extra,
    }),
  );
  await writeJsonAtomic(
    `${dir}/provenance.json`,
    testProvenance({
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

Deno.test("summarizeRun of a read run folder: the RunSummary of the per-run and backbone tables", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fakeRun(`${dir}/r4`, 4, 0.5);
    const s = summarizeRun(await readRun(`${dir}/r4`));
    assert.equal(s.experiment, "branches-4");
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

Deno.test("readTable2Run: the committed finished run (best epoch kept) and a run reporting its last epoch", async () => {
  const committed = await readTable2Run(RUN, { relativeTo: new URL("../../", import.meta.url).pathname });
  assert.equal(committed.run, "results/ablation/branches-4-20261129-122037");
  assert.deepEqual(
    [committed.reading, committed.branches, committed.epochs, committed.finished, committed.valSelected],
    ["own", 4, 100, true, true],
  );
  assert.equal(committed.map!.toFixed(4), "0.8415");
  assert.equal(committed.mapVal1497!.toFixed(4), "0.8297");
  const dir = await Deno.makeTempDir();
  try {
    await fakeRun(`${dir}/r1`, 1, 0.3);
    await Deno.mkdir(`${dir}/r1/eval/${VAL1497_EVALUATION}`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/r1/eval/${VAL1497_EVALUATION}/metrics.json`,
      JSON.stringify({ map: 0.25, voc: {} }),
    );
    const t = table2RunOf(await readRun(`${dir}/r1`), { relativeTo: dir });
    assert.deepEqual(t, {
      run: "r1",
      reading: "carry",
      branches: 1,
      seed: 1,
      epochs: 2,
      totalEpochs: 2,
      finished: true,
      valSelected: false,
      weightsEpoch: 2,
      map: 0.3,
      apFaceMask: 0.4,
      apFace: 0.3 - 0.1,
      mapVal1497: 0.25,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeRunTables: operating, confusion and by-size tables when metrics.json has them; an unevaluated run is an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const operating = {
      displayThreshold: 0.5,
      iouThreshold: 0.5,
      perClass: {
        face: {
          npos: 2,
          display: { threshold: 0.5, tp: 1, fp: 0, fn: 1, precision: 1, recall: 0.5, f1: 2 / 3 },
          best: null,
        },
      },
    };
    await fakeRun(`${dir}/r4`, 4, 0.5, { operating });
    const files = await writeRunTables(`${dir}/r4`);
    assert.ok(files.includes(`${dir}/r4/operating.csv`), files.join(", "));
    assert.match(await Deno.readTextFile(`${dir}/r4/operating.csv`), /^face,display,0\.5,100,50,66\.67,1,0,1$/m);
    assert.ok(!files.some((f) => f.includes("confusion") || f.includes("by_size")));
    await Deno.remove(`${dir}/r4/metrics.json`);
    await assert.rejects(writeRunTables(`${dir}/r4`), /r4: no metrics\.json: the run has not been evaluated yet/);
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
