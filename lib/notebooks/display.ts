/**
 * Rich output for Deno notebooks. Every chart and picture carries a PNG besides its richer forms, because Jupyter
 * shows only plain text, HTML, PNG and JPEG in a notebook it does not trust (every fresh clone): JupyterLab and
 * Notebook then skip SVG and Vega-Lite. Charts: the Vega-Lite spec (drawn live by JupyterLab in a trusted notebook),
 * its SVG (static viewers such as GitHub or nbviewer) and a PNG at twice the size, shown at the chart's size. Pictures:
 * the SVG and a PNG. Tables: HTML with a plain-text twin.
 * @module
 */

import sharp from "sharp";
import { chartDisplayBundle, renderSvg, svgToPng, VEGALITE_MIME } from "../reporting/charts.ts";
import { base64 } from "../reporting/draw.ts";
import { renderTable, type SiteCell, type SiteTable } from "../reporting/html.ts";

/** A Jupyter MIME bundle: MIME type to content. */
export type MimeBundle = Record<string, unknown>;

/** What a `display_data` message carries: the MIME bundle and per-MIME metadata (e.g. a PNG's display width). */
export interface DisplayData {
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

/** Media type of Vega-Lite specs in JupyterLab (lib/reporting's constant, re-exported for the notebooks). */
export { VEGALITE_MIME };

/** Scale of chart PNGs: drawn at twice the chart's size and shown at its size, so they stay sharp on HiDPI screens. */
export const CHART_PNG_SCALE = 2;

/** A chart's title text (a plain string or a `{ text }` title), or `fallback`. */
function titleText(spec: Record<string, unknown>, fallback: string): string {
  const t = spec.title as { text?: unknown } | string | undefined;
  return typeof t === "string" ? t : typeof t?.text === "string" ? t.text : fallback;
}

/**
 * Renders a Vega-Lite spec to an SVG string headlessly with lib/reporting's `renderSvg` (which also rejects specs
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

/** Width and height of a PNG, read from its IHDR chunk; throws on bytes that are not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || signature.some((b, i) => png[i] !== b)) throw new Error("pngSize: not a PNG");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** The CSS pixel size an SVG declares (`width` / `height` attributes of its root), or null when it has none. */
export function svgSize(svg: string): { width: number; height: number } | null {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? "";
  const w = /\swidth="([\d.]+)"/.exec(root), h = /\sheight="([\d.]+)"/.exec(root);
  return w && h ? { width: Number(w[1]), height: Number(h[1]) } : null;
}

/**
 * The MIME bundle of a chart: lib/reporting's `chartDisplayBundle` (the spec under the Vega-Lite v5 key, its SVG), a
 * PNG drawn from that SVG at {@link CHART_PNG_SCALE} and shown at the chart's size, and a one-line text form.
 */
export async function chartBundle(spec: Record<string, unknown>): Promise<DisplayData> {
  const title = titleText(spec, "chart");
  const svg = await chartSvg(spec);
  const png = await compactPng(svgToPng(svg, { scale: CHART_PNG_SCALE }));
  const size = pngSize(png);
  return {
    data: {
      ...await chartDisplayBundle(spec, svg),
      "image/png": base64(png),
      "text/plain": `[Vega-Lite chart: ${title}]`,
    },
    metadata: {
      "image/png": {
        width: Math.round(size.width / CHART_PNG_SCALE),
        height: Math.round(size.height / CHART_PNG_SCALE),
      },
    },
  };
}

/**
 * A PNG reduced to a 256-colour palette (libimagequant through sharp): charts and photographs stay faithful at a
 * third to a quarter of the bytes of a full-colour PNG, which keeps the committed notebooks small.
 */
export async function compactPng(png: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(png).png({ palette: true, quality: 90, effort: 7 }).toBuffer());
}

/** A picture (an SVG such as lib/reporting/draw's `pictureGrid`) as a {@link compactPng} at its own size. */
export async function pictureToPng(svg: string): Promise<Uint8Array> {
  return await compactPng(svgToPng(svg, { scale: 1 }));
}

/** The MIME bundle of an SVG picture: the SVG, its PNG ({@link pictureToPng}) and a text line. */
export async function svgBundle(svg: string, text = "[picture]"): Promise<DisplayData> {
  const png = await pictureToPng(svg);
  const size = pngSize(png);
  return {
    data: { "image/svg+xml": svg, "image/png": base64(png), "text/plain": text },
    metadata: { "image/png": size },
  };
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

/** The MIME bundle of a table: HTML and plain text. */
export function tableBundle(table: SiteTable): MimeBundle {
  return { "text/html": renderTable(table), "text/plain": tableText(table) };
}

/** Whether `item` is a {@link DisplayData} (a bundle's keys are MIME types, which all contain a `/`). */
function isDisplayData(item: MimeBundle | DisplayData): item is DisplayData {
  const keys = Object.keys(item);
  return keys.includes("data") && keys.every((k) => k === "data" || k === "metadata");
}

/**
 * Shows a bundle (or a {@link DisplayData} with its metadata, or a promise of either) as the output of the current
 * notebook cell; outside a notebook (tests, scripts) prints its `text/plain` part, so the same code runs everywhere.
 */
export async function show(item: MimeBundle | DisplayData | Promise<MimeBundle | DisplayData>): Promise<void> {
  const resolved = await item;
  const { data, metadata } = isDisplayData(resolved) ? resolved : { data: resolved, metadata: {} };
  type Jupyter = {
    display(b: MimeBundle, o: { raw: boolean }): Promise<void>;
    broadcast(type: string, content: Record<string, unknown>): Promise<void>;
  };
  let jupyter: Jupyter | undefined;
  try {
    // The getter throws outside `deno jupyter`, hence the try.
    jupyter = (Deno as unknown as { jupyter?: Jupyter }).jupyter;
  } catch {
    jupyter = undefined;
  }
  if (typeof jupyter?.broadcast === "function") {
    // What `Deno.jupyter.display` sends, with the metadata it has no parameter for.
    await jupyter.broadcast("display_data", { data, metadata, transient: {} });
  } else if (typeof jupyter?.display === "function") await jupyter.display(data, { raw: true });
  else console.log(String(data["text/plain"] ?? Object.keys(data).join(", ")));
}
