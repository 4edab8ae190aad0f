/**
 * `deno task detect <run> <image|folder|glob>... [options]`: runs a trained detector (a run folder or a model folder,
 * lib/inference `loadDetector`) on images, folders of images and glob patterns; prints the boxes as JSON (pixels of
 * each original image), writes a copy of each image with the boxes drawn (face_mask green, face red, with scores),
 * and on request all detections as JSON (`--json`) or as COCO results (`--coco`) that `deno task metrics` scores.
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";
import {
  DEFAULT_MIN_SCORE,
  type DetectorFactory,
  type ImageResult,
  loadDetector,
  modelInputShape,
  type PixelDetection,
  type PreparedImage,
  prepareImage,
} from "../lib/inference/mod.ts";
import { BACKEND_CHOICES, type BackendChoice } from "../lib/backend/mod.ts";
import { type CocoDetectionJson, toCocoDetections } from "../lib/metrics/mod.ts";
import { writeJsonAtomic } from "../lib/runs/mod.ts";
import { CLASS_NAMES } from "../lib/types.ts";

const HELP = `usage: deno task detect <run> <image|folder|glob>... [options]

<run> is a run folder (config.json + model/) or a model folder (model.json + weights). Inputs are image files,
folders (the images directly inside, sorted by name) and glob patterns (*, ?, [abc], {a,b}, ** for any folders;
quote them so the shell leaves them alone), in the order given.

Prints [{image, width, height, drawn, detections: [{label, class, score, box: [x1, y1, x2, y2]}]}] as JSON (boxes in
pixels of each image, to 0.1 px) and writes <out>/<name>.detections.png with the boxes drawn (face_mask green, face
red, with scores). A progress line per image goes to stderr. Decoding follows the run's eval block (score threshold,
NMS IoU, top-k); --threshold only filters what is reported.

options:
  --threshold S      minimum score to report, draw and write (default 0.5, docs/design.md's display threshold; use 0
                     for files meant for mAP, which keeps every detection of the eval block)
  --out DIR          where the drawn copies go (default <run>/detections)
  --no-draw          do not write drawn copies
  --json FILE        write all detections (the printed array, boxes at full precision) to FILE
  --coco FILE        write COCO results [{image_id, category_id, bbox: [x, y, w, h], score}] to FILE: image_id is
                     the file name without extension, category_id 1 face_mask, 2 face (deno task data:coco writes
                     ground truth with the same ids; score both with deno task metrics)
  --backend NAME     tfjs backend (${BACKEND_CHOICES.join(", ")}; default: the run's config)
  -h, --help         this text

exit codes: 0 done, 1 an image or the run could not be read (the other images are still done), 2 bad arguments`;

/** Stroke colour per class id: face_mask green, face red. */
export const COLOURS: Readonly<Record<number, string>> = { 1: "#1a9850", 2: "#d73027" };

/** An SVG of the boxes with class and score, the size of the image it is drawn over. */
export function overlay(dets: readonly PixelDetection[], width: number, height: number): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 200));
  const font = Math.max(10, Math.round(Math.min(width, height) / 30));
  const parts = dets.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const c = COLOURS[d.label] ?? "#ffff00";
    const text = `${CLASS_NAMES[d.label]} ${(d.score * 100).toFixed(0)}%`;
    const ty = y1 > font + 2 ? y1 - 3 : y2 + font;
    return `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${c}" ` +
      `stroke-width="${stroke}"/><text x="${x1}" y="${ty}" font-family="sans-serif" font-size="${font}" ` +
      `fill="${c}" stroke="#000" stroke-width="0.5">${text}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join("")}</svg>`;
}

/** Extensions taken as images in folders and globs (those lib/data reads). */
export const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"];

function isImageName(name: string): boolean {
  const dot = name.lastIndexOf(".");
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** The file name without folder and extension: the image id of COCO files and of lib/data's records. */
export function imageIdOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? name : name.slice(0, dot);
}

const GLOB_CHARS = /[*?[{]/;

/**
 * One path segment of a glob as a regular expression: `*` any run of characters, `?` one character, `[abc]`,
 * `[a-z]` and `[!abc]` a class, `{a,b}` alternatives; everything else literal.
 */
export function globSegmentRegExp(segment: string): RegExp {
  let re = "";
  let depth = 0;
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = segment.slice(i + 1, end);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        re += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end;
      }
    } else if (ch === "{") {
      depth++;
      re += "(?:";
    } else if (ch === "}" && depth > 0) {
      depth--;
      re += ")";
    } else if (ch === "," && depth > 0) re += "|";
    else re += ch.replace(/[.+^$()|\\/\]}]/g, "\\$&");
  }
  if (depth > 0) throw new Error(`glob '${segment}': unclosed '{'`);
  return new RegExp(`^${re}$`);
}

