/**
 * Builds the shareable report: one static HTML page with tables, Vega-Lite charts (drawn in the page by the
 * vega / vega-lite scripts inlined from node_modules, so it works offline) and links to the run folders.
 * Everything here is pure string building, so it is tested without a browser.
 * @module
 */

/** A table cell: text, a number (shown with `digits` decimals) or missing (shown as an em dash). */
export type SiteCell = string | number | null | undefined;

/** A table in the report. */
export interface SiteTable {
  /** Shown above the table. */
  caption?: string;
  columns: string[];
  rows: SiteCell[][];
  /** Decimals for numeric cells (default 2). */
  digits?: number;
}

/** A chart in the report: a Vega-Lite spec with inline data, and optionally a pre-rendered SVG fallback. */
export interface SiteChart {
  title: string;
  /** A Vega-Lite spec whose data is inline (`data.values`): the page loads nothing. */
  spec: Record<string, unknown>;
  /** Shown until (and if) the in-page rendering succeeds. */
  svg?: string;
}

/** A picture in the report: an SVG document (e.g. lib/reporting/draw's `pictureGrid`) placed inline in the page. */
export interface SitePicture {
  title: string;
  svg: string;
}

/** A link, typically to a run folder relative to the page. */
export interface SiteLink {
  href: string;
  label: string;
}

/** One section of the report. */
export interface SiteSection {
  /** Anchor id (letters, digits, `-`, `_`). */
  id: string;
  title: string;
  /** Paragraphs of plain text (escaped). */
  notes?: string[];
  tables?: SiteTable[];
  charts?: SiteChart[];
  pictures?: SitePicture[];
  links?: SiteLink[];
  /** Shown as a highlighted warning (e.g. "these numbers come from generated data"). */
  warning?: string;
  /** Folded away under its title (a `<details>` element) until the reader opens it; left out of the top navigation. */
  collapsed?: boolean;
}

/** The whole report. */
export interface Report {
  title: string;
  /** Paragraphs under the title. */
  intro?: string[];
  /** A warning shown at the top of the page (e.g. results from generated data). */
  banner?: string;
  /** ISO time the page was written, shown in the footer. */
  generatedAt: string;
  sections: SiteSection[];
}

/** The browser builds of vega and vega-lite (UMD, defining the globals `vega` and `vegaLite`). */
export interface VegaScripts {
  vega: string;
  vegaLite: string;
}

/** Options of {@link renderPage}. */
export interface RenderPageOptions {
  /** Inlined vega scripts; without them charts show only their SVG fallback. */
  scripts?: VegaScripts;
}

/** Escapes text for use in HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Formats one table cell: numbers with fixed decimals, non-finite or missing values as an em dash. */
export function formatCell(value: SiteCell, digits = 2): string {
  if (value === null || value === undefined) return "\u2014";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "\u2014";
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }
  return value;
}

/** Renders a table as HTML; numeric columns are right-aligned. Throws when a row's length differs from the header. */
export function renderTable(table: SiteTable): string {
  const digits = table.digits ?? 2;
  table.rows.forEach((row, i) => {
    if (row.length !== table.columns.length) {
      throw new Error(
        `renderTable${table.caption ? ` "${table.caption}"` : ""}: row ${i} has ${row.length} cells, ` +
          `expected ${table.columns.length}`,
      );
    }
  });
  const head = table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = table.rows.map((row) =>
    "<tr>" +
    row.map((v) => `<td${typeof v === "number" ? ' class="num"' : ""}>${escapeHtml(formatCell(v, digits))}</td>`)
      .join("") +
    "</tr>"
  ).join("\n");
  const caption = table.caption ? `<caption>${escapeHtml(table.caption)}</caption>` : "";
  return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** JSON safe to place inside a `<script>` element (no `</script>`, no HTML comment openers). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Makes script text safe to inline: a literal `</script` would end the element early. */
function inlineScript(code: string): string {
  return code.replace(/<\/script/gi, "<\\/script");
}

const ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * The spec without its `$schema`: vega-lite compiles it the same, and the page then holds no URL beyond the
 * namespaces inside the vega scripts, so a grep for external addresses finds none.
 */
function withoutSchema(spec: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, ...rest } = spec;
  return rest;
}

/** Checks that a spec carries its data inline, so the static page never fetches anything. */
function assertInlineData(spec: unknown, where: string): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node && typeof node === "object") {
      const obj = node as Record<string, unknown>;
      const data = obj.data as Record<string, unknown> | undefined;
      if (data && typeof data === "object" && "url" in data) {
        throw new Error(`${where}: chart data must be inline (data.values), found data.url = ${String(data.url)}`);
      }
      for (const v of Object.values(obj)) visit(v);
    }
  };
  visit(spec);
}

