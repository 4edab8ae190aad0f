/**
 * Reporting: run summaries, result tables (danfo DataFrames written as CSV and Markdown) and Vega-Lite charts
 * rendered headlessly to SVG and PNG.
 * @module
 */

export type { RunSummary } from "./summary.ts";
export {
  dataLabels,
  isGeneratedData,
  PAPER_PER_CLASS_AP,
  PAPER_TABLE2_MAP,
  provenanceNotes,
  summaryFromEval,
} from "./summary.ts";
export type { Cell, ReportTable } from "./tables.ts";
export { ablationTable, backboneTable, perClassTable, tableCells, toCsv, toMarkdown, writeTable } from "./tables.ts";
export type { ChartOptions, EpochRow, VlSpec } from "./charts.ts";
export {
  ablationChartSpec,
  backboneChartSpec,
  chartDisplayBundle,
  compileSpec,
  downsampleIndices,
  prChartSpec,
  renderSvg,
  saveChart,
  svgToPng,
  trainingChartSpec,
  VEGALITE_MIME,
  VL_SCHEMA,
} from "./charts.ts";
