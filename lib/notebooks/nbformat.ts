/**
 * Notebook sources and nbformat 4.5 files. Each notebook is written as a TypeScript file in the "percent" format
 * (`// %%` starts a code cell, `// %% [markdown]` a markdown cell whose lines are `//` comments), so its code is
 * type-checked and formatted like the library, and the `.ipynb` beside it is generated from it.
 * @module
 */

/** One notebook cell before execution. */
export interface SourceCell {
  kind: "code" | "markdown";
  /** Cell text without a trailing newline. */
  source: string;
}

/** A cell in an nbformat 4.5 notebook (the subset we write and read). */
export interface NbCell {
  cell_type: "code" | "markdown";
  id: string;
  metadata: Record<string, unknown>;
  source: string[];
  execution_count?: number | null;
  outputs?: Record<string, unknown>[];
}

/** An nbformat 4.5 notebook (the subset we write and read). */
export interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  nbformat: 4;
  nbformat_minor: 5;
}

/** The two execution profiles: `smoke` (generated data, tiny settings) and `full` (real data and run folders). */
export type NotebookProfile = "smoke" | "full";

/** Metadata of a notebook on the Deno kernel (what `deno jupyter --install` registers as `deno`). */
export const DENO_NOTEBOOK_METADATA: Readonly<Record<string, unknown>> = {
  kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
  language_info: {
    codemirror_mode: "typescript",
    file_extension: ".ts",
    mimetype: "text/x.typescript",
    name: "typescript",
    nbconvert_exporter: "script",
    pygments_lexer: "typescript",
  },
};

const MARKER = /^\/\/ %%(.*)$/;

/**
 * Splits a percent-format source into cells. Text before the first marker (a file comment) is dropped; blank
 * lines around each cell are trimmed. `name` is used in error messages.
 */
export function parseNotebookSource(text: string, name: string): SourceCell[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const cells: { kind: SourceCell["kind"]; lines: string[]; line: number }[] = [];
  lines.forEach((line, i) => {
    const m = line.match(MARKER);
    if (m) {
      const tag = m[1].trim();
      if (tag !== "" && tag !== "[markdown]") {
        throw new Error(`${name}:${i + 1}: unknown cell marker "${line}" (use "// %%" or "// %% [markdown]")`);
      }
      cells.push({ kind: tag === "" ? "code" : "markdown", lines: [], line: i + 1 });
    } else if (cells.length) {
      cells[cells.length - 1].lines.push(line);
    }
  });
  if (!cells.length) throw new Error(`${name}: no cells (a cell starts with a "// %%" line)`);
  return cells.map((c) => {
    let body = c.lines;
    if (c.kind === "markdown") {
      body = body.map((l, j) => {
        if (l.trim() === "") return "";
        const m = l.match(/^\/\/ ?(.*)$/);
        if (!m) throw new Error(`${name}:${c.line + j + 1}: markdown cell line must start with "//": "${l}"`);
        return m[1];
      });
    }
    while (body.length && body[0].trim() === "") body = body.slice(1);
    while (body.length && body[body.length - 1].trim() === "") body = body.slice(0, -1);
    if (!body.length) throw new Error(`${name}:${c.line}: empty cell`);
    return { kind: c.kind, source: body.join("\n") };
  });
}

/** Splits cell text into nbformat's list of lines, each but the last keeping its newline. */
export function toSourceLines(source: string): string[] {
  if (source === "") return [];
  const parts = source.split("\n");
  return parts.map((p, i) => (i < parts.length - 1 ? p + "\n" : p));
}

/** Joins nbformat source (a string or a list of lines) back into one string. */
export function fromSourceLines(source: string | string[]): string {
  return Array.isArray(source) ? source.join("") : source;
}

/** Options of {@link buildNotebook}. */
export interface BuildNotebookOptions {
  /**
   * The notebook as committed before: a code cell whose id and source are unchanged keeps its outputs and
   * execution count, so regenerating from an unchanged source leaves the executed notebook as it was.
   */
  previous?: Notebook;
}

/** Makes an nbformat 4.5 notebook from cells; ids are `<prefix>-<nn>` in cell order. */
export function buildNotebook(cells: SourceCell[], prefix: string, options: BuildNotebookOptions = {}): Notebook {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(prefix)) throw new Error(`buildNotebook: bad id prefix "${prefix}"`);
  const old = new Map((options.previous?.cells ?? []).map((c) => [c.id, c]));
  const nbCells = cells.map((c, i): NbCell => {
    const id = `${prefix}-${String(i + 1).padStart(2, "0")}`;
    const source = toSourceLines(c.source);
    if (c.kind === "markdown") return { cell_type: "markdown", id, metadata: {}, source };
    const prev = old.get(id);
    const same = prev?.cell_type === "code" && fromSourceLines(prev.source) === c.source;
    return {
      cell_type: "code",
      execution_count: same ? prev.execution_count ?? null : null,
      id,
      metadata: {},
      outputs: same ? prev.outputs ?? [] : [],
      source,
    };
  });
  const metadata = { ...(options.previous?.metadata ?? {}), ...DENO_NOTEBOOK_METADATA };
  return { cells: nbCells, metadata, nbformat: 4, nbformat_minor: 5 };
}

