import assert from "node:assert/strict";
import type { NotebookContext } from "./context.ts";
import { gridRuns, pickGridRuns, type RunGrid, showRunsTable, ssdv2MissingNote, ssdv2RunDir } from "./notebook_runs.ts";
import type { ListedRun } from "../runs/read.ts";
import { testMetrics, testProvenance, testRun, writeTestRun } from "../runs/testing.ts";
import type { TrunkName } from "../model/mod.ts";
import { backboneTable } from "../reporting/tables.ts";

function run(experiment: string, runId: string, model: { trunk: TrunkName; branches: number }, generated = false) {
  return testRun({
    experiment,
    runId,
    config: { model, train: { epochs: 3 } },
    metrics: testMetrics(0.5),
    provenance: testProvenance({ data: { label: generated ? "generated" : "real" } }),
  }) satisfies ListedRun;
}

const GRID: RunGrid<number> = {
  keys: [1, 2],
  query: (k) => ({ trunk: "ssdv2", branches: k }),
  smoke: (k) => ({ name: `branches-${k}` }),
  command: "ablation",
  missing: (ks) => `with ${ks.join(", ")} branch(es)`,
  quickCaveat: ", which say little",
};

Deno.test("pickGridRuns: the complete paper set wins and needs no note", () => {
  const found = [
    run("ablation", "b1", { trunk: "ssdv2", branches: 1 }),
    run("ablation", "b2", { trunk: "ssdv2", branches: 2 }),
    run("ablation/quick", "q1", { trunk: "ssdv2", branches: 1 }),
    run("ablation/quick", "q2", { trunk: "ssdv2", branches: 2 }),
  ];
  const { runs, notes } = pickGridRuns(found, GRID);
  assert.deepEqual(runs.map((r) => r?.runId), ["b1", "b2"]);
  assert.deepEqual(notes, []);
});

Deno.test("pickGridRuns: an incomplete paper set falls back to the quick set and says so", () => {
  const found = [
    run("ablation", "b2", { trunk: "ssdv2", branches: 2 }),
    run("ablation/quick", "q1", { trunk: "ssdv2", branches: 1 }),
    run("ablation/quick", "q2", { trunk: "ssdv2", branches: 2 }),
  ];
  const { runs, notes } = pickGridRuns(found, GRID);
  assert.deepEqual(runs.map((r) => r?.runId), ["q1", "q2"]);
  assert.deepEqual(notes, [
    "MISSING in results/ablation/: evaluated real-data runs with 1 branch(es) " +
    "(train them with `deno task ablation --profile paper`)",
    "NOTE: no complete set of paper-schedule runs in results/ablation/; showing the QUICK runs " +
    "(3 epochs on 1,536 training images), which say little.",
  ]);
});

Deno.test("pickGridRuns: with neither set complete, the quick runs found and two MISSING notes; generated runs never count", () => {
  const found = [
    run("ablation/quick", "q2", { trunk: "ssdv2", branches: 2 }),
    run("ablation/quick", "g1", { trunk: "ssdv2", branches: 1 }, true),
  ];
  const { runs, notes } = pickGridRuns(found, GRID);
  assert.deepEqual(runs.map((r) => r?.runId ?? null), [null, "q2"]);
  assert.equal(notes.length, 2);
  assert.match(
    notes[0],
    /^MISSING in results\/ablation\/: evaluated real-data runs with 1, 2 branch\(es\).*--profile paper/,
  );
  assert.match(notes[1], /^MISSING in results\/ablation\/quick\/: .* with 1 branch\(es\).*--profile quick/);
});

