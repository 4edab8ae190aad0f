/**
 * Choosing and setting up the tfjs backend.
 *
 * "auto" tries, in order: `@tensorflow/tfjs-node` (TensorFlow's C library), our native oneDNN backend
 * (lib/backend/native, built by `deno task build:native`), the wasm backend (with our training kernels), then cpu.
 * The environment variable `FACEMASK_BACKEND` replaces "auto" with a fixed choice; an explicit option wins over it.
 *
 * tfjs-node is optional and absent by default: its install script downloads libtensorflow, which this project's
 * machines cannot reach. A user who can install it enables it in two steps, after which "auto" picks it:
 *   1. add `"@tensorflow/tfjs-node": "npm:@tensorflow/tfjs-node@4.22.0"` to "imports" in deno.json
 *      (same version as tfjs, so that it registers on the same tfjs-core);
 *   2. run `deno install --allow-scripts=npm:@tensorflow/tfjs-node` (fetches libtensorflow and builds the binding).
 * Detection reads the import map and the file system only ({@link tfjsNodeStatus}); it never imports a package
 * that is not fully installed, so an absent tfjs-node costs about a millisecond and no network access.
 *
 * wasm runs the SIMD build on one thread. tfjs's multi-threaded build cannot start in Deno: tfjs sees `process`,
 * takes Deno for Node and turns threads off; forcing them on, Emscripten's Node path starts its pthread workers
 * with `node:worker_threads` from a `blob:` URL, which Deno refuses (ERR_WORKER_PATH), and the worker script is
 * CommonJS that reads the main script back from that blob with `fs`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { fileURLToPath } from "node:url";
import { registerWasmTrainingKernels } from "./wasm_kernels.ts";

/** Backends {@link setupBackend} can be asked for. */
export const BACKEND_CHOICES = ["auto", "tensorflow", "native", "wasm", "cpu"] as const;

/** A backend request: one of {@link BACKEND_CHOICES}. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Options of {@link setupBackend}. */
export interface SetupBackendOptions {
  /** Which backend; default "auto" (or `FACEMASK_BACKEND` when set). */
  backend?: BackendChoice;
  /** Threads for backends that take a count (native); others report what they use. */
  threads?: number;
  /**
   * Receives the one short line saying which backend runs and why (see {@link BackendInfo.summary}); default
   * `console.log`.
   */
  log?: (line: string) => void;
}

/** One backend tried during setup. */
export interface BackendAttempt {
  backend: string;
  ok: boolean;
  detail: string;
}

/** What {@link setupBackend} chose, for logs and run records. */
export interface BackendInfo {
  /** `tf.getBackend()` after setup. */
  name: string;
  /** The request after applying `FACEMASK_BACKEND` (e.g. "auto", "wasm"). */
  requested: string;
  /** Why this backend, in full: "tensorflow: @tensorflow/tfjs-node not installed (to use it: ...); native: ...". */
  reason: string;
  /**
   * The same in short, as printed at start-up after `backend: `, e.g. `native (oneDNN 2.6.3, 2 threads; tensorflow:
   * tfjs-node not installed)`: the backend, what it runs with, then why each earlier candidate was passed over.
   */
  summary: string;
  /** Every backend tried, in order. */
  attempts: BackendAttempt[];
  /** tfjs version. */
  tfjsVersion: string;
  /** Threads the backend computes with. */
  threads: number;
}

/** How to enable tfjs-node, quoted in messages. */
export const TFJS_NODE_HINT = 'add "@tensorflow/tfjs-node": "npm:@tensorflow/tfjs-node@' + tf.version.tfjs +
  '" to deno.json imports, then run `deno install --allow-scripts=npm:@tensorflow/tfjs-node`';

