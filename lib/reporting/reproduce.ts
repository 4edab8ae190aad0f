/**
 * The main job: re-evaluate the committed Table 2 models on the data at hand and check that every mAP equals the
 * one recorded in its run folder (within a tolerance), then write Table 2 from the numbers computed in this
 * session, one P-R chart per run and the evaluation record, into `results/reproduce/`. It trains nothing.
 * @module
 */
import { OBJECT_CLASSES } from "../types.ts";
import type { BySizeResult } from "../metrics/types.ts";
import { bySizeChartSpec, prChartSpec, saveChart } from "./charts.ts";
import { bySizeTable, writeTable } from "./tables.ts";
import { dataLabelOf } from "../data/label.ts";
import { table2ChartSpec, table2Files, table2Rows, type Table2Run } from "./table2.ts";
import { readJsonIfPresent, writeJsonAtomic } from "../runs/files.ts";
import { CPU_SHAPE, type CpuInfo, cpuInfo } from "../runs/run.ts";
import { BY_SIZE_SHAPE, readRun } from "../runs/read.ts";
import { checkShape, shape as S } from "../runs/shape.ts";
import { collectRuns } from "../experiments/grid.ts";
import type { DetectorFactory } from "../inference/mod.ts";
import { readTable2Run, writeCoverageTable } from "./run_outputs.ts";
import { dataNameOf, evaluateRunOn, writeRunEvaluation } from "../experiments/run_evaluation.ts";

/** Options of {@link reproduceTable2}. */
export interface ReproduceOptions {
  /** Folder holding the Table 2 run folders (results/ablation). */
  ablationDir: string;
  /** Where the outputs go (results/reproduce). */
  outDir: string;
  /** Training/validation data (its `val` split is evaluated); default the runs' own. */
  data?: string;
  /** Evaluation-only data (aizoo-val1497): its `val` split is evaluated too. */
  evalData?: string;
  /** Largest allowed difference from a recorded mAP, in points (default 0.1). */
  tolerancePoints?: number;
  /** Path prefix removed from run folders in the outputs (the repository root). */
  relativeTo?: string;
  log?: (line: string) => void;
  /** Builds the network in place of lib/model's (tests with small models). */
  buildDetector?: DetectorFactory;
}

/** One run's evaluation in this session beside what its folder recorded. */
export interface ReproducedRun {
  run: string;
  reading: string;
  branches: number;
  seed: number;
  /** `table` (a Table 2 row), or `val-selected` (older weights chosen on validation: listed, never a row). */
  role: "table" | "val-selected";
  /** `<data-name>-<split>` of each evaluation, its mAP now, the recorded one and the difference in points. */
  evaluations: {
    label: string;
    map: number | null;
    ap: Record<string, number | null>;
    recorded: number | null;
    diffPoints: number | null;
    images: number;
    seconds: number;
    /** AP and recall by face size at the model input (lib/metrics apBySize), when image sizes were known. */
    bySize: BySizeResult | null;
  }[];
}

/** What {@link reproduceTable2} found. */
export interface ReproduceOutcome {
  runs: ReproducedRun[];
  /** Unfinished runs, listed and not evaluated. */
  unfinished: Table2Run[];
  /** Runs whose mAP differed from the recorded one by more than the tolerance. */
  mismatches: string[];
  files: string[];
  seconds: number;
}

/** What `<outDir>/reproduce.json` holds: the session's time and CPU, every run's evaluations, what did not match. */
export interface ReproduceRecord {
  date: string;
  cpu: CpuInfo;
  tolerancePoints: number;
  seconds: number;
  runs: ReproducedRun[];
  /** Unfinished runs: their folder and epochs so far of the schedule's. */
  unfinished: { run: string; epochs: number; of: number }[];
  mismatches: string[];
}

