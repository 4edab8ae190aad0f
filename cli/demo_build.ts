/**
 * `deno task demo:build [<run-dir>] [--out DIR] [--weights NAME]`: (re)makes the browser demo folder
 * (results/demo by default): the run's model exported as a portable TF.js layers model into `model/`, the TF.js
 * browser bundles copied from node_modules into `vendor/` (tf.min.js, the wasm backend bundle and its three .wasm
 * files), and a README.md saying how to serve the folder and which run and weights it holds. The page itself
 * (index.html, demo.js, resize.js) is source kept in results/demo; with another `--out` it is copied there. The run
 * folder is only read.
 * @module
 */
import { relative } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { type Io, parseCommandArgs } from "./command_args.ts";
import { exportTfjs, TFJS_SHARD } from "../lib/export/tfjs.ts";
import type { PortableMetadata } from "../lib/export/source.ts";
import { writeFileAtomic } from "../lib/runs/files.ts";

/** The committed run the demo ships by default (Table 2's 4-branch model). */
export const DEFAULT_RUN = "results/ablation/branches-4-20261129-122037";

/** The page's own files, kept in results/demo. */
export const PAGE_FILES = ["index.html", "demo.js", "resize.js"] as const;

/** TF.js version the vendored bundles must have (deno.json pins it). */
export const TFJS_VERSION = "4.22.0";

/** Files copied into `vendor/`: package (under node_modules) and path inside it. */
export const VENDOR_FILES: readonly { pkg: string; file: string }[] = [
  { pkg: "@tensorflow/tfjs", file: "dist/tf.min.js" },
  { pkg: "@tensorflow/tfjs-backend-wasm", file: "dist/tf-backend-wasm.min.js" },
  { pkg: "@tensorflow/tfjs-backend-wasm", file: "dist/tfjs-backend-wasm.wasm" },
  { pkg: "@tensorflow/tfjs-backend-wasm", file: "dist/tfjs-backend-wasm-simd.wasm" },
  // Used only where the page is cross-origin isolated (SharedArrayBuffer); a plain static server never is.
  { pkg: "@tensorflow/tfjs-backend-wasm", file: "dist/tfjs-backend-wasm-threaded-simd.wasm" },
];

const HELP = `usage: deno task demo:build [<run-dir>] [--out DIR] [--weights NAME]

Makes the offline browser demo: DIR/model (the run's weights as a TF.js layers model, deno task export --format
tfjs), DIR/vendor (TF.js ${TFJS_VERSION} browser bundles and wasm files from node_modules) and DIR/README.md. The page
(index.html, demo.js, resize.js) lives in results/demo and is copied when DIR is another folder.

  <run-dir>        a trained run folder (default ${DEFAULT_RUN})
  --out DIR        the demo folder (default results/demo)
  --weights NAME   weights folder inside the run: model (default) or model_best
  -h, --help       this text

Serve the folder with any static server, e.g. python3 -m http.server -d results/demo 8000, and open
http://localhost:8000/ (module scripts and fetch do not work from file://).`;

/** Where the repository's node_modules and results/demo are, found from this module. */
const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Options of {@link buildDemo}. */
export interface BuildDemoOptions {
  /** Weights folder inside the run (default `model`). */
  weights?: string;
  /** The repository's node_modules (default: next to deno.json). */
  nodeModules?: string;
  /** Where the page's sources are (default results/demo). */
  pageDir?: string;
}

/** What {@link buildDemo} made. */
export interface DemoBuild {
  dir: string;
  metadata: PortableMetadata;
  /** Bytes per file written or copied, by path relative to `dir`. */
  files: Record<string, number>;
}

