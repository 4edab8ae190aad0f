/**
 * COCO JSON interchange: read ground truth (`images`, `annotations`, `categories`) and detection results
 * (`[{ image_id, category_id, bbox, score }]`, `bbox` = [x, y, w, h] in pixels) into the evaluator's plain types,
 * and write ours out in the same formats so other tools can score them. Errors name the file and the bad field.
 * @module
 */

import type { Box } from "../types.ts";
import { DEFAULT_CLASSES } from "./score.ts";
import type { ClassSpec, GroundTruthImage, ImageDetection, ImageSize } from "./types.ts";

/** A COCO category. */
export interface CocoCategory {
  id: number;
  name: string;
}

/** A COCO image record. `width` and `height` are needed for the size split at the model input. */
export interface CocoImage {
  id: number | string;
  width?: number;
  height?: number;
  file_name?: string;
}

/** A COCO box annotation; `difficult` is our VOC extension, `iscrowd` is read as difficult (either marks it). */
export interface CocoAnnotation {
  id?: number;
  image_id: number | string;
  category_id: number;
  /** `[x, y, width, height]` in pixels. */
  bbox: [number, number, number, number];
  area?: number;
  iscrowd?: 0 | 1;
  difficult?: boolean | 0 | 1;
}

/** A COCO ground-truth file. */
export interface CocoGroundTruthJson {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

/** One entry of a COCO results file. */
export interface CocoDetectionJson {
  image_id: number | string;
  category_id: number;
  /** `[x, y, width, height]` in pixels. */
  bbox: [number, number, number, number];
  score: number;
}

/** Ground truth read from a COCO file; boxes are corner boxes in pixels, image ids are `String(image.id)`. */
export interface CocoGroundTruth {
  images: GroundTruthImage[];
  /** Size of every image, or `undefined` when some image lacks `width`/`height`. */
  imageSizes: Record<string, ImageSize> | undefined;
  /** The file's categories, as evaluator classes. */
  classes: ClassSpec[];
  /** `file_name` of each image id, where given. */
  fileNames: Record<string, string>;
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number | string =>
  typeof v === "string" || (typeof v === "number" && Number.isFinite(v));

function readBbox(v: unknown, where: string): Box {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new Error(`${where}: "bbox" must be [x, y, w, h], four finite numbers, got ${JSON.stringify(v)}`);
  }
  const [x, y, w, h] = v as number[];
  if (w < 0 || h < 0) throw new Error(`${where}: "bbox" has a negative width or height: ${JSON.stringify(v)}`);
  return [x, y, x + w, y + h];
}

/** Parses a COCO ground-truth object; `source` (a path) names it in errors. */
export function parseCocoGroundTruth(json: unknown, source: string): CocoGroundTruth {
  if (!isObj(json)) throw new Error(`${source}: COCO ground truth must be a JSON object`);
  for (const key of ["images", "annotations", "categories"]) {
    if (!Array.isArray(json[key])) throw new Error(`${source}: field "${key}" must be an array`);
  }
  const classes: ClassSpec[] = (json.categories as unknown[]).map((c, i) => {
    if (!isObj(c) || typeof c.id !== "number" || typeof c.name !== "string") {
      throw new Error(`${source}: categories[${i}] needs a numeric "id" and a string "name"`);
    }
    return { id: c.id, name: c.name };
  });
  const classIds = new Set(classes.map((c) => c.id));
  const byId = new Map<string, GroundTruthImage>();
  const sizes: Record<string, ImageSize> = {};
  const fileNames: Record<string, string> = {};
  let allSized = true;
  (json.images as unknown[]).forEach((im, i) => {
    if (!isObj(im) || !isId(im.id)) throw new Error(`${source}: images[${i}] needs an "id" (number or string)`);
    const id = String(im.id);
    if (byId.has(id)) throw new Error(`${source}: images[${i}]: "id" ${id} appears twice`);
    byId.set(id, { imageId: id, boxes: [], labels: [], difficult: [] });
    if (typeof im.file_name === "string") fileNames[id] = im.file_name;
    if (im.width === undefined && im.height === undefined) allSized = false;
    else if (typeof im.width !== "number" || typeof im.height !== "number" || !(im.width > 0) || !(im.height > 0)) {
      throw new Error(`${source}: images[${i}]: "width" and "height" must be positive numbers`);
    } else sizes[id] = { width: im.width, height: im.height };
  });
  (json.annotations as unknown[]).forEach((a, i) => {
    const where = `${source}: annotations[${i}]`;
    if (!isObj(a)) throw new Error(`${where}: must be an object`);
    if (!isId(a.image_id)) throw new Error(`${where}: "image_id" must be a number or string`);
    const img = byId.get(String(a.image_id));
    if (!img) throw new Error(`${where}: "image_id" ${a.image_id} is not in "images"`);
    if (typeof a.category_id !== "number" || !classIds.has(a.category_id)) {
      throw new Error(`${where}: "category_id" ${a.category_id} is not in "categories"`);
    }
    img.boxes.push(readBbox(a.bbox, where));
    img.labels.push(a.category_id);
    img.difficult.push(Boolean(a.difficult) || Boolean(a.iscrowd));
  });
  return { images: [...byId.values()], imageSizes: allSized ? sizes : undefined, classes, fileNames };
}

/** Reads a COCO ground-truth file. */
export async function readCocoGroundTruth(path: string): Promise<CocoGroundTruth> {
  return parseCocoGroundTruth(await readJson(path), path);
}

/**
 * Parses a COCO results array. With `groundTruth`, every `image_id` and `category_id` must exist there.
 */
export function parseCocoDetections(
  json: unknown,
  source: string,
  options: { groundTruth?: CocoGroundTruth } = {},
): ImageDetection[] {
  if (!Array.isArray(json)) throw new Error(`${source}: COCO detections must be a JSON array`);
  const gt = options.groundTruth;
  const imageIds = gt ? new Set(gt.images.map((g) => g.imageId)) : undefined;
  const classIds = gt ? new Set(gt.classes.map((c) => c.id)) : undefined;
  return json.map((d, i) => {
    const where = `${source}: [${i}]`;
    if (!isObj(d)) throw new Error(`${where}: must be an object`);
    if (!isId(d.image_id)) throw new Error(`${where}: "image_id" must be a number or string`);
    if (imageIds && !imageIds.has(String(d.image_id))) {
      throw new Error(`${where}: "image_id" ${d.image_id} is not in the ground truth`);
    }
    if (typeof d.category_id !== "number") throw new Error(`${where}: "category_id" must be a number`);
    if (classIds && !classIds.has(d.category_id)) {
      throw new Error(`${where}: "category_id" ${d.category_id} is not a ground-truth category`);
    }
    if (typeof d.score !== "number" || !Number.isFinite(d.score)) {
      throw new Error(`${where}: "score" must be a finite number`);
    }
    return { imageId: String(d.image_id), box: readBbox(d.bbox, where), label: d.category_id, score: d.score };
  });
}

/** Reads a COCO results file (see {@link parseCocoDetections}). */
export async function readCocoDetections(
  path: string,
  options: { groundTruth?: CocoGroundTruth } = {},
): Promise<ImageDetection[]> {
  return parseCocoDetections(await readJson(path), path, options);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read file (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Options of {@link toCocoDetections} and {@link toCocoGroundTruth}. */
export interface ToCocoOptions {
  /** Coordinates of the input boxes; normalised boxes (the default) are scaled by `imageSizes`. */
  coordinates?: "normalised" | "pixels";
  /** Pixel size per image id; required for normalised boxes. */
  imageSizes?: Readonly<Record<string, ImageSize>>;
}

function toPixelBbox(box: Box, imageId: string, options: ToCocoOptions): [number, number, number, number] {
  let [x1, y1, x2, y2] = box;
  if ((options.coordinates ?? "normalised") === "normalised") {
    const s = options.imageSizes?.[imageId];
    if (!s) throw new Error(`toCoco: image "${imageId}" has normalised boxes but no entry in imageSizes`);
    [x1, y1, x2, y2] = [x1 * s.width, y1 * s.height, x2 * s.width, y2 * s.height];
  }
  return [x1, y1, x2 - x1, y2 - y1];
}

/** Options of {@link toCocoGroundTruth}. */
export interface ToCocoGroundTruthOptions extends ToCocoOptions {
  /** Categories to list; default face_mask (1) and face (2). */
  classes?: readonly ClassSpec[];
  /**
   * Image ids: `numbers` (default) gives 1..N in the given order; `names` keeps our image ids (the file stems), the
   * ids `deno task detect --coco` writes.
   */
  imageIds?: "numbers" | "names";
  /** `file_name` of each image id (default: the image id itself). */
  fileNames?: Readonly<Record<string, string>>;
}

/**
 * Our ground truth as a COCO file. A `difficult` box is written with `difficult: 1` and `iscrowd: 1`: lib/metrics
 * counts it neither as a hit nor as a miss, and pycocotools ignores crowd boxes in the same way, so the file scores
 * alike in both (pycocotools measures overlap with a crowd box over the detection's area, where lib/metrics uses
 * IoU; that decides only which detections are ignored).
 */
export function toCocoGroundTruth(
  gts: readonly GroundTruthImage[],
  options: ToCocoGroundTruthOptions = {},
): CocoGroundTruthJson {
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  const seen = new Set<string>();
  gts.forEach((g, i) => {
    if (seen.has(g.imageId)) throw new Error(`toCocoGroundTruth: image id "${g.imageId}" appears twice`);
    seen.add(g.imageId);
    const id = options.imageIds === "names" ? g.imageId : i + 1;
    const s = options.imageSizes?.[g.imageId];
    const fileName = options.fileNames?.[g.imageId] ?? g.imageId;
    images.push({ id, file_name: fileName, ...(s ? { width: s.width, height: s.height } : {}) });
    g.boxes.forEach((b, j) => {
      const bbox = toPixelBbox(b, g.imageId, options);
      const difficult = g.difficult[j] ? 1 : 0;
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: g.labels[j],
        bbox,
        area: bbox[2] * bbox[3],
        iscrowd: difficult,
        difficult,
      });
    });
  });
  return { images, annotations, categories: (options.classes ?? DEFAULT_CLASSES).map((c) => ({ ...c })) };
}

/**
 * Our detections as a COCO results array. With `groundTruth` (from {@link toCocoGroundTruth}) image ids are
 * mapped to its ids: through its `file_name`s, or directly where its ids are our image ids (strings); otherwise
 * `image_id` is our image id string.
 */
export function toCocoDetections(
  dets: readonly ImageDetection[],
  options: ToCocoOptions & { groundTruth?: CocoGroundTruthJson } = {},
): CocoDetectionJson[] {
  const idOf = new Map<string, number | string>();
  for (const im of options.groundTruth?.images ?? []) if (im.file_name !== undefined) idOf.set(im.file_name, im.id);
  for (const im of options.groundTruth?.images ?? []) if (typeof im.id === "string") idOf.set(im.id, im.id);
  return dets.map((d) => {
    let imageId: number | string = d.imageId;
    if (options.groundTruth) {
      const id = idOf.get(d.imageId);
      if (id === undefined) {
        throw new Error(`toCocoDetections: image "${d.imageId}" has neither an id nor a file_name in groundTruth`);
      }
      imageId = id;
    }
    return { image_id: imageId, category_id: d.label, bbox: toPixelBbox(d.box, d.imageId, options), score: d.score };
  });
}