/** Serialises a notebook the way Jupyter does (one-space indent, sorted keys, final newline) for small diffs. */
export function serializeNotebook(nb: Notebook): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v as Record<string, unknown>).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sortKeys(nb), null, 1) + "\n";
}

/**
 * Checks the parts of nbformat 4.5 we rely on and returns the problems found (empty when valid): version, Deno
 * kernelspec and language, and every cell with a unique id matching nbformat's pattern.
 */
export function notebookProblems(nb: unknown): string[] {
  const problems: string[] = [];
  const n = nb as Partial<Notebook>;
  if (n?.nbformat !== 4 || n?.nbformat_minor !== 5) problems.push("nbformat must be 4.5");
  const ks = n?.metadata?.kernelspec as Record<string, unknown> | undefined;
  if (ks?.name !== "deno") problems.push('metadata.kernelspec.name must be "deno"');
  const li = n?.metadata?.language_info as Record<string, unknown> | undefined;
  if (li?.name !== "typescript") problems.push('metadata.language_info.name must be "typescript"');
  const ids = new Set<string>();
  (n?.cells ?? []).forEach((c, i) => {
    if (typeof c.id !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(c.id)) problems.push(`cell ${i}: bad id ${c.id}`);
    else if (ids.has(c.id)) problems.push(`cell ${i}: duplicate id ${c.id}`);
    else ids.add(c.id);
    if (c.cell_type !== "code" && c.cell_type !== "markdown") problems.push(`cell ${i}: bad type ${c.cell_type}`);
  });
  if (!Array.isArray(n?.cells)) problems.push("cells must be a list");
  return problems;
}

/**
 * The errors recorded in an executed notebook's outputs, as `{ cell, id, message }` (cell is 1-based). nbconvert
 * already stops on the first error; this also catches errors a kernel reports only as output.
 */
export function notebookErrors(nb: Notebook): { cell: number; id: string; message: string }[] {
  const out: { cell: number; id: string; message: string }[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      if (o.output_type === "error") out.push({ cell: i + 1, id: c.id, message: `${o.ename}: ${o.evalue}` });
    }
  });
  return out;
}

/** Reads the profile from `NOTEBOOK_PROFILE` (default `full`); any other value is an error naming it. */
export function notebookProfile(env: Record<string, string | undefined> = Deno.env.toObject()): NotebookProfile {
  const value = (env.NOTEBOOK_PROFILE ?? "full").trim() || "full";
  if (value !== "smoke" && value !== "full") {
    throw new Error(`NOTEBOOK_PROFILE must be "smoke" or "full", got "${value}"`);
  }
  return value;
}

/** An absolute path found in a notebook's outputs by {@link absolutePathsInOutputs}. */
export interface PathLeak {
  /** 1-based cell number. */
  cell: number;
  id: string;
  /** The output part it was found in (`stream`, `error`, or a MIME type). */
  part: string;
  path: string;
}

// A POSIX path from the root with at least one folder (`/work/main`, `/tmp/x`), not preceded by what would make it
// part of a word, a URL or a relative path (`results/ablation`, `https://...`, `img/s`); or a Windows drive path.
const ABSOLUTE_PATH = /(?<![\w.~:/\\-])\/(?:[\w.@+-]+\/)+[\w.@+-]*|\b[A-Za-z]:\\[\w.@+\\-]+/g;

/** Output text worth scanning: text parts, error messages, JSON and SVG (without their embedded base64 images). */
function outputTexts(output: Record<string, unknown>): { part: string; text: string }[] {
  const join = (v: unknown) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : JSON.stringify(v));
  if (output.output_type === "stream") return [{ part: "stream", text: join(output.text) }];
  if (output.output_type === "error") {
    return [{ part: "error", text: `${output.evalue ?? ""}\n${join(output.traceback ?? [])}` }];
  }
  const data = (output.data ?? {}) as Record<string, unknown>;
  return Object.entries(data).filter(([mime]) => !/^image\/(png|jpeg|gif)$/.test(mime)).map(([mime, v]) => ({
    part: mime,
    // Base64 data (images inside an SVG or HTML) holds `/` and letters in any order, so it is left out.
    text: join(v).replace(/data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+/g, "data:..."),
  }));
}

/**
 * Absolute paths in a notebook's outputs (printed run folders, data roots, temporary folders): the committed
 * notebooks must not carry the paths of the machine that ran them. Sources are not scanned.
 */
export function absolutePathsInOutputs(nb: Notebook): PathLeak[] {
  const leaks: PathLeak[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      for (const { part, text } of outputTexts(o)) {
        for (const m of text.matchAll(ABSOLUTE_PATH)) leaks.push({ cell: i + 1, id: c.id, part, path: m[0] });
      }
    }
  });
  return leaks;
}
