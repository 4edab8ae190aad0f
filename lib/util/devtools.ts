/**
 * Loads a page in headless Chromium over the DevTools protocol and reports what went wrong there: console errors,
 * uncaught exceptions, failed loads and requests that left the machine. The report page must work offline, and
 * Chromium's plain `--enable-logging` output does not tell `console.error` from `console.log`, hence the protocol.
 * @module
 */

import { findOnPath } from "./paths.ts";

/** What {@link inspectPage} saw while the page loaded. */
export interface PageInspection {
  /** Text of every `console.error` / `console.assert` call and every error-level log entry. */
  consoleErrors: string[];
  /** Uncaught exceptions, with their description. */
  exceptions: string[];
  /** URLs requested with a scheme other than `file:`, `data:`, `blob:` or `about:` (the page must be offline). */
  networkRequests: string[];
  /** Value of `document.body.dataset.ready` once the page settled (`""` when never set). */
  ready: string;
  /** Result of `options.evaluate`, when given. */
  evaluated?: unknown;
  /** PNG bytes of the screenshot, when `options.screenshot` was set. */
  screenshot?: Uint8Array;
}

/** Options of {@link inspectPage}. */
export interface InspectOptions {
  /** Path of the Chromium binary; default: the first of `chromium`, `chromium-browser`, `google-chrome` on PATH. */
  chromium?: string;
  /** Viewport width in CSS pixels (default 1280). */
  width?: number;
  /** Viewport height in CSS pixels (default 2000). */
  height?: number;
  /** Capture a full-page PNG screenshot. */
  screenshot?: boolean;
  /** Milliseconds to wait for `document.body.dataset.ready` after the load event (default 15000). */
  readyTimeoutMs?: number;
  /** A JavaScript expression evaluated once the page settled; its JSON value (a promise's, awaited) is returned. */
  evaluate?: string;
  /** More Chromium switches, e.g. `--disable-software-rasterizer` to take WebGL away under `--disable-gpu`. */
  chromiumArgs?: string[];
}

/** Finds a Chromium binary on PATH, or `undefined` when there is none (callers then skip visibly). */
export function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    const path = findOnPath(name);
    if (path) return path;
  }
  return undefined;
}

type CdpMessage = { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: unknown };

/** A minimal DevTools protocol client over one page WebSocket. */
class CdpSession {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #listeners: ((m: CdpMessage) => void)[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as CdpMessage;
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`CDP error: ${JSON.stringify(msg.error)}`));
        else p?.resolve(msg.result);
      } else for (const l of this.#listeners) l(msg);
    };
  }

  static open(url: string): Promise<CdpSession> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new CdpSession(ws));
      ws.onerror = (e) => reject(new Error(`cannot open DevTools socket ${url}: ${(e as ErrorEvent).message ?? e}`));
    });
  }

  on(listener: (m: CdpMessage) => void): void {
    this.#listeners.push(listener);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  waitFor(method: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${method}`)),
        timeoutMs,
      );
      this.on((m) => {
        if (m.method === method) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ws.readyState === WebSocket.CLOSED) return resolve();
      this.#ws.onclose = () => resolve();
      this.#ws.close();
    });
  }
}

/** Reads Chromium's stderr until it prints its DevTools port. */
async function devToolsPort(stderr: ReadableStream<Uint8Array>, timeoutMs: number): Promise<number> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const m = text.match(/DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
    if (m) {
      // Keep draining stderr so Chromium never blocks on a full pipe.
      (async () => {
        try {
          while (!(await reader.read()).done) { /* discard */ }
        } catch { /* process ended */ }
      })();
      return Number(m[1]);
    }
  }
  throw new Error(`chromium did not report a DevTools port; its output was:\n${text.slice(-2000)}`);
}

function remoteObjectText(arg: Record<string, unknown>): string {
  if (arg.value !== undefined) return typeof arg.value === "string" ? arg.value : JSON.stringify(arg.value);
  return String(arg.description ?? arg.type ?? "");
}

/**
 * Opens `url` (e.g. `file:///.../index.html`) in a fresh headless Chromium profile, waits for the load event and
 * then for `document.body.dataset.ready` to be set (pages set it once their charts are drawn), and reports every
 * console error, exception and off-machine request seen on the way.
 */
export async function inspectPage(url: string, options: InspectOptions = {}): Promise<PageInspection> {
  const chromium = options.chromium ?? findChromium();
  if (!chromium) throw new Error("inspectPage: no chromium binary found on PATH");
  const width = options.width ?? 1280;
  const height = options.height ?? 2000;
  const profile = await Deno.makeTempDir({ prefix: "site_chromium_" });
  const child = new Deno.Command(chromium, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--allow-file-access-from-files",
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--window-size=${width},${height}`,
      ...(options.chromiumArgs ?? []),
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let session: CdpSession | undefined;
  try {
    const port = await devToolsPort(child.stderr, 30000);
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("chromium opened no page target");
    session = await CdpSession.open(page.webSocketDebuggerUrl);
    const report: PageInspection = { consoleErrors: [], exceptions: [], networkRequests: [], ready: "" };
    session.on((m) => {
      const p = m.params ?? {};
      if (m.method === "Runtime.consoleAPICalled" && (p.type === "error" || p.type === "assert")) {
        report.consoleErrors.push((p.args as Record<string, unknown>[]).map(remoteObjectText).join(" "));
      } else if (m.method === "Runtime.exceptionThrown") {
        const d = p.exceptionDetails as Record<string, unknown>;
        const ex = d.exception as Record<string, unknown> | undefined;
        report.exceptions.push(String(ex?.description ?? d.text));
      } else if (m.method === "Log.entryAdded") {
        const e = p.entry as Record<string, unknown>;
        if (e.level === "error") report.consoleErrors.push(`${e.source}: ${e.text} ${e.url ?? ""}`.trim());
      } else if (m.method === "Network.requestWillBeSent") {
        const reqUrl = String((p.request as Record<string, unknown>).url);
        if (!/^(file|data|blob|about):/.test(reqUrl)) report.networkRequests.push(reqUrl);
      }
    });
    await session.send("Runtime.enable");
    await session.send("Log.enable");
    await session.send("Network.enable");
    await session.send("Page.enable");
    await session.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    const loaded = session.waitFor("Page.loadEventFired", 60000);
    await session.send("Page.navigate", { url });
    await loaded;
    const deadline = Date.now() + (options.readyTimeoutMs ?? 15000);
    while (Date.now() < deadline) {
      const r = await session.send("Runtime.evaluate", {
        expression: "document.body ? (document.body.dataset.ready || '') : ''",
        returnByValue: true,
      }) as { result: { value: string } };
      report.ready = r.result.value;
      if (report.ready) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    if (options.evaluate) {
      const r = await session.send("Runtime.evaluate", {
        expression: options.evaluate,
        returnByValue: true,
        awaitPromise: true,
      }) as {
        result: { value: unknown };
        exceptionDetails?: { text?: string; exception?: { description?: string } };
      };
      if (r.exceptionDetails) {
        const d = r.exceptionDetails;
        report.exceptions.push(`evaluate: ${d.exception?.description ?? d.text ?? "exception"}`);
      } else report.evaluated = r.result.value;
    }
    if (options.screenshot) {
      const r = await session.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true }) as {
        data: string;
      };
      report.screenshot = Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
    }
    return report;
  } finally {
    try {
      await session?.close();
    } catch { /* browser already gone */ }
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
