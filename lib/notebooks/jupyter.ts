/**
 * The committed notebooks as a reader sees them: a classic Jupyter Notebook server (Debian's `jupyter-notebook`,
 * Notebook 6) serving a copy of notebooks/, each notebook opened in headless Chromium WITHOUT being trusted (as in
 * every fresh clone), and what its page shows read back from the DOM. An untrusted notebook shows only plain text,
 * sanitised HTML, PNG and JPEG; a chart or picture without a PNG shows as its text placeholder (`[sample grid]`), which
 * is what {@link checkNotebookPage} catches.
 * @module
 */

import { findChromium, inspectPage } from "../util/devtools.ts";
import { findOnPath } from "../util/paths.ts";

/** Finds Debian's `jupyter-notebook` on PATH, or `undefined` (callers then skip visibly). */
export function findJupyterNotebook(): string | undefined {
  return findOnPath("jupyter-notebook");
}

/** A running notebook server. */
export interface NotebookServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  token: string;
  /** URL of a notebook's page, relative to the served folder. */
  pageUrl(name: string): string;
  /** Shuts down every kernel the pages started (so they do not pile up), keeping the server. */
  stopKernels(): Promise<void>;
  /** Stops the server and its kernels and removes its scratch folder. */
  close(): Promise<void>;
}