async function readOrFail(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read ${what} (${(e as Error).message})`);
  }
}

/** The demo's README: how to serve it, which run and weights it holds, what the page does. */
export function demoReadme(meta: PortableMetadata, files: Record<string, number>): string {
  const o = meta.origin as Record<string, unknown>;
  const a = meta.architecture;
  const e = meta.eval;
  const weights = o.which === "best"
    ? `epoch ${o.epoch}, the epoch selected on the validation split (val mAP ${Number(o.valMap).toFixed(4)}, ` +
      "measured on that same split, so an optimistic figure), not the run's last epoch"
    : `epoch ${o.epoch ?? "?"}`;
  const generated = Object.entries(files).filter(([f]) => f.includes("/")).sort(([x], [y]) => x < y ? -1 : 1);
  const total = generated.reduce((n, [, b]) => n + b, 0);
  return [
    "# SSDv2 face-mask detector in the browser",
    "",
    `A static page that runs the detector on an image you pick or drop, offline: TF.js ${TFJS_VERSION}, its`,
    "WebAssembly backend and the model are all in this folder; nothing is fetched from elsewhere.",
    "",
    "## Serve it",
    "",
    "Module scripts and `fetch` do not work from `file://`, so serve the folder with any static server:",
    "",
    "    python3 -m http.server -d results/demo 8000",
    "",
    "and open <http://localhost:8000/>. The page tries the webgl backend, then wasm, then cpu, and shows which one",
    "runs; `?backend=wasm` (or `webgl`, `cpu`) in the address asks for one.",
    "",
    "## What it holds",
    "",
    `- Run: \`${o.run}\` (${o.name}, experiment ${o.experiment}; trunk ${a.trunk}, ${a.branches} branches, ` +
    `width ${a.width}).`,
    `- Weights: ${weights}.`,
    `- Model: \`model/model.json\` + \`model/${TFJS_SHARD}\`, a TF.js layers model of standard layers`,
    `  (\`deno task export ${o.run} --format tfjs\`). Its \`userDefinedMetadata\` holds the prior config`,
    `  (${meta.priors.count} priors), the variances [${meta.variances.join(", ")}], the class names and the decoding`,
    `  settings (score > ${e.scoreThreshold}, NMS IoU ${e.nmsIou}, top ${e.topK}, pre-NMS top ${e.preNmsTopK}).`,
    "",
    "## What the page does",
    "",
    "`demo.js` decodes the image at full size, resizes it to the model input with `resize.js` (a port of the",
    "libvips lanczos3 resize that sharp applies in `deno task detect`; bit-identical on the validation images),",
    "scales the values to pixel / 255 - 0.5, runs the model and decodes the boxes as lib/detect does (priors",
    "generated from the metadata, softmax, per-class NMS, top-k). It draws the detections scoring 0.5 or more",
    "(face_mask green, face red), shows the time per image and lists the boxes in image pixels. EXIF orientation is",
    "ignored, as sharp ignores it. JPEGs at least 3x the model input on both axes are decoded at reduced scale",
    "inside libjpeg by sharp, which a browser cannot do: for those the page comes close to `deno task detect`, not",
    "exactly.",
    "",
    `Rebuild with \`deno task demo:build ${o.run}\` (the page's own files, index.html, demo.js and`,
    "resize.js, are sources kept here). `cli/demo_test.ts` checks the page in headless Chromium against",
    "lib/inference on the same image.",
    "",
    `## Generated files (${(total / 1048576).toFixed(2)} MiB)`,
    "",
    ...generated.map(([f, n]) => `- \`${f}\` (${n} bytes)`),
    "",
  ].join("\n");
}

/**
 * Exports `runDir` into `outDir/model`, copies the TF.js bundles into `outDir/vendor`, the page into `outDir` when
 * it is not the page's own folder, and writes `outDir/README.md`. Stale files in `model/` and `vendor/` are removed.
 */
