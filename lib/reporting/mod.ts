/**
 * Reporting: run summaries, result tables (danfo DataFrames written as CSV and Markdown), Vega-Lite charts rendered
 * headlessly to SVG and PNG, the tables and charts of run folders and grids, Table 2 reproduced from the committed
 * runs, and the report: the static HTML page that shows it all.
 * @module
 */

export type { RunSummary } from "./summary.ts";
export {
  dataLabels,
  PAPER_PER_CLASS_AP,
  PAPER_TABLE2_MAP,
  provenanceNotes,
  summarizeRun,
  summaryFromEval,
  usesGeneratedData,
} from "./summary.ts";
export type { Cell, EvalTableOptions, ResultTable } from "./tables.ts";
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
  epochChartRows,
  prChartSpec,
  renderSvg,
  saveChart,
  svgToPng,
  trainingChartSpec,
  VEGALITE_MIME,
  VL_SCHEMA,
} from "./charts.ts";
export * from "./table2.ts";
export * from "./run_outputs.ts";
export * from "./reproduce.ts";
export * from "./site.ts";
export * from "./html.ts";
export * from "./vendor.ts";
export * from "./draw.ts";
export * from "./runs.ts";
