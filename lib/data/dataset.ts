/**
 * Data sets in AIZOO's layout: `<root>/<split>/<name>.jpg|png` beside `<name>.xml`. {@link scanSplit} pairs the
 * files, decodes each image's header (or the whole image, with `verify`) and reads its VOC file, returning the
 * usable records and every problem found; {@link resolveData} finds the data to use; {@link dataChecksum} fingerprints
 * it for provenance.
 *
 * A sample with any error (bad image, bad XML, one bad box) is left out whole: keeping it without the bad box would
 * teach the model that a face there is background.
 * @module
 */

import { createHash } from "node:crypto";
import type { Box } from "../types.ts";
import { generateDataset } from "./generate.ts";
import { imageInfo } from "./image.ts";
import { DataError, type DataProblem } from "./problems.ts";
import { readVocXml } from "./voc.ts";

export type { DataProblem } from "./problems.ts";

/** One usable annotated image of a split. */
export interface DataRecord {
  /** File stem, unique within its split. */
  id: string;
  split: string;
  imagePath: string;
  xmlPath: string;
  /** Width of the decoded image in pixels. */
  width: number;
  /** Height of the decoded image in pixels. */
  height: number;
  /** Normalised corner boxes, clipped to [0, 1]. */
  boxes: Box[];
  /** Class id of each box (1 = face_mask, 2 = face). */
  labels: number[];
  /** VOC `difficult` flag of each box. */
  difficult: boolean[];
}

/** Options of {@link scanSplit}. */
export interface ScanOptions {
  /** Decode every image fully, so corrupt or truncated bodies are found (about 3-4x slower than headers only). */
  verify?: boolean;
  /** Files read at once (8 by default). */
  concurrency?: number;
}

/** What {@link scanSplit} found. */
export interface ScanResult {
  records: DataRecord[];
  problems: DataProblem[];
}

const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"];