const NUM = S.nullable(S.number());
const RECORD_SHAPE = S.object({
  date: S.string(),
  cpu: CPU_SHAPE,
  tolerancePoints: S.number(0),
  seconds: S.number(0),
  runs: S.array(S.object({
    run: S.string(),
    reading: S.string(),
    branches: S.integer(1),
    seed: S.integer(0),
    role: S.oneOf("table", "val-selected"),
    evaluations: S.array(S.object({
      label: S.string(),
      map: NUM,
      ap: S.record(NUM),
      recorded: NUM,
      diffPoints: NUM,
      images: S.integer(0),
      seconds: S.number(0),
      bySize: S.nullable(BY_SIZE_SHAPE),
    })),
  })),
  unfinished: S.array(S.object({ run: S.string(), epochs: S.integer(0), of: S.integer(0) })),
  mismatches: S.array(S.string()),
});

/**
 * Reads and checks `<outDir>/reproduce.json` (the last {@link reproduceTable2}); `null` when there is none. A bad
 * field is an error naming the file and the field.
 */
export async function readReproduceRecord(outDir: string): Promise<ReproduceRecord | null> {
  const file = `${outDir.replace(/\/+$/, "")}/reproduce.json`;
  const raw = await readJsonIfPresent(file);
  return raw === null ? null : checkShape<ReproduceRecord>(RECORD_SHAPE, raw, file);
}

/**
 * Evaluates every finished Table 2 run (and, labelled, the older val-selected ones) on `data`'s val split and on
 * `evalData`'s, compares with the recorded numbers and writes the outputs. Mismatches are returned (the command
 * fails on them); an evaluation with nothing recorded yet is stored in the run folder as `evaluate` would.
 *
 * ```ts
 * import { reproduceTable2 } from "ssdv2";
 * const outcome = await reproduceTable2({ ablationDir: "results/ablation", outDir: "results/reproduce" });
 * console.log(outcome.mismatches); // []: every mAP within 0.1 points of the one its run folder records
 * console.log(outcome.files); // results/reproduce/table2.csv, table2.md, the P-R charts, the evaluation record
 * ```
 */