async function listDir(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * The files a glob pattern matches, sorted. Segments are matched one folder level at a time; `**` matches any
 * number of folders (none included). Hidden files and folders match only a segment that starts with `.`.
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s, i) => s !== "" || i === 0 && !absolute);
  let dirs = [absolute ? "/" : "."];
  const join = (
    dir: string,
    name: string,
  ) => (dir === "." && !absolute ? name : dir === "/" ? `/${name}` : `${dir}/${name}`);
  const matches = new Set<string>();
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k];
    const last = k === segments.length - 1;
    if (seg === "**") {
      const all: string[] = [];
      const walk = async (dir: string) => {
        all.push(dir);
        for (const e of await listDir(dir)) if (e.isDirectory && !e.name.startsWith(".")) await walk(join(dir, e.name));
      };
      for (const d of dirs) await walk(d);
      if (last) {
        for (const d of all) {
          for (const e of await listDir(d)) if (e.isFile && !e.name.startsWith(".")) matches.add(join(d, e.name));
        }
      }
      dirs = [...new Set(all)];
      continue;
    }
    const next: string[] = [];
    if (!GLOB_CHARS.test(seg)) {
      for (const d of dirs) {
        const p = join(d, seg);
        const info = await statOrNull(p);
        if (info && (last ? info.isFile : info.isDirectory)) last ? matches.add(p) : next.push(p);
      }
    } else {
      const re = globSegmentRegExp(seg);
      for (const d of dirs) {
        for (const e of await listDir(d)) {
          if (e.name.startsWith(".") && !seg.startsWith(".")) continue;
          if (!re.test(e.name)) continue;
          const p = join(d, e.name);
          const info = e.isSymlink ? await statOrNull(p) : e;
          if (!info) continue;
          if (last && info.isFile) matches.add(p);
          else if (!last && info.isDirectory) next.push(p);
        }
      }
    }
    dirs = next;
  }
  return [...matches].sort();
}

/**
 * The image files of the command's inputs, in the order given: a file as is, a folder's images (sorted by name), a
 * glob's image files (sorted); a path met twice is kept once. Throws naming an input that exists nowhere or matches
 * nothing.
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const info = await statOrNull(input);
    if (info?.isFile) out.push(input);
    else if (info?.isDirectory) {
      const dir = input.length > 1 ? input.replace(/\/+$/, "") : input;
      const files = (await listDir(dir)).filter((e) => !e.name.startsWith(".") && isImageName(e.name));
      if (files.length === 0) throw new Error(`${input}: folder holds no images (${IMAGE_EXTENSIONS.join(" ")})`);
      out.push(...files.map((e) => `${dir}/${e.name}`));
    } else if (GLOB_CHARS.test(input)) {
      const files = (await expandGlob(input)).filter((p) => isImageName(p.slice(p.lastIndexOf("/") + 1)));
      if (files.length === 0) throw new Error(`${input}: no image files match`);
      out.push(...files);
    } else throw new Error(`${input}: no such file or folder`);
  }
  return [...new Set(out)];
}

/** Hooks of {@link main} for tests. */
export interface DetectHooks {
  /** Builds the network in place of lib/model's. */
  buildDetector?: DetectorFactory;
}

/** One image's record in the printed JSON. */
interface ImageRecord {
  image: string;
  width: number;
  height: number;
  drawn: string | null;
  detections: PixelDetection[];
}

const CONSOLE: Io = { log: (l) => console.log(l), error: (l) => console.error(l) };