export async function buildDemo(runDir: string, outDir: string, options: BuildDemoOptions = {}): Promise<DemoBuild> {
  const dir = outDir.replace(/\/+$/, "");
  const nodeModules = options.nodeModules ?? `${REPO}/node_modules`;
  const pageDir = (options.pageDir ?? `${REPO}/results/demo`).replace(/\/+$/, "");
  const files: Record<string, number> = {};
  // Everything is read before anything is written, so a missing input leaves the folder as it was.
  const vendor: { name: string; bytes: Uint8Array }[] = [];
  for (const { pkg, file } of VENDOR_FILES) {
    const pkgJson = `${nodeModules}/${pkg}/package.json`;
    const version = JSON.parse(new TextDecoder().decode(await readOrFail(pkgJson, `${pkg}'s package.json`))).version;
    if (version !== TFJS_VERSION) {
      throw new Error(`${pkgJson}: version ${version}, the demo vendors ${TFJS_VERSION} (run deno install)`);
    }
    vendor.push({
      name: file.slice(file.lastIndexOf("/") + 1),
      bytes: await readOrFail(`${nodeModules}/${pkg}/${file}`, pkg),
    });
  }
  const samePage = await Deno.realPath(pageDir).catch(() => pageDir) ===
    await Deno.realPath(dir).catch(() => dir);
  const page: { name: string; bytes: Uint8Array }[] = [];
  for (const name of PAGE_FILES) {
    page.push({ name, bytes: await readOrFail(`${pageDir}/${name}`, "a page file of the demo") });
  }
  // No backend set up yet: the export only copies weights, which the always-present cpu backend does. (Asking
  // tf.backend() would start the highest-priority one, asynchronously.)
  if (!tf.getBackend()) await tf.setBackend("cpu");
  await Deno.mkdir(dir, { recursive: true });
  // The export goes to a fresh folder first: a run that cannot be exported leaves the old model in place.
  const staging = await Deno.makeTempDir({ dir, prefix: ".model-" });
  let exported;
  try {
    exported = await exportTfjs(runDir, staging, { weights: options.weights });
    await Deno.remove(`${dir}/model`, { recursive: true }).catch(() => {});
    await Deno.rename(staging, `${dir}/model`);
    // makeTempDir creates the folder private; a static server may run as another user.
    await Deno.chmod(`${dir}/model`, 0o755);
  } catch (e) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    throw e;
  }
  for (const name of ["model.json", TFJS_SHARD]) {
    files[`model/${name}`] = (await Deno.stat(`${dir}/model/${name}`)).size;
  }
  await Deno.remove(`${dir}/vendor`, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/vendor`, { recursive: true });
  for (const v of vendor) {
    await Deno.writeFile(`${dir}/vendor/${v.name}`, v.bytes);
    files[`vendor/${v.name}`] = v.bytes.length;
  }
  for (const p of page) {
    if (!samePage) await writeFileAtomic(`${dir}/${p.name}`, p.bytes);
    files[p.name] = p.bytes.length;
  }
  const readme = demoReadme(exported.metadata, files);
  await writeFileAtomic(`${dir}/README.md`, readme);
  files["README.md"] = new TextEncoder().encode(readme).length;
  return { dir, metadata: exported.metadata, files };
}

const CONSOLE: Io = { log: (l) => console.log(l), error: (l) => console.error(l) };

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[], io: Io = CONSOLE): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "demo:build",
    help: HELP,
    allowPositionals: true,
    options: { out: { type: "string" }, weights: { type: "string" } },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    io.error(`demo:build: give at most one run folder, got ${positionals.length} (deno task demo:build --help)`);
    return 2;
  }
  const runDir = (positionals[0] ?? DEFAULT_RUN).replace(/\/+$/, "");
  // Export needs no fast kernels; PROD keeps tfjs' banner out of the output.
  tf.env().set("PROD", true);
  await tf.setBackend("cpu");
  try {
    const res = await buildDemo(runDir, values.out ?? `${REPO}/results/demo`, { weights: values.weights });
    const total = Object.values(res.files).reduce((a, b) => a + b, 0);
    const o = res.metadata.origin;
    io.log(
      `demo:build: wrote ${relative(Deno.cwd(), res.dir) || "."} (${
        Object.keys(res.files).length
      } files, ${total} bytes) from ${runDir}, ` +
        `weights of epoch ${o.epoch ?? "?"}${o.which === "best" ? " (selected on validation)" : ""}`,
    );
    io.log(
      `serve it: python3 -m http.server -d ${
        relative(Deno.cwd(), res.dir) || "."
      } 8000, then open http://localhost:8000/`,
    );
    return 0;
  } catch (e) {
    io.error(`demo:build: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