const STYLE = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1f24; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 20px; margin-top: 36px; border-bottom: 1px solid #ddd; }
nav a { margin-right: 14px; }
.banner, .warning { background: #fff4d6; border: 1px solid #e8c35a; padding: 10px 14px; border-radius: 6px; }
table { border-collapse: collapse; margin: 12px 0 18px; background: #fff; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #d5d8dc; padding: 4px 10px; } th { background: #eef1f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
figure { margin: 0; background: #fff; border: 1px solid #e1e4e8; padding: 8px; border-radius: 6px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figure.picture svg { max-width: 100%; height: auto; }
details > summary { font-size: 20px; font-weight: 600; cursor: pointer; margin-top: 36px; }
p.note { color: #444; font-size: 14px; margin: 4px 0; }
footer { margin-top: 40px; color: #666; font-size: 13px; }
`;

const RENDER_SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById("site-charts").textContent);
  if (typeof vega === "undefined" || typeof vegaLite === "undefined") {
    document.body.dataset.ready = "fallback";
    return;
  }
  Promise.all(charts.map(function (c) {
    var el = document.getElementById(c.id);
    var compiled = vegaLite.compile(c.spec).spec;
    var view = new vega.View(vega.parse(compiled), { renderer: "svg", hover: true });
    el.innerHTML = "";
    return view.initialize(el).runAsync();
  })).then(function () {
    document.body.dataset.ready = String(charts.length);
  }, function (err) {
    console.error("chart rendering failed:", err && err.message ? err.message : err);
    document.body.dataset.ready = "error";
  });
})();
`;

/**
 * Renders the report as one self-contained HTML page. The page sets `document.body.dataset.ready` to the number
 * of charts drawn (or `"fallback"` without scripts, `"error"` on failure), which the browser check waits for.
 */
export function renderPage(report: Report, options: RenderPageOptions = {}): string {
  const seen = new Set<string>();
  const chartData: { id: string; spec: Record<string, unknown> }[] = [];
  const sections = report.sections.map((s) => {
    if (!ID_PATTERN.test(s.id)) throw new Error(`renderPage: section id "${s.id}" must match ${ID_PATTERN}`);
    if (seen.has(s.id)) throw new Error(`renderPage: duplicate section id "${s.id}"`);
    seen.add(s.id);
    const parts: string[] = [
      s.collapsed
        ? `<section id="${s.id}"><details><summary>${escapeHtml(s.title)}</summary>`
        : `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>`,
    ];
    if (s.warning) parts.push(`<p class="warning">${escapeHtml(s.warning)}</p>`);
    for (const n of s.notes ?? []) parts.push(`<p>${escapeHtml(n)}</p>`);
    for (const t of s.tables ?? []) parts.push(renderTable(t));
    if (s.charts?.length) {
      parts.push('<div class="charts">');
      s.charts.forEach((c, i) => {
        const id = `chart-${s.id}-${i}`;
        assertInlineData(c.spec, `renderPage: chart "${c.title}" in section "${s.id}"`);
        chartData.push({ id, spec: withoutSchema(c.spec) });
        parts.push(
          `<figure><figcaption>${escapeHtml(c.title)}</figcaption><div id="${id}" class="chart">${
            c.svg ?? "<em>chart needs JavaScript</em>"
          }</div></figure>`,
        );
      });
      parts.push("</div>");
    }
    for (const p of s.pictures ?? []) {
      if (!/^<svg[\s>]/.test(p.svg.trimStart())) throw new Error(`renderPage: picture "${p.title}" is not an SVG`);
      parts.push(`<figure class="picture"><figcaption>${escapeHtml(p.title)}</figcaption>${p.svg}</figure>`);
    }
    if (s.links?.length) {
      parts.push(
        "<ul>" +
          s.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`).join("") +
          "</ul>",
      );
    }
    parts.push(s.collapsed ? "</details></section>" : "</section>");
    return parts.join("\n");
  });
  const nav = report.sections.filter((s) => !s.collapsed).map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`)
    .join("");
  const scripts = options.scripts
    ? `<script>${inlineScript(options.scripts.vega)}</script>\n<script>${
      inlineScript(options.scripts.vegaLite)
    }</script>`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(report.title)}</h1>
${(report.intro ?? []).map((p) => `<p>${escapeHtml(p)}</p>`).join("\n")}
${report.banner ? `<p class="banner">${escapeHtml(report.banner)}</p>` : ""}
<nav>${nav}</nav>
${sections.join("\n")}
<footer>Generated ${
    escapeHtml(report.generatedAt)
  } by <code>deno task report</code>. Static page: no network access.</footer>
</main>
<script type="application/json" id="site-charts">${scriptJson(chartData)}</script>
${scripts}
<script>${RENDER_SCRIPT}</script>
</body>
</html>
`;
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