/** Options of {@link startNotebookServer}. */
export interface NotebookServerOptions {
  /** The folder served (a copy of notebooks/: the pages may write checkpoints into it). */
  notebookDir: string;
  /** Path of `jupyter-notebook` (default: found on PATH). */
  command?: string;
  /** Seconds to wait for the server to answer (default 60). */
  startTimeoutS?: number;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts `jupyter notebook` on 127.0.0.1 with a random token on a free port, serving `notebookDir`. Its notary
 * database is in memory, so no signature stored on this machine can make a notebook trusted; its config folder is
 * a fresh one, so no user setting applies. Resolves once the server answers `/api/status`.
 */
export async function startNotebookServer(options: NotebookServerOptions): Promise<NotebookServer> {
  const command = options.command ?? findJupyterNotebook();
  if (!command) throw new Error("startNotebookServer: jupyter-notebook not found (apt-get install jupyter-notebook)");
  const port = freePort();
  const token = crypto.randomUUID().replaceAll("-", "");
  const scratch = await Deno.makeTempDir({ prefix: "jupyter_server_" });
  const args = [
    "--no-browser",
    "--ip=127.0.0.1",
    `--port=${port}`,
    "--port-retries=0",
    `--NotebookApp.token=${token}`,
    `--notebook-dir=${options.notebookDir}`,
    "--NotebookNotary.db_file=:memory:",
  ];
  if (Deno.uid?.() === 0) args.push("--allow-root");
  const child = new Deno.Command(command, {
    args,
    env: { JUPYTER_CONFIG_DIR: `${scratch}/config`, JUPYTER_RUNTIME_DIR: `${scratch}/runtime` },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Keep draining the log so the server never blocks on a full pipe; the tail goes into start-up errors.
  let log = "";
  const drained = (async () => {
    try {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) log = (log + chunk).slice(-8000);
    } catch { /* server gone */ }
  })();
  const base = `http://127.0.0.1:${port}`;
  const api = (path: string, init?: RequestInit) =>
    fetch(`${base}${path}`, { ...init, headers: { Authorization: `token ${token}` } });
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
    }, 5000);
    await child.status;
    clearTimeout(timer);
    await drained;
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + (options.startTimeoutS ?? 60) * 1000;
  for (;;) {
    try {
      const r = await api("/api/status");
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jupyter notebook did not answer on ${base} within ${options.startTimeoutS ?? 60} s:\n${log}`);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  return {
    base,
    token,
    pageUrl: (name) => `${base}/notebooks/${encodeURIComponent(name)}?token=${token}`,
    stopKernels: async () => {
      const sessions = await (await api("/api/sessions")).json() as { id: string }[];
      for (const s of sessions) await (await api(`/api/sessions/${s.id}`, { method: "DELETE" })).body?.cancel();
    },
    close: stop,
  };
}

/** One output of a code cell as the page shows it. */
export interface ShownOutput {
  /** 1-based cell number in the notebook. */
  cell: number;
  /**
   * How the page shows it: `png` (an `<img>` with PNG data that has loaded), `jpeg`, `svg`, `html`, `text` (a
   * display output shown as its plain text), `stream` (printed text: Notebook 6 merges consecutive prints into one
   * area, so these are not counted), `error`, `other`.
   */
  shownAs: string;
  /** The first 120 characters of the output's text. */
  text: string;
}

/** What {@link inspectNotebookPage} read from a notebook's page. */
export interface NotebookPage {
  /** Whether Jupyter treats the notebook as trusted (it must not). */
  trusted: boolean;
  /** Every code cell output in the page, in order. */
  outputs: ShownOutput[];
  consoleErrors: string[];
  exceptions: string[];
  /** Requests that went anywhere but the notebook server. */
  foreignRequests: string[];
  screenshot?: Uint8Array;
}

// Runs in the page: waits until Notebook 6 has loaded the notebook and every image has decoded, then lists what each
// output area shows. With `full`, lets the page grow to its content so that a full-page screenshot shows it all.
const PAGE_SCRIPT = (full: boolean) =>
  `(async () => {
  const deadline = Date.now() + 45000;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  while (!(window.IPython && IPython.notebook && IPython.notebook._fully_loaded)) {
    if (Date.now() > deadline) throw new Error("the notebook did not load within 45 s");
    await sleep(100);
  }
  const imgs = () => [...document.querySelectorAll(".output_area img")];
  while (imgs().some((i) => !i.complete)) {
    if (Date.now() > deadline) throw new Error("images did not load within 45 s");
    await sleep(100);
  }
  const outputs = [];
  [...document.querySelectorAll("#notebook-container .cell")].forEach((cell, c) => {
    if (!cell.classList.contains("code_cell")) return;
    cell.querySelectorAll(".output_area .output_subarea").forEach((sub) => {
      const img = sub.querySelector("img");
      const src = img ? img.getAttribute("src") || "" : "";
      const is = (k) => sub.classList.contains(k);
      const shownAs = img && src.startsWith("data:image/png;base64,") && img.naturalWidth > 0 ? "png"
        : img && src.startsWith("data:image/jpeg;base64,") && img.naturalWidth > 0 ? "jpeg"
        : sub.querySelector("svg") ? "svg"
        : is("output_stream") ? "stream"
        : is("output_error") ? "error"
        : is("output_html") ? "html"
        : is("output_text") ? "text"
        : "other";
      outputs.push({ cell: c + 1, shownAs, text: (sub.innerText || "").slice(0, 120) });
    });
  });
  if (${full}) {
    document.documentElement.style.height = "auto";
    document.body.style.height = "auto";
    document.body.style.overflow = "visible";
    const site = document.getElementById("site");
    site.style.height = "auto";
    site.style.overflow = "visible";
    await sleep(300);
  }
  return { trusted: IPython.notebook.trusted, outputs };
})()`;

/** Options of {@link inspectNotebookPage}. */
export interface NotebookPageOptions {
  /** Capture a full-page PNG screenshot. */
  screenshot?: boolean;
  /** Viewport width (default 1280). */
  width?: number;
}

/** Opens one notebook page of `server` in headless Chromium and reads back what each output shows. */
export async function inspectNotebookPage(
  server: NotebookServer,
  name: string,
  options: NotebookPageOptions = {},
): Promise<NotebookPage> {
  if (!findChromium()) throw new Error("inspectNotebookPage: no chromium binary found on PATH");
  const page = await inspectPage(server.pageUrl(name), {
    width: options.width ?? 1280,
    height: 1000,
    // Notebook 6 sets no ready flag: the page script waits for the notebook itself.
    readyTimeoutMs: 0,
    evaluate: PAGE_SCRIPT(Boolean(options.screenshot)),
    screenshot: options.screenshot,
  });
  const shown = (page.evaluated ?? { trusted: true, outputs: [] }) as { trusted: boolean; outputs: ShownOutput[] };
  return {
    trusted: shown.trusted,
    outputs: shown.outputs,
    consoleErrors: page.consoleErrors,
    exceptions: page.exceptions,
    foreignRequests: page.networkRequests.filter((u) => !u.startsWith(`${server.base}/`)),
    screenshot: page.screenshot,
  };
}

/** A notebook's own outputs, as nbformat stores them (the subset {@link expectedViews} reads). */
interface StoredNotebook {
  cells: { cell_type: string; outputs?: { output_type: string; data?: Record<string, unknown> }[] }[];
}

/**
 * What the untrusted page must show for the display outputs of each code cell of a notebook file, in order (cells
 * 1-based): `png` for every output that has a PNG, and for every chart or picture that has none (its text would show
 * instead, which is the failure); `html` for tables; `text` for plain text. Printed text (streams) is left out.
 */
export function expectedViews(nb: StoredNotebook): Map<number, string[]> {
  const views = new Map<number, string[]>();
  nb.cells.forEach((c, i) => {
    const list: string[] = [];
    for (const o of c.outputs ?? []) {
      if (o.output_type === "error") list.push("error");
      if (o.output_type !== "display_data" && o.output_type !== "execute_result") continue;
      const mimes = Object.keys(o.data ?? {});
      const picture = mimes.some((m) => m.startsWith("image/") || m.includes("vegalite") || m.includes("vega."));
      list.push(picture ? "png" : mimes.includes("text/html") ? "html" : "text");
    }
    if (list.length) views.set(i + 1, list);
  });
  return views;
}

/** Placeholders a chart or picture shows as when the page cannot draw it (our text forms and Deno's defaults). */
const PLACEHOLDER = /^\s*(\[[^\]\n]*\]|<VegaLite \d+ object>|\[Vega-Lite chart[^\n]*)\s*$/;

/**
 * The problems of one notebook's page against its file: trusted when it must not be, a cell whose display outputs
 * show otherwise than {@link expectedViews} says (a chart as text, say), a placeholder text in place of a chart or
 * picture, console errors, exceptions and requests that left the server. Empty when the page is right.
 */
export function checkNotebookPage(name: string, nb: StoredNotebook, page: NotebookPage): string[] {
  const problems: string[] = [];
  if (page.trusted) problems.push(`${name}: the page treats the notebook as trusted; the check needs it untrusted`);
  const expected = expectedViews(nb);
  const cells = new Set([...expected.keys(), ...page.outputs.map((o) => o.cell)]);
  for (const cell of [...cells].sort((a, b) => a - b)) {
    const want = expected.get(cell) ?? [];
    const shown = page.outputs.filter((o) => o.cell === cell && o.shownAs !== "stream");
    const got = shown.map((o) => o.shownAs);
    if (want.join(",") !== got.join(",")) {
      const texts = shown.filter((o) => o.shownAs === "text").map((o) => `"${o.text.trim().slice(0, 60)}"`);
      problems.push(
        `${name}: cell ${cell} shows [${got.join(", ")}], expected [${want.join(", ")}]` +
          (texts.length ? ` (text shown: ${texts.join(", ")})` : ""),
      );
    }
    for (const o of shown) {
      if (o.shownAs === "text" && PLACEHOLDER.test(o.text)) {
        problems.push(`${name}: cell ${cell} shows the placeholder "${o.text.trim()}" instead of a picture`);
      }
    }
  }
  problems.push(...page.consoleErrors.map((e) => `${name}: console error: ${e}`));
  problems.push(...page.exceptions.map((e) => `${name}: exception: ${e}`));
  problems.push(...page.foreignRequests.map((u) => `${name}: request off the server: ${u}`));
  return problems;
}