/** Result of {@link tfjsNodeStatus}: `url` is set only when the package can be imported without any download. */
export interface TfjsNodeStatus {
  ok: boolean;
  detail: string;
  url?: string;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `@tensorflow/tfjs-node` is installed and loadable, found without importing it: the specifier must be in
 * the import map and resolve into node_modules, whose package must hold its native binding
 * (`lib/napi-v<N>/tfjs_binding.node`) and match the tfjs version. `resolve` defaults to `import.meta.resolve`.
 */
export function tfjsNodeStatus(resolve: (specifier: string) => string = (s) => import.meta.resolve(s)): TfjsNodeStatus {
  let url: string;
  try {
    url = resolve("@tensorflow/tfjs-node");
  } catch {
    return { ok: false, detail: `@tensorflow/tfjs-node not installed (to use it: ${TFJS_NODE_HINT})` };
  }
  if (!url.startsWith("file:")) {
    return {
      ok: false,
      detail: `@tensorflow/tfjs-node is in the import map but not in node_modules (${url}); importing it would ` +
        "download it: run `deno install --allow-scripts=npm:@tensorflow/tfjs-node`",
    };
  }
  let dir = fileURLToPath(url);
  while (!dir.endsWith("/@tensorflow/tfjs-node") && dir.includes("/")) dir = dir.slice(0, dir.lastIndexOf("/"));
  if (!dir.endsWith("/@tensorflow/tfjs-node")) {
    return { ok: false, detail: `@tensorflow/tfjs-node resolves outside a package folder: ${url}` };
  }
  let version = "?";
  try {
    version = JSON.parse(Deno.readTextFileSync(`${dir}/package.json`)).version;
  } catch {
    return { ok: false, detail: `@tensorflow/tfjs-node at ${dir} has no readable package.json` };
  }
  if (version !== tf.version.tfjs) {
    return {
      ok: false,
      detail: `@tensorflow/tfjs-node ${version} does not match tfjs ${tf.version.tfjs} (it would register on another ` +
        "tfjs-core)",
    };
  }
  let binding = false;
  try {
    for (const entry of Deno.readDirSync(`${dir}/lib`)) {
      if (entry.name.startsWith("napi-v") && exists(`${dir}/lib/${entry.name}/tfjs_binding.node`)) binding = true;
    }
  } catch {
    binding = false;
  }
  if (!binding) {
    return {
      ok: false,
      detail: `@tensorflow/tfjs-node ${version} is installed without its native binding (its install script ` +
        "downloads libtensorflow): run `deno install --allow-scripts=npm:@tensorflow/tfjs-node`",
    };
  }
  return { ok: true, detail: `@tensorflow/tfjs-node ${version} with its binding`, url };
}

function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

function hardwareThreads(): number {
  return typeof navigator !== "undefined" && navigator.hardwareConcurrency ? navigator.hardwareConcurrency : 1;
}

interface Outcome {
  ok: boolean;
  detail: string;
  threads: number;
  /** A few words for the start-up line, when they are not derived from `detail` ({@link shortDetail}). */
  short?: string;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * A few words of a failure's `detail` for the start-up line: its first clause (up to " (" or "; "), file
 * paths cut to their base name, and without the backend's name that the line already shows.
 */
export function shortDetail(backend: string, detail: string): string {
  const first = detail.split(/ \(|; /)[0].replace(/(?:\/[^\s/]+)+\/([^\s/]+)/g, "$1");
  const words = first.replace("@tensorflow/tfjs-node", "tfjs-node").replace(
    new RegExp(`^${backend} (backend:? )?`),
    "",
  );
  return words.length > 60 ? `${words.slice(0, 57)}...` : words;
}

async function activate(name: string): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

async function tryTensorflow(): Promise<Outcome> {
  const status = tfjsNodeStatus();
  if (!status.ok || !status.url) return { ok: false, detail: status.detail, threads: 0 };
  try {
    await import(status.url);
  } catch (e) {
    return { ok: false, detail: `@tensorflow/tfjs-node failed to load: ${(e as Error).message}`, threads: 0 };
  }
  if (!(await activate("tensorflow"))) {
    return { ok: false, detail: "@tensorflow/tfjs-node loaded but the 'tensorflow' backend did not start", threads: 0 };
  }
  const threads = hardwareThreads();
  return { ok: true, detail: status.detail, threads, short: `${status.detail.split(" with ")[0]}, ${threads} threads` };
}

/** The part of lib/backend/native/mod.ts this module uses; imported by a computed name so its absence is not fatal. */
interface NativeModule {
  loadNative(options: { threads?: number }): Promise<{ ok: true; backendName: string } | { ok: false; reason: string }>;
  nativeAddon(): { version(): string } | null;
}

async function tryNative(threads: number | undefined): Promise<Outcome> {
  let m: NativeModule;
  try {
    const specifier = "./native/mod.ts";
    m = await import(specifier);
  } catch (e) {
    return { ok: false, detail: `native backend not built (${(e as Error).message.split("\n")[0]})`, threads: 0 };
  }
  let result;
  try {
    result = await m.loadNative({ threads });
  } catch (e) {
    return { ok: false, detail: `native backend failed to load: ${(e as Error).message}`, threads: 0 };
  }
  if (!result.ok) return { ok: false, detail: result.reason, threads: 0 };
  if (!(await activate(result.backendName))) {
    return { ok: false, detail: `native backend '${result.backendName}' registered but did not start`, threads: 0 };
  }
  const fromEnv = Number(envValue("SSD_NATIVE_THREADS"));
  const used = threads ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : hardwareThreads());
  let version = "oneDNN";
  try {
    version = m.nativeAddon()?.version() ?? version;
  } catch {
    // An addon without a version call still runs; the line just says less.
  }
  return {
    ok: true,
    detail: `oneDNN addon loaded, ${used} thread(s)`,
    threads: used,
    short: `${version}, ${plural(used, "thread")}`,
  };
}

async function tryWasm(): Promise<Outcome> {
  if (!(await activate("wasm"))) return { ok: false, detail: "the wasm backend failed to initialise", threads: 0 };
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return {
    ok: true,
    short: `${simd ? "SIMD" : "no SIMD"}, 1 thread`,
    detail: `${simd ? "SIMD" : "plain"} build, 1 thread (the threaded build cannot start in Deno), training kernels ` +
      "registered",
    threads: 1,
  };
}

async function tryCpu(): Promise<Outcome> {
  if (!(await activate("cpu"))) return { ok: false, detail: "the cpu backend failed to initialise", threads: 0 };
  return { ok: true, detail: "plain JavaScript kernels (slow)", threads: 1, short: "plain JavaScript, slow" };
}

const ORDER = ["tensorflow", "native", "wasm", "cpu"] as const;

let last: { key: string; info: BackendInfo } | null = null;

/**
 * Sets up tfjs on the requested backend (see the module notes for "auto") and returns what it chose; logs one
 * line saying which backend runs and why. A forced backend that cannot start is an error that says why and how to
 * get it. Calling it again with the same request returns the same answer without setting anything up again.
 *
 * ```ts
 * import { setupBackend } from "ssdv2";
 * const info = await setupBackend(); // "auto" (or FACEMASK_BACKEND); logs the line below
 * // backend: native (oneDNN 2.6.3, 2 threads; tensorflow: tfjs-node not installed)
 * console.log(info.name, info.threads); // "native" 2 once `deno task build:native` has run, else wasm or cpu
 * // setupBackend({ backend: "wasm" }) forces one: if it cannot start, the error says why and how to get it.
 * ```
 */
export async function setupBackend(options: SetupBackendOptions = {}): Promise<BackendInfo> {
  let requested: string = options.backend ?? "auto";
  if (!(BACKEND_CHOICES as readonly string[]).includes(requested)) {
    throw new Error(`setupBackend: unknown backend '${requested}' (expected one of ${BACKEND_CHOICES.join(", ")})`);
  }
  const fromEnv = envValue("FACEMASK_BACKEND");
  if (requested === "auto" && fromEnv !== undefined && fromEnv !== "") {
    if (!(BACKEND_CHOICES as readonly string[]).includes(fromEnv)) {
      throw new Error(`FACEMASK_BACKEND='${fromEnv}' is not a backend (expected one of ${BACKEND_CHOICES.join(", ")})`);
    }
    requested = fromEnv;
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads > 0)) {
    throw new Error(`setupBackend: threads must be a positive integer, got ${options.threads}`);
  }
  const key = `${requested}|${options.threads ?? ""}`;
  if (last && last.key === key && tf.getBackend() === last.info.name) return last.info;

