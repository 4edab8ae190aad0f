/**
 * Reporting: run summaries, result tables (danfo DataFrames written as CSV and Markdown) and Vega-Lite charts
 * rendered headlessly to SVG and PNG.
 * @module
 */

export type { RunFiles, RunScores, RunSummary } from "./summary.ts";
export {
  dataLabelOf,
  dataLabels,
  getPath,
  isGeneratedData,
  PAPER_PER_CLASS_AP,
  PAPER_TABLE2_MAP,
  PAPER_TEST_IMAGES,
  provenanceNotes,
  runScores,
  summarizeRun,
  summaryFromEval,
  usesGeneratedData,
} from "./summary.ts";
export type { Cell, EvalTableOptions, ReportTable } from "./tables.ts";
export {
  ablationTable,
  backboneTable,
  bySizeTable,
  confusionTable,
  operatingTable,
  perClassTable,
  tableCells,
  toCsv,
  toMarkdown,
  writeTable,
} from "./tables.ts";
export type { ChartOptions, EpochRow, VlSpec } from "./charts.ts";
export {
  ablationChartSpec,
  backboneChartSpec,
  bySizeChartSpec,
  chartDisplayBundle,
  CLASS_COLORS,
  compileSpec,
  confusionChartSpec,
  downsampleIndices,
  prChartSpec,
  renderSvg,
  saveChart,
  svgToPng,
  trainingChartSpec,
  VEGALITE_MIME,
  VL_SCHEMA,
} from "./charts.ts";
