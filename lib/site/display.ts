/**
 * Rich output for Deno notebooks: charts as a Vega-Lite MIME bundle with an SVG fallback (JupyterLab draws the
 * Vega-Lite part, static viewers such as GitHub or nbviewer show the SVG), tables as HTML with a plain-text twin,
 * pictures as SVG.
 * @module
 */

import { chartDisplayBundle, renderSvg, VEGALITE_MIME } from "../report/charts.ts";
import { renderTable, type SiteCell, type SiteTable } from "./html.ts";

/** A Jupyter MIME bundle: MIME type to content. */
export type MimeBundle = Record<string, unknown>;

/** Media type of Vega-Lite specs in JupyterLab (lib/report's constant, re-exported for the notebooks). */
export { VEGALITE_MIME };

/** A chart's title text (a plain string or a `{ text }` title), or `fallback`. */
function titleText(spec: Record<string, unknown>, fallback: string): string {
  const t = spec.title as { text?: unknown } | string | undefined;
  return typeof t === "string" ? t : typeof t?.text === "string" ? t.text : fallback;
}

/**
 * Renders a Vega-Lite spec to an SVG string headlessly with lib/report's `renderSvg` (which also rejects specs
 * vega-lite warns about); errors name the chart's title when it has one.
 */
export async function chartSvg(spec: Record<string, unknown>): Promise<string> {
  try {
    return await renderSvg(spec);
  } catch (e) {
    const text = titleText(spec, "");
    throw new Error(`chartSvg: cannot render chart${text ? ` "${text}"` : ""}: ${(e as Error).message}`);
  }
}

/**
 * The MIME bundle of a chart: lib/report's `chartDisplayBundle` (the spec under the Vega-Lite v5 key, its SVG)
 * plus a one-line text form for plain front-ends.
 */
export async function chartBundle(spec: Record<string, unknown>): Promise<MimeBundle> {
  const title = titleText(spec, "chart");
  return { ...await chartDisplayBundle(spec, await chartSvg(spec)), "text/plain": `[Vega-Lite chart: ${title}]` };
}

/** Plain-text table with padded columns, for `text/plain` outputs and terminals. */
export function tableText(table: SiteTable): string {
  const digits = table.digits ?? 2;
  const fmt = (v: SiteCell) =>
    v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))
      ? "-"
      : typeof v === "number"
      ? (Number.isInteger(v) ? String(v) : v.toFixed(digits))
      : v;
  const cells = [table.columns, ...table.rows.map((r) => r.map(fmt))];
  const widths = table.columns.map((_, j) => Math.max(...cells.map((r) => String(r[j]).length)));
  const lines = cells.map((r) => r.map((c, j) => String(c).padEnd(widths[j])).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return (table.caption ? `${table.caption}\n` : "") + lines.join("\n");
}

/** Something shaped like a danfo DataFrame (columns and row values), so danfo is not needed to call this. */
export interface FrameLike {
  columns: string[];
  values: unknown[][] | unknown[];
}

/** Turns a danfo DataFrame (or any `{ columns, values }`) into a {@link SiteTable}. */
export function frameTable(frame: FrameLike, options: { caption?: string; digits?: number } = {}): SiteTable {
  const rows = (frame.values as unknown[]).map((row) => (Array.isArray(row) ? row : [row]) as SiteCell[]);
  return { columns: [...frame.columns], rows, caption: options.caption, digits: options.digits };
}

/** The MIME bundle of a table: HTML and plain text. */
export function tableBundle(table: SiteTable): MimeBundle {
  return { "text/html": renderTable(table), "text/plain": tableText(table) };
}

/** The MIME bundle of an SVG picture. */
export function svgBundle(svg: string, text = "[picture]"): MimeBundle {
  return { "image/svg+xml": svg, "text/plain": text };
}

/**
 * Shows a bundle as the output of the current notebook cell; outside a notebook (tests, scripts) prints its
 * `text/plain` part, so the same code runs everywhere.
 */
export async function show(bundle: MimeBundle): Promise<void> {
  type Jupyter = { display(b: MimeBundle, o: { raw: boolean }): Promise<void> };
  let jupyter: Jupyter | undefined;
  try {
    // The getter throws outside `deno jupyter`, hence the try.
    jupyter = (Deno as unknown as { jupyter?: Jupyter }).jupyter;
  } catch {
    jupyter = undefined;
  }
  if (typeof jupyter?.display === "function") await jupyter.display(bundle, { raw: true });
  else console.log(String(bundle["text/plain"] ?? Object.keys(bundle).join(", ")));
}
