import assert from "node:assert/strict";
import { parseCsv } from "../util/csv.ts";
import {
  isTableRun,
  plainCsv,
  TABLE2_COLUMNS,
  table2ChartSpec,
  table2Files,
  table2Rows,
  type Table2Run,
} from "./table2.ts";

function run(over: Partial<Table2Run>): Table2Run {
  return {
    run: "results/ablation/x",
    reading: "carry",
    branches: 1,
    seed: 1,
    epochs: 100,
    totalEpochs: 100,
    finished: true,
    valSelected: false,
    weightsEpoch: 100,
    map: 0.6,
    apFaceMask: 0.7,
    apFace: 0.5,
    mapVal1497: 0.55,
    ...over,
  };
}

Deno.test("table2Rows: one row per (reading, branches), mean and sample std over seeds, the 4-branch runs in both readings", () => {
  const rows = table2Rows([
    run({ seed: 1, map: 0.6, run: "a" }),
    run({ seed: 2, map: 0.64, run: "b", mapVal1497: 0.57 }),
    run({ branches: 4, reading: "own", map: 0.84, run: "c" }),
    run({ branches: 2, reading: "own", map: 0.2, run: "d" }),
  ]);
  assert.deepEqual(rows.map((r) => `${r.reading}${r.branches}`), ["carry1", "carry4", "own2", "own4"]);
  const c1 = rows[0];
  assert.equal(c1.seeds, 2);
  assert.ok(Math.abs(c1.map! - 62) < 1e-9);
  assert.ok(Math.abs(c1.mapStd! - Math.sqrt(((60 - 62) ** 2 + (64 - 62) ** 2) / 1)) < 1e-9);
  assert.ok(Math.abs(c1.mapVal1497! - 56) < 1e-9);
  assert.deepEqual(c1.runs, ["a", "b"]);
  assert.equal(c1.paperMap, 62.35);
  assert.equal(rows[1].runs[0], "c");
  assert.equal(rows[3].runs[0], "c");
  assert.equal(rows[2].mapStd, null, "one seed has no std");
});

Deno.test("table2Rows: unfinished and val-selected runs are never rows; a row's val1497 needs every seed's", () => {
  const unfinished = run({ finished: false, epochs: 37 });
  const selected = run({ branches: 4, reading: "own", valSelected: true, weightsEpoch: 70 });
  assert.equal(isTableRun(unfinished), false);
  assert.equal(isTableRun(selected), false);
  assert.deepEqual(table2Rows([unfinished, selected]), []);
  const rows = table2Rows([run({ seed: 1 }), run({ seed: 2, mapVal1497: null })]);
  assert.equal(rows[0].mapVal1497, null);
  const files = table2Files([unfinished, selected]);
  assert.match(files.md, /no finished run yet/);
  assert.match(files.md, /unfinished: carry k=1 seed 1 .*epoch 37 of 100/);
  assert.match(files.md, /selected on the validation split \(epoch 70 of 100\)/);
  assert.equal(files.csv.trim(), TABLE2_COLUMNS.join(","));
});

Deno.test("table2 csv: the fixed columns, percentages with two decimals, runs joined with ';'", () => {
  const csv = table2Files([run({ seed: 1, run: "a" }), run({ seed: 2, run: "b", map: 0.61234 })]).csv.trim().split(
    "\n",
  );
  assert.equal(csv[0], "reading,branches,seeds,map,map_std,ap_face_mask,ap_face,map_val1497,epochs,run,paper_map");
  assert.equal(csv[1], "carry,1,2,60.62,0.87,70,50,55,100,a;b,62.35");
  assert.equal(plainCsv({ title: "", columns: ["a"], rows: [["x,y"]], notes: [] }), 'a\n"x,y"\n');
});

Deno.test("table2ChartSpec: a bar per reading and branches, the paper as ticks", () => {
  const spec = table2ChartSpec(table2Rows([run({}), run({ reading: "own", map: 0.1 })])) as {
    layer: { data: { values: { series?: string; map: number }[] } }[];
  };
  assert.deepEqual(spec.layer[0].data.values.map((v) => [v.series, v.map]), [["ours, carry", 60], ["ours, own", 10]]);
  assert.deepEqual(spec.layer[2].data.values.map((v) => v.map), [62.35, 67.12, 70.93, 72.79]);
});

Deno.test("README's Table 2 status rows are the committed results/ablation/table2.csv, row for row", async () => {
  const repo = new URL("../../", import.meta.url).pathname;
  const [header, ...records] = parseCsv(await Deno.readTextFile(`${repo}results/ablation/table2.csv`), {
    source: "table2.csv",
  }).map((r) => r.cells);
  const readme = await Deno.readTextFile(`${repo}README.md`);
  // | reading | branches | val mAP | face_mask | face | aizoo-val1497 mAP |
  const rows = [
    ...readme.matchAll(/^\| (carry|own) +\| +(\d) \| +([\d.]+) \| +([\d.]+) \| +([\d.]+) \| +([\d.]*) \|$/gm),
  ]
    .map((m) => m.slice(1).join(","));
  const cols = ["reading", "branches", "map", "ap_face_mask", "ap_face", "map_val1497"].map((c) => header.indexOf(c));
  assert.ok(cols.every((c) => c >= 0), `table2.csv header: ${header.join(",")}`);
  const want = records.map((r) => cols.map((c) => r[c]).join(","));
  assert.ok(want.length > 0, "table2.csv has finished rows");
  assert.deepEqual(rows, want);
});
