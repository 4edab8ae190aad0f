/**
 * Pictures for notebooks and the report: images with their boxes drawn as SVG (the JPEG/PNG embedded as a data
 * URL, boxes as rectangles), so they show in JupyterLab, in static notebook viewers and in the HTML page alike,
 * with no image re-encoding.
 * @module
 */

import { CLASS_COLORS } from "./charts.ts";
import type { Box } from "../types.ts";
import { CLASS_NAMES } from "../types.ts";
import { escapeHtml } from "./html.ts";

/**
 * Box colour of a class id, from lib/reporting's `CLASS_COLORS` (the one colour of each class in every chart and
 * drawing: face_mask green, face red); grey for background and unknown ids.
 */
export function classColor(label: number): string {
  return CLASS_COLORS[CLASS_NAMES[label] ?? ""] ?? "#888888";
}

/** One picture of a grid. */
export interface Picture {
  /** Encoded image (JPEG or PNG). */
  bytes: Uint8Array;
  /** Pixel size of the encoded image. */
  width: number;
  height: number;
  /** Normalised corner boxes. */
  boxes: Box[];
  /** Class id of each box. */
  labels: number[];
  /** Score of each box, shown after the class name when given. */
  scores?: number[];
  /** Dashed boxes (e.g. ground truth beside detections), one flag per box. */
  dashed?: boolean[];
  /** Caption under the picture. */
  caption?: string;
  /** Stroke colour of each box, instead of its class colour (e.g. one colour per feature map for priors). */
  colors?: string[];
  /** Text beside each box, instead of `<class> <score>`; an empty string draws no text. */
  texts?: string[];
}

/** Options of {@link pictureGrid}. */
export interface GridOptions {
  /** Pictures per row (default 4). */
  columns?: number;
  /** Width of each cell in pixels (default 240); heights follow the aspect ratios. */
  cellWidth?: number;
}

function mimeOf(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return "image/png";
  throw new Error("pictureGrid: image bytes are neither JPEG nor PNG");
}

/** Base64 of bytes (chunked: spreading a large array into `String.fromCharCode` overflows the stack). */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/**
 * Cuts `text` to what fits in `width` pixels at `fontSize` (DejaVu Sans, the font resvg draws with, averages about 0.6 em a glyph) by
 * dropping characters from its middle, so a long caption never runs into the next cell and keeps both the start of
 * the image id and the counts at its end.
 */
export function fitText(text: string, width: number, fontSize: number): string {
  const max = Math.max(2, Math.floor(width / (0.6 * fontSize)));
  if (text.length <= max) return text;
  const head = Math.floor((max - 1) * 0.4);
  return `${text.slice(0, head)}\u2026${text.slice(text.length - (max - 1 - head))}`;
}

/**
 * Lays out pictures in a grid as one SVG document. Each box is drawn in its class colour with a label
 * (`face_mask 0.87`); the image is scaled to the cell width.
 */
export function pictureGrid(pictures: Picture[], options: GridOptions = {}): string {
  const columns = Math.max(1, options.columns ?? 4);
  const cellW = options.cellWidth ?? 240;
  const captionH = 18;
  const gap = 6;
  const heights = pictures.map((p) => {
    if (!(p.width > 0 && p.height > 0)) throw new Error(`pictureGrid: bad image size ${p.width}x${p.height}`);
    if (p.labels.length !== p.boxes.length) {
      throw new Error(`pictureGrid: ${p.boxes.length} boxes but ${p.labels.length} labels (${p.caption ?? ""})`);
    }
    return (cellW * p.height) / p.width;
  });
  const rows = Math.ceil(pictures.length / columns);
  const rowH = Array.from({ length: rows }, (_, r) => Math.max(0, ...heights.slice(r * columns, (r + 1) * columns)));
  const width = columns * cellW + (columns - 1) * gap;
  const height = rowH.reduce((s, h) => s + h + captionH + gap, 0);
  const parts: string[] = [];
  let y = 0;
  pictures.forEach((p, i) => {
    const col = i % columns;
    if (i > 0 && col === 0) y += rowH[Math.floor(i / columns) - 1] + captionH + gap;
    const x = col * (cellW + gap);
    const h = heights[i];
    parts.push(
      `<image x="${r1(x)}" y="${r1(y)}" width="${cellW}" height="${r1(h)}" preserveAspectRatio="none" ` +
        `href="data:${mimeOf(p.bytes)};base64,${base64(p.bytes)}"/>`,
    );
    p.boxes.forEach((b, k) => {
      const color = p.colors?.[k] ?? classColor(p.labels[k]);
      const bx = x + b[0] * cellW, by = y + b[1] * h;
      const bw = (b[2] - b[0]) * cellW, bh = (b[3] - b[1]) * h;
      const dash = p.dashed?.[k] ? ' stroke-dasharray="4 3"' : "";
      parts.push(
        `<rect x="${r1(bx)}" y="${r1(by)}" width="${r1(bw)}" height="${r1(bh)}" fill="none" stroke="${color}" ` +
          `stroke-width="2"${dash}/>`,
      );
      const name = CLASS_NAMES[p.labels[k]] ?? `class ${p.labels[k]}`;
      const text = p.texts?.[k] ?? (p.scores ? `${name} ${p.scores[k].toFixed(2)}` : name);
      if (text) {
        parts.push(
          `<text x="${r1(bx + 1)}" y="${r1(Math.max(by - 2, y + 9))}" font-size="9" font-family="sans-serif" ` +
            `fill="${color}" stroke="#ffffff" stroke-width="2" paint-order="stroke">${escapeHtml(text)}</text>`,
        );
      }
    });
    if (p.caption) {
      parts.push(
        `<text x="${r1(x)}" y="${r1(y + rowH[Math.floor(i / columns)] + 13)}" font-size="11" ` +
          `font-family="sans-serif" fill="#333">${escapeHtml(fitText(p.caption, cellW, 11))}</text>`,
      );
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${r1(width)}" height="${r1(height)}" ` +
    `viewBox="0 0 ${r1(width)} ${r1(height)}">${parts.join("")}</svg>`;
}