function splitName(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? { stem: name, ext: "" } : { stem: name.slice(0, dot), ext: name.slice(dot).toLowerCase() };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** Runs `fn` over `items` with at most `limit` calls pending; results keep the items' order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Reads one split folder: pairs images with XML files by name stem, checks both, and returns the usable records
 * (sorted by id) and every problem (file + problem + severity). Missing or empty split folders, images without XML,
 * XML without an image and several images with one stem are errors; files that are neither images nor XML are
 * warnings and are ignored; hidden files are ignored silently.
 *
 * ```ts
 * import { resolveData, scanSplit } from "ssdv2";
 * const { root } = await resolveData(); // FACEMASK_DATA, ...
 * const { records, problems } = await scanSplit(root, "val");
 * for (const p of problems) console.log(p.severity, p.file, p.problem); // nothing on AIZOO's val split
 * console.log(records.length, records[0].labels, records[0].boxes[0]); // 930 [ 2 ] [x1, y1, x2, y2] in [0, 1]
 * ```
 */
export async function scanSplit(root: string, split: string, options: ScanOptions = {}): Promise<ScanResult> {
  const dir = `${root.replace(/\/+$/, "")}/${split}`;
  const problems: DataProblem[] = [];
  const records: DataRecord[] = [];
  if (!(await isDirectory(dir))) {
    problems.push({ file: dir, problem: "split folder does not exist", severity: "error" });
    return { records, problems };
  }
  const images = new Map<string, string[]>();
  const xmls = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".")) continue;
    const path = `${dir}/${entry.name}`;
    if (!entry.isFile) {
      problems.push({ file: path, problem: "ignored: not a regular file", severity: "warning" });
      continue;
    }
    const { stem, ext } = splitName(entry.name);
    if (ext === ".xml") xmls.set(stem, path);
    else if (IMAGE_EXTENSIONS.includes(ext)) images.set(stem, [...(images.get(stem) ?? []), path]);
    else problems.push({ file: path, problem: "ignored: neither an image nor an XML file", severity: "warning" });
  }
  if (images.size === 0 && xmls.size === 0) {
    problems.push({ file: dir, problem: "empty split folder: no images and no XML files", severity: "error" });
    return { records, problems };
  }

  const pairs: { stem: string; image: string; xml: string }[] = [];
  for (const [stem, paths] of images) {
    const xml = xmls.get(stem);
    if (paths.length > 1) {
      problems.push({
        file: paths.sort().join(", "),
        problem: `several images share the name stem '${stem}'; cannot tell which one ${stem}.xml describes`,
        severity: "error",
      });
    } else if (xml === undefined) {
      problems.push({
        file: paths[0],
        problem: `image has no XML annotation beside it (${stem}.xml)`,
        severity: "error",
      });
    } else {
      pairs.push({ stem, image: paths[0], xml });
    }
  }
  for (const [stem, xml] of xmls) {
    if (!images.has(stem)) {
      problems.push({
        file: xml,
        problem: `XML has no image beside it (looked for ${stem} with ${IMAGE_EXTENSIONS.join(" ")})`,
        severity: "error",
      });
    }
  }
  pairs.sort((a, b) => (a.stem < b.stem ? -1 : a.stem > b.stem ? 1 : 0));

  const results = await mapLimit(pairs, options.concurrency ?? 8, async (pair) => {
    const found: DataProblem[] = [];
    let size: { width: number; height: number } | undefined;
    try {
      const info = await imageInfo(pair.image, { verify: options.verify });
      size = { width: info.width, height: info.height };
    } catch (e) {
      const err = e instanceof DataError ? e : new DataError(pair.image, String(e));
      found.push({ file: pair.image, problem: err.problem, severity: "error" });
    }
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(pair.xml);
    } catch (e) {
      found.push({ file: pair.xml, problem: `cannot read file (${(e as Error).message})`, severity: "error" });
    }
    if (text === undefined) return { found, record: null };
    // Without a decoded size the XML is still checked on its own, so a checker lists its problems too.
    const voc = readVocXml(text, { file: pair.xml, imageSize: size });
    found.push(...voc.problems);
    if (size === undefined || voc.annotation === null || found.some((p) => p.severity === "error")) {
      return { found, record: null };
    }
    const { width, height, objects } = voc.annotation;
    const record: DataRecord = {
      id: pair.stem,
      split,
      imagePath: pair.image,
      xmlPath: pair.xml,
      width,
      height,
      boxes: objects.map((o) => [o.box[0] / width, o.box[1] / height, o.box[2] / width, o.box[3] / height]),
      labels: objects.map((o) => o.classId),
      difficult: objects.map((o) => o.difficult),
    };
    return { found, record };
  });
  for (const r of results) {
    problems.push(...r.found);
    if (r.record) records.push(r.record);
  }
  return { records, problems };
}

/** Lists the split folders of a data root (its non-hidden subfolders), sorted. */
export async function listSplits(root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(root)) if (e.isDirectory && !e.name.startsWith(".")) out.push(e.name);
  return out.sort();
}

/** Where the data came from and how to describe it in every output. */
export interface DataSource {
  /** The data root (holding `train/` and `val/`). */
  root: string;
  source: "flag" | "env" | "default" | "generated";
  /** True when the data is generated, so results must say so. */
  generated: boolean;
  /** One line for logs and reports. */
  description: string;
}

/** Settings of the generated fallback data set (fixed, so every fresh clone makes the same files). */
export const GENERATED_DEFAULTS = { seed: 20240, train: 400, val: 100 } as const;

/** Options of {@link resolveData}. */
export interface ResolveOptions {
  /** The `--data` option, which wins over everything. */
  data?: string;
  /** The environment's value; read from `FACEMASK_DATA` when undefined, ignored when null. */
  env?: string | null;
  /** The default folder (`<repo>/data/aizoo-facemask`); an option for tests. */
  defaultRoot?: string;
  /** Where generated data lives (`<repo>/data/generated`); an option for tests. */
  generatedRoot?: string;
  /** Size of the generated set; {@link GENERATED_DEFAULTS} when absent. */
  generatedCounts?: { seed: number; train: number; val: number };
}

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

async function requireDir(path: string, what: string): Promise<string> {
  if (!(await isDirectory(path))) throw new DataError(path, `${what} is not an existing folder`);
  return path.replace(/\/+$/, "");
}