Deno.test("pickGridRuns: with profiles [short, quick], a complete short set comes before the quick one", () => {
  const found = [
    run("ablation", "b1", { trunk: "ssdv2", branches: 1 }),
    run("ablation/short", "s1", { trunk: "ssdv2", branches: 1 }),
    run("ablation/short", "s2", { trunk: "ssdv2", branches: 2 }),
    run("ablation/quick", "q1", { trunk: "ssdv2", branches: 1 }),
    run("ablation/quick", "q2", { trunk: "ssdv2", branches: 2 }),
  ];
  const { runs, notes } = pickGridRuns(found, { ...GRID, profiles: ["short", "quick"] });
  assert.deepEqual(runs.map((r) => r?.runId), ["s1", "s2"]);
  assert.equal(notes.length, 2);
  assert.match(notes[0], /^MISSING in results\/ablation\/: .* with 2 branch\(es\).*--profile paper/);
  assert.match(notes[1], /^NOTE: .*showing the SHORT-schedule runs \(12 epochs/);
});

Deno.test("pickGridRuns: runs of a shared experiment stand in for a profile's missing keys, and only there", () => {
  const trunks: RunGrid<string> = {
    keys: ["ssdv2", "slim"],
    query: (t) => ({ trunk: t, branches: 4 }),
    smoke: (t) => ({ name: t }),
    command: "backbones",
    missing: (ts) => `of ${ts.join(", ")}`,
    quickCaveat: "",
    profiles: ["short", "quick"],
    shared: (p) => p === "short" ? ["ablation/short"] : [],
  };
  const found = [
    run("ablation/short", "a4", { trunk: "ssdv2", branches: 4 }),
    run("ablation/quick", "q4", { trunk: "ssdv2", branches: 4 }),
    run("backbones/short", "s-slim", { trunk: "slim", branches: 4 }),
    run("backbones/quick", "q-slim", { trunk: "slim", branches: 4 }),
  ];
  const { runs, notes } = pickGridRuns(found, trunks);
  assert.deepEqual(runs.map((r) => r?.runId), ["a4", "s-slim"]);
  assert.match(notes.at(-1)!, /SHORT-schedule/);
  // Without the short slim run the quick set is incomplete too: ablation/quick is not shared, so ssdv2 is missing.
  const quickOnly = pickGridRuns(found.filter((r) => r.runId !== "s-slim"), trunks);
  assert.deepEqual(quickOnly.runs.map((r) => r?.runId ?? null), [null, "q-slim"]);
});

async function resultsFixture(): Promise<string> {
  const root = await Deno.makeTempDir();
  const mk = (rel: string, epochs: number) =>
    writeTestRun(`${root}/${rel}`, {
      config: { model: { trunk: "ssdv2", branches: 4 }, train: { epochs } },
      metrics: testMetrics(0.5),
      provenance: testProvenance(),
    });
  await mk("ablation/quick/b4-q", 3);
  await mk("backbones/ssdv2-p", 100);
  return root;
}

Deno.test("ssdv2RunDir (full): the best evaluated SSDv2 run by experiment order, null in an empty folder", async () => {
  const root = await resultsFixture();
  const full = (resultsDir: string) => ({ profile: "full", resultsDir } as NotebookContext);
  // "backbones" precedes "ablation/quick" in the preference list.
  assert.equal(await ssdv2RunDir(full(root)), `${root}/backbones/ssdv2-p`);
  const empty = await Deno.makeTempDir();
  assert.equal(await ssdv2RunDir(full(empty)), null);
  assert.equal(
    ssdv2MissingNote(new URL("../../results", import.meta.url).pathname),
    // The repository's results folder, named relative to the repository: no absolute path in a notebook's output.
    "MISSING: no evaluated SSDv2 (4 branches) run on real data in results; train one with " +
      "`deno task train experiments/ablation/branches-4.json`. Nothing below is shown.",
  );
});

Deno.test("gridRuns (full) picks from the results folder and prints its notes", async () => {
  const root = await resultsFixture();
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  let runs;
  try {
    runs = await gridRuns({ profile: "full", resultsDir: root } as NotebookContext, { ...GRID, keys: [4] });
  } finally {
    console.log = log;
  }
  assert.deepEqual(runs.map((r) => r?.runId), ["b4-q"]);
  assert.equal(lines.length, 2);
  assert.match(lines[0], /^MISSING in results\/ablation\/: .* with 4 branch\(es\)/);
  assert.match(lines[1], /^NOTE: .*QUICK runs/);
});

Deno.test("showRunsTable with no runs prints the empty note, builds nothing and returns []", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  let summaries;
  try {
    summaries = await showRunsTable([], {
      build: () => {
        throw new Error("must not build");
      },
      empty: "no runs to show",
    });
  } finally {
    console.log = log;
  }
  assert.deepEqual(summaries, []);
  assert.deepEqual(lines, ["no runs to show"]);
});

Deno.test("showRunsTable summarises the runs it is given, named by their config, and shows the table built", async () => {
  const runs = [
    testRun({ config: { name: "slim", model: { trunk: "slim" } }, metrics: testMetrics(0.4) }),
    testRun({ config: { name: "ssdv2" }, metrics: testMetrics(0.8) }),
  ];
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(String(s));
  let summaries;
  try {
    summaries = await showRunsTable(runs, { build: backboneTable, empty: "none" });
  } finally {
    console.log = log;
  }
  assert.deepEqual(summaries.map((s) => [s.experiment, s.trunk, s.map]), [["slim", "slim", 0.4], [
    "ssdv2",
    "ssdv2",
    0.8,
  ]]);
  assert.ok(lines.some((l) => l.includes("Backbones: accuracy and cost")), lines.join("\n"));
});