  // Before native: it copies the wasm kernel table when it loads, ours included.
  registerWasmTrainingKernels();
  const candidates = requested === "auto" ? ORDER : [requested as (typeof ORDER)[number]];
  const attempts: BackendAttempt[] = [];
  let chosen: Outcome | null = null;
  for (const backend of candidates) {
    const outcome = backend === "tensorflow"
      ? await tryTensorflow()
      : backend === "native"
      ? await tryNative(options.threads)
      : backend === "wasm"
      ? await tryWasm()
      : await tryCpu();
    attempts.push({ backend, ok: outcome.ok, detail: outcome.detail });
    if (outcome.ok) {
      chosen = outcome;
      break;
    }
  }
  if (!chosen) {
    const why = attempts.map((a) => `${a.backend}: ${a.detail}`).join("; ");
    throw new Error(`setupBackend: backend '${requested}' is not available: ${why}`);
  }
  const failed = attempts.filter((a) => !a.ok);
  const ran = attempts[attempts.length - 1];
  // A request of "auto" (given or by default) that became another backend was changed by FACEMASK_BACKEND.
  const byEnv = (options.backend ?? "auto") === "auto" && requested !== "auto";
  const reason = requested === "auto"
    ? [...failed.map((a) => `${a.backend}: ${a.detail}`), `${ran.backend}: ${ran.detail}`].join("; ")
    : `forced (${byEnv ? "FACEMASK_BACKEND" : "option"}); ${ran.detail}`;
  const summary = `${tf.getBackend()} (${
    [
      ...(requested === "auto" ? [] : [byEnv ? `FACEMASK_BACKEND=${requested}` : "forced"]),
      chosen.short ?? shortDetail(ran.backend, ran.detail),
      ...failed.map((a) => `${a.backend}: ${shortDetail(a.backend, a.detail)}`),
    ].join("; ")
  })`;
  const info: BackendInfo = {
    name: tf.getBackend(),
    requested,
    reason,
    summary,
    attempts,
    tfjsVersion: tf.version.tfjs,
    threads: chosen.threads,
  };
  last = { key, info };
  (options.log ?? console.log)(`backend: ${summary}`);
  return info;
}

/** One line describing `info` for run records and logs. */
export function describeBackend(info: BackendInfo): string {
  return `${info.name} (requested ${info.requested}; tfjs ${info.tfjsVersion}; ${info.threads} thread(s)): ${info.reason}`;
}