/** Runs the command on `args`; returns the exit code. JSON goes to `io.log`, progress and errors to `io.error`. */
export async function main(args: string[], io: Io = CONSOLE, hooks: DetectHooks = {}): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "detect",
    help: HELP,
    allowPositionals: true,
    options: {
      threshold: { type: "string" },
      out: { type: "string" },
      "no-draw": { type: "boolean", default: false },
      json: { type: "string" },
      coco: { type: "string" },
      backend: { type: "string" },
    },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const { values, positionals } = parsed;
  if (positionals.length < 2) {
    return usageError(io, "detect", "give a run folder and at least one image, folder or glob");
  }
  const threshold = values.threshold === undefined ? DEFAULT_MIN_SCORE : Number(values.threshold);
  if (!(threshold >= 0 && threshold <= 1)) {
    return usageError(io, "detect", `--threshold must be a number in [0, 1], got ${values.threshold}`);
  }
  const backend = values.backend as string | undefined;
  if (backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(backend)) {
    return usageError(io, "detect", `--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${backend}`);
  }
  const [runArg, ...inputs] = positionals;
  const runDir = runArg.length > 1 ? runArg.replace(/\/+$/, "") : runArg;

  let files: string[];
  try {
    files = await expandInputs(inputs);
  } catch (e) {
    io.error(`detect: ${(e as Error).message}`);
    return 1;
  }
  if (values.coco) {
    const byId = new Map<string, string>();
    for (const f of files) {
      const id = imageIdOf(f);
      const other = byId.get(id);
      if (other !== undefined) {
        io.error(`detect: --coco: ${other} and ${f} would share the image id '${id}'`);
        return 1;
      }
      byId.set(id, f);
    }
  }

  let detector;
  try {
    detector = await loadDetector(runDir, {
      backend: (backend as BackendChoice | undefined) ?? "config",
      log: (l) => io.error(l),
      buildDetector: hooks.buildDetector,
    });
  } catch (e) {
    io.error(`detect: ${(e as Error).message}`);
    return 1;
  }
  const draw = !values["no-draw"];
  const outDir = values.out ?? `${runDir}/detections`;
  const records: ImageRecord[] = [];
  const coco: CocoDetectionJson[] = [];
  const usedNames = new Set<string>();
  let failed = 0;
  let done = 0;
  try {
    if (draw) await Deno.mkdir(outDir, { recursive: true });
    const inputShape = modelInputShape(detector.model);
    const batch = detector.settings.batchSize;
    for (let start = 0; start < files.length; start += batch) {
      const chunk = files.slice(start, start + batch);
      const prepared: (PreparedImage & { file: string })[] = [];
      // Decoded side by side (sharp's threads); a file that cannot be read is reported and left out.
      const loaded = await Promise.allSettled(chunk.map((f) => prepareImage(f, inputShape)));
      loaded.forEach((r, k) => {
        if (r.status === "fulfilled") prepared.push({ ...r.value[0], file: chunk[k] });
        else {
          failed++;
          done++;
          io.error(`detect: [${done}/${files.length}] ${(r.reason as Error).message ?? r.reason}`);
        }
      });
      const results = await detector.run(prepared, { minScore: threshold });
      for (let k = 0; k < results.length; k++) {
        const file = prepared[k].file;
        const result: ImageResult = results[k];
        let drawn: string | null = null;
        if (draw) {
          drawn = `${outDir}/${uniqueName(imageIdOf(file), usedNames)}.detections.png`;
          await sharp(file).composite([{ input: Buffer.from(overlay(result.detections, result.width, result.height)) }])
            .png().toFile(drawn);
        }
        records.push({ image: file, width: result.width, height: result.height, drawn, detections: result.detections });
        coco.push(...toCocoDetections(
          result.detections.map((d) => ({ imageId: imageIdOf(file), box: d.box, label: d.label, score: d.score })),
          { coordinates: "pixels" },
        ));
        done++;
        const n = result.detections.length;
        const counts = [1, 2].map((c) => `${CLASS_NAMES[c]} ${result.detections.filter((d) => d.label === c).length}`);
        io.error(
          `detect: [${done}/${files.length}] ${file}: ${n} detection${n === 1 ? "" : "s"} (${counts.join(", ")})`,
        );
      }
    }
    if (values.json) await writeOutput(values.json, records);
    if (values.coco) await writeOutput(values.coco, coco);
  } catch (e) {
    io.error(`detect: ${(e as Error).message}`);
    return 1;
  } finally {
    detector.dispose();
  }
  io.log(JSON.stringify(
    records.map((r) => ({
      ...r,
      detections: r.detections.map((d) => ({ ...d, box: d.box.map((v) => Math.round(v * 10) / 10) })),
    })),
    null,
    2,
  ));
  if (failed > 0) io.error(`detect: ${failed} of ${files.length} image(s) could not be read (listed above)`);
  return failed > 0 ? 1 : 0;
}

/** Writes a JSON output file, making its folder first. */
async function writeOutput(path: string, value: unknown): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  await writeJsonAtomic(path, value);
}

/** `stem`, or `stem-2`, `stem-3`, ... when taken: images of several folders may share a name. */
function uniqueName(stem: string, used: Set<string>): string {
  let name = stem;
  for (let i = 2; used.has(name); i++) name = `${stem}-${i}`;
  used.add(name);
  return name;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
