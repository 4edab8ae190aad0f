/**
 * SSDv2 face-mask detection in TypeScript: the library's public surface, what a user of it needs and nothing else.
 * Each area keeps its full API in its own `mod.ts` (lib/data/mod.ts, lib/detect/mod.ts, ...) for those who build on
 * the plumbing.
 *
 * The examples import `ssdv2`, which deno.json maps to this file (`"ssdv2": "./lib/mod.ts"`); from outside the
 * repository import this file by its path or URL instead. `deno task check:doc` type-checks every example.
 *
 * Detect faces with and without masks using a trained run:
 * ```ts
 * import { loadDetector } from "ssdv2";
 * const detector = await loadDetector("results/ablation/branches-4-20261129-122037");
 * const detections = await detector.detect("photo.jpg", { minScore: 0.5 });
 * for (const d of detections) console.log(d.class, d.score.toFixed(2), d.box); // box in the photo's pixels
 * detector.dispose();
 * ```
 *
 * Train a config, evaluate it elsewhere, read Table 2:
 * ```ts
 * import { evaluateRunOn, loadConfig, readTable2Run, runExperiment } from "ssdv2";
 * const run = await runExperiment(await loadConfig("experiments/ablation/carry-1.json"));
 * await evaluateRunOn(run.runDir, { data: "../aizoo-val1497", split: "val" }); // into <run>/eval/aizoo-val1497-val
 * console.log(await readTable2Run(run.runDir));
 * ```
 *
 * Train (or resume, or reuse) the whole Table 2 grid and write its table, as `deno task ablation` does:
 * ```ts
 * import { GRID_OUTPUTS, runGrid } from "ssdv2";
 * const grid = await runGrid("ablation", { profile: "quick", resultsDir: "results", outputs: GRID_OUTPUTS });
 * console.log(grid.files); // results/ablation/quick/table2.csv, table2.md, the chart
 * ```
 * @module
 */

// Classes, boxes and the model input.
export { type Box, CLASS_NAMES, type Detection, INPUT_HEIGHT, INPUT_WIDTH, OBJECT_CLASSES } from "./types.ts";

// The tfjs backend (tfjs-node, native oneDNN, wasm, cpu; every run records which one ran).
export { setupBackend } from "./backend/mod.ts";

// Data: find it, scan a split, generate a synthetic set in the same layout.
export { generateDataset, resolveData, scanSplit } from "./data/mod.ts";

// Priors (both readings of the ablation), decoding and prior coverage.
export { decodeDetections, generatePriors, PRIOR_READINGS, slicePriorConfig, SSDV2_PRIORS } from "./detect/mod.ts";
export { priorCoverageTable } from "./detect/coverage.ts";

// Models.
export { buildDetector, summarizeModel, TRUNKS } from "./model/mod.ts";

// Loss.
export { multiboxLoss } from "./loss/mod.ts";

// Metrics: VOC/COCO AP, operating points, confusion matrix, AP by face size.
export { apBySize, confusionMatrix, operatingPoints, scoreDetections } from "./metrics/mod.ts";

// Inference: load a trained run or model folder and detect.
export { type ImageInput, loadDetector, type LoadedDetector } from "./inference/mod.ts";

// Portable models.
export { exportOnnx } from "./export/onnx.ts";
export { exportTfjs } from "./export/tfjs.ts";

// Configs and run folders.
export { loadConfig, readRunConfig, resolveConfig, type RunConfig } from "./runs/config.ts";
export { readRun } from "./runs/read.ts";

// Training and evaluation of configs, grids and the reproducibility check.
export { runExperiment } from "./experiments/pipeline.ts";
export { runGrid } from "./experiments/grid.ts";
export { evaluateRunOn } from "./experiments/run_evaluation.ts";
export { GRID_OUTPUTS, readTable2Run } from "./reporting/run_outputs.ts";
export { reproduceTable2 } from "./reporting/reproduce.ts";

// Tables and charts.
export { table2Rows } from "./reporting/table2.ts";
export { epochChartRows, prChartSpec, saveChart, trainingChartSpec } from "./reporting/charts.ts";