export async function reproduceTable2(options: ReproduceOptions): Promise<ReproduceOutcome> {
  const started = performance.now();
  const log = options.log ?? console.log;
  const tolerance = options.tolerancePoints ?? 0.1;
  const dirs = await collectRuns(options.ablationDir, "ablation");
  const infos = await Promise.all(dirs.map(async (d) => ({ dir: d, info: await readTable2Run(d) })));
  const unfinished = infos.filter((x) => !x.info.finished).map((x) => x.info);
  const evaluated = infos.filter((x) => x.info.finished);
  const rel = (p: string) =>
    options.relativeTo && p.startsWith(options.relativeTo + "/") ? p.slice(options.relativeTo.length + 1) : p;
  const targets: { data?: string; name: string }[] = [{ data: options.data, name: "own" }];
  if (options.evalData) targets.push({ data: options.evalData, name: dataNameOf(options.evalData, false) });
  await Deno.mkdir(options.outDir, { recursive: true });
  const runs: ReproducedRun[] = [];
  const mismatches: string[] = [];
  const files: string[] = [];
  const tableRuns: Table2Run[] = [];
  for (const { dir, info } of evaluated) {
    const role = info.valSelected ? "val-selected" : "table";
    const entry: ReproducedRun = {
      run: rel(dir),
      reading: info.reading,
      branches: info.branches,
      seed: info.seed,
      role,
      evaluations: [],
    };
    let ownMap: number | null = null;
    let ownAp: Record<string, number | null> = {};
    let v1497: number | null = null;
    // What the folder recorded before this session (an evaluation recorded below is not compared with itself).
    const stored = await readRun(dir);
    for (const t of targets) {
      const t0 = performance.now();
      const e = await evaluateRunOn(dir, {
        data: t.data,
        split: "val",
        write: false,
        buildDetector: options.buildDetector,
      });
      const recorded = e.own
        ? stored.metrics?.map ?? null
        : stored.evaluations.find((x) => x.name === e.label)?.metrics.map ?? null;
      const map = e.evaluation.result.map;
      const diff = map === null || recorded === null ? null : (map - recorded) * 100;
      const ap = Object.fromEntries(OBJECT_CLASSES.map((c) => [c, e.evaluation.result.voc[c]?.ap ?? null]));
      entry.evaluations.push({
        label: e.own ? `${e.label} (the run's own)` : e.label,
        map,
        ap,
        recorded,
        diffPoints: diff,
        images: e.evaluation.speed.images,
        seconds: (performance.now() - t0) / 1000,
        bySize: e.evaluation.result.bySize ?? null,
      });
      const pct = (x: number | null) => (x === null ? "n/a" : (x * 100).toFixed(2));
      log(
        `reproduce: ${rel(dir)} on ${e.label}: mAP ${pct(map)} (recorded ${pct(recorded)}` +
          `${diff === null ? "" : `, diff ${diff.toFixed(3)} points`}), ${e.evaluation.speed.images} images`,
      );
      if (diff !== null && Math.abs(diff) > tolerance) {
        mismatches.push(`${rel(dir)} on ${e.label}: mAP ${pct(map)} but the run recorded ${pct(recorded)}`);
      }
      if (recorded === null && !e.own) {
        // Nothing recorded yet for this data: record it, so that the next reproduce has something to check.
        await writeRunEvaluation(dir, e);
        log(`reproduce: recorded ${e.label} in ${rel(e.dir)} (no earlier evaluation to compare with)`);
      }
      const stem = `${info.reading}-${info.branches}-seed${info.seed}${role === "table" ? "" : "-valselected"}`;
      const bySize = e.evaluation.result.bySize;
      if (bySize) {
        const label = `${dataLabelOf(e.data.label, e.evaluation.speed.images)}, ${e.label}`;
        const t = await writeTable(
          await bySizeTable(bySize, { title: `AP and recall by face size, ${stem}`, dataLabel: label }),
          `${options.outDir}/by_size_${stem}_${e.label}`,
        );
        const c = await saveChart(
          bySizeChartSpec(bySize, { dataLabel: label }),
          `${options.outDir}/by_size_${stem}_${e.label}`,
        );
        files.push(t.csv, t.md, c.svg, c.png);
      }
      if (e.own) {
        ownMap = map;
        ownAp = ap;
        const c = await saveChart(
          prChartSpec(OBJECT_CLASSES.map((c) => e.evaluation.result.pr[c]), {
            title: `P-R, ${info.reading} k=${info.branches} seed ${info.seed}${
              role === "table" ? "" : " (val-selected)"
            }`,
            dataLabel: dataLabelOf(e.data.label, e.evaluation.speed.images),
          }),
          `${options.outDir}/pr_${info.reading}-${info.branches}-seed${info.seed}${
            role === "table" ? "" : "-valselected"
          }`,
        );
        files.push(c.svg, c.png);
      } else if (t.name === "aizoo-val1497") v1497 = map;
    }
    runs.push(entry);
    tableRuns.push({
      ...info,
      run: rel(dir),
      map: ownMap,
      apFaceMask: ownAp.face_mask ?? null,
      apFace: ownAp.face ?? null,
      mapVal1497: v1497,
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const notes = [
    "Every number was computed by this reproduce session from the committed weights.",
    ...(options.evalData ? [] : ["map_val1497 is empty: no --eval-data / FACEMASK_EVAL_DATA was given."]),
  ];
  const t = table2Files([...tableRuns, ...unfinished.map((u) => ({ ...u, run: rel(u.run) }))], notes);
  await Deno.writeTextFile(`${options.outDir}/table2.csv`, t.csv);
  await Deno.writeTextFile(`${options.outDir}/table2.md`, t.md);
  const chart = await saveChart(table2ChartSpec(table2Rows(tableRuns)), `${options.outDir}/table2_chart`);
  files.unshift(`${options.outDir}/table2.csv`, `${options.outDir}/table2.md`, chart.svg, chart.png);
  if (options.data) files.push(...await writeCoverageTable(options.data, "val", options.outDir));
  const record: ReproduceRecord = {
    date: new Date().toISOString(),
    cpu: cpuInfo(),
    tolerancePoints: tolerance,
    seconds,
    runs,
    unfinished: unfinished.map((u) => ({ run: rel(u.run), epochs: u.epochs, of: u.totalEpochs })),
    mismatches,
  };
  await writeJsonAtomic(`${options.outDir}/reproduce.json`, record);
  files.push(`${options.outDir}/reproduce.json`);
  return { runs, unfinished, mismatches, files, seconds };
}