/**
 * Finds the data to use, in order: `--data`, else `FACEMASK_DATA`, else `<repo>/data/aizoo-facemask`, else a
 * generated set under `<repo>/data/generated/`, written once (deterministically) and reused when complete. A named
 * folder that does not exist is an error rather than a silent fallback.
 *
 * ```ts
 * import { resolveData } from "ssdv2";
 * const data = await resolveData(); // FACEMASK_DATA, else data/aizoo-facemask, else data/generated/ (made once)
 * console.log(data.description); // "data at /work/shared/datasets/aizoo-facemask (from FACEMASK_DATA)"
 * if (data.generated) console.log("synthetic pictures: every number must say so");
 * const named = await resolveData({ data: "../aizoo-val1497" }); // `--data` wins; a missing folder throws
 * ```
 */
export async function resolveData(options: ResolveOptions = {}): Promise<DataSource> {
  if (options.data) {
    const root = await requireDir(options.data, "--data");
    return { root, source: "flag", generated: false, description: `data at ${root} (from --data)` };
  }
  const env = options.env === undefined ? Deno.env.get("FACEMASK_DATA") : options.env;
  if (env) {
    const root = await requireDir(env, "FACEMASK_DATA");
    return { root, source: "env", generated: false, description: `data at ${root} (from FACEMASK_DATA)` };
  }
  const defaultRoot = options.defaultRoot ?? `${REPO_ROOT}/data/aizoo-facemask`;
  if (await isDirectory(defaultRoot)) {
    return { root: defaultRoot, source: "default", generated: false, description: `data at ${defaultRoot} (default)` };
  }
  const counts = options.generatedCounts ?? GENERATED_DEFAULTS;
  const root = await ensureGenerated(options.generatedRoot ?? `${REPO_ROOT}/data/generated`, counts);
  return {
    root,
    source: "generated",
    generated: true,
    description: `GENERATED synthetic scenes at ${root} (seed ${counts.seed}, ${counts.train} train / ${counts.val} ` +
      `val images; no real data found: pass --data or set FACEMASK_DATA)`,
  };
}

/**
 * Makes sure a complete generated set with these settings is at `root`; writes it into a temporary sibling first
 * and renames it into place, so a crash or a second process never leaves a half-written set that looks complete.
 */
async function ensureGenerated(root: string, counts: { seed: number; train: number; val: number }): Promise<string> {
  const marker = `${root}/COMPLETE.json`;
  const want = JSON.stringify(counts);
  try {
    if ((await Deno.readTextFile(marker)).trim() === want) return root;
  } catch {
    // absent: generate below
  }
  const parent = root.replace(/\/[^/]*$/, "") || "/";
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: ".generated_tmp_" });
  try {
    await generateDataset(tmp, counts);
    await Deno.writeTextFile(`${tmp}/COMPLETE.json`, want);
    try {
      if (await isDirectory(root)) await Deno.remove(root, { recursive: true });
      await Deno.rename(tmp, root);
    } catch (e) {
      // Another process may have finished first; its set is identical, so use it.
      const done = await Deno.readTextFile(marker).catch(() => "");
      if (done.trim() !== want) throw e;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  return root;
}

/** Options of {@link dataChecksum}. */
export interface ChecksumOptions {
  /** Only these split folders (all files under the root when absent). */
  splits?: string[];
}

/**
 * SHA-256 over every regular file under the root (or under the given splits): for each file in sorted order of its
 * relative path, the path, a NUL, its byte length, a NUL, then its bytes. Hidden files are skipped. Hex string.
 */
export async function dataChecksum(root: string, options: ChecksumOptions = {}): Promise<string> {
  const base = root.replace(/\/+$/, "");
  const files: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${base}/${rel}` : base)) {
      if (e.name.startsWith(".")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(r);
      else if (e.isFile) files.push(r);
    }
  };
  if (options.splits) {
    for (const s of options.splits) await requireDir(`${base}/${s}`, "split folder").then(() => walk(s));
  } else {
    await walk("");
  }
  files.sort();
  const hash = createHash("sha256");
  const enc = new TextEncoder();
  for (const rel of files) {
    const bytes = await Deno.readFile(`${base}/${rel}`);
    hash.update(enc.encode(`${rel}\0${bytes.length}\0`));
    hash.update(bytes);
  }
  return hash.digest("hex");
}
