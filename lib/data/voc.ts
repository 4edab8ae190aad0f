/**
 * Pascal VOC annotation files as AIZOO writes them, read with a real XML parser (fast-xml-parser).
 *
 * Rules, each checked so that bad input is reported with the file and the problem:
 * - malformed XML, a missing `<annotation>` root, a missing or non-numeric coordinate: error;
 * - a class name not in the table of `lib/types.ts` (`classIdOf`): error;
 * - a box with `xmax <= xmin` or `ymax <= ymin`, or one lying wholly outside the image: error;
 * - a box that only crosses the border (AIZOO has a few coordinates of -1): clipped, not reported;
 * - `<size>` against the decoded image (when the caller passes `imageSize`): equal is fine; missing or zero is a
 *   warning and the decoded size is used; a different size with the same aspect ratio (within 1 %) is a warning and
 *   the boxes are scaled to the decoded image, on the view that the image was resized after annotation; any other
 *   difference (a rotated or wrong image) is an error, because the boxes cannot be trusted then.
 * @module
 */

import { XMLParser, XMLValidator } from "fast-xml-parser";
import { type Box, CLASS_ALIASES, classIdOf } from "../types.ts";
import { DataError, type DataProblem } from "./problems.ts";

/** One object of a VOC file. */
export interface VocObject {
  /** The class name as written in the file. */
  name: string;
  /** Its class id (1 = face_mask, 2 = face). */
  classId: number;
  /** Pixel corner box `[x1, y1, x2, y2]`, clipped to the image. */
  box: Box;
  /** The VOC `difficult` flag. */
  difficult: boolean;
}

/** The content of one VOC file. */
export interface VocAnnotation {
  /** The `<filename>` element, or "" when absent. */
  filename: string;
  /** Image width in pixels (the decoded image's when `imageSize` was given). */
  width: number;
  /** Image height in pixels (the decoded image's when `imageSize` was given). */
  height: number;
  /** The objects whose boxes are usable, in file order. */
  objects: VocObject[];
}

/** Options of {@link readVocXml} and {@link parseVocXml}. */
export interface VocOptions {
  /** The file the text came from; every problem names it. */
  file: string;
  /** Size of the decoded image, when known: `<size>` is checked against it and boxes are clipped to it. */
  imageSize?: { width: number; height: number };
}

/** What {@link readVocXml} found: the annotation (null when the file is unusable) and every problem. */
export interface VocReadResult {
  annotation: VocAnnotation | null;
  problems: DataProblem[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (_name: string, jpath: unknown) => jpath === "annotation.object",
});

const KNOWN_NAMES = Object.keys(CLASS_ALIASES).join(", ");

function numberOf(value: unknown): number | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  return undefined;
}

/**
 * Reads a VOC file and collects every problem instead of stopping at the first, so a checker can list them all.
 * Objects with an error are left out of `annotation.objects`; the annotation is null when the whole file is
 * unusable (malformed XML, no root, no usable size, a size that disagrees with the image).
 */
export function readVocXml(xml: string, options: VocOptions): VocReadResult {
  const { file, imageSize } = options;
  const problems: DataProblem[] = [];
  const error = (problem: string) => problems.push({ file, problem, severity: "error" });
  const warning = (problem: string) => problems.push({ file, problem, severity: "warning" });

  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    error(`malformed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
    return { annotation: null, problems };
  }
  // deno-lint-ignore no-explicit-any
  const doc = parser.parse(xml) as any;
  const root = doc?.annotation;
  if (root === undefined || typeof root !== "object" || root === null) {
    error("not a VOC annotation: no <annotation> root element");
    return { annotation: null, problems };
  }

  const xmlWidth = numberOf(root.size?.width);
  const xmlHeight = numberOf(root.size?.height);
  const xmlSizeOk = xmlWidth !== undefined && xmlHeight !== undefined && xmlWidth > 0 && xmlHeight > 0;
  let width: number;
  let height: number;
  let scaleX = 1;
  let scaleY = 1;
  if (imageSize === undefined) {
    if (!xmlSizeOk) {
      error("missing or invalid <size> (width and height must be positive numbers)");
      return { annotation: null, problems };
    }
    width = xmlWidth;
    height = xmlHeight;
  } else {
    width = imageSize.width;
    height = imageSize.height;
    if (!xmlSizeOk) {
      warning(`missing or invalid <size>; using the decoded image size ${width}x${height}`);
    } else if (xmlWidth !== width || xmlHeight !== height) {
      const ratioXml = xmlWidth / xmlHeight;
      const ratioImage = width / height;
      if (Math.abs(ratioXml / ratioImage - 1) <= 0.01) {
        scaleX = width / xmlWidth;
        scaleY = height / xmlHeight;
        warning(
          `<size> ${xmlWidth}x${xmlHeight} differs from the decoded image ${width}x${height} with the same aspect ` +
            `ratio; boxes scaled to the image`,
        );
      } else {
        error(`<size> ${xmlWidth}x${xmlHeight} disagrees with the decoded image ${width}x${height}`);
        return { annotation: null, problems };
      }
    }
  }

  const objects: VocObject[] = [];
  const rawObjects: unknown[] = Array.isArray(root.object) ? root.object : [];
  rawObjects.forEach((raw, index) => {
    const where = `object ${index + 1}`;
    // deno-lint-ignore no-explicit-any
    const obj = raw as any;
    const name = textOf(obj?.name)?.trim();
    if (!name) {
      error(`${where}: missing <name>`);
      return;
    }
    const classId = classIdOf(name);
    if (classId === undefined) {
      error(`${where}: unknown class name '${name}' (known: ${KNOWN_NAMES})`);
      return;
    }
    const b = obj.bndbox;
    const coords = [numberOf(b?.xmin), numberOf(b?.ymin), numberOf(b?.xmax), numberOf(b?.ymax)];
    if (coords.some((c) => c === undefined)) {
      error(`${where} (${name}): <bndbox> needs numeric xmin, ymin, xmax, ymax`);
      return;
    }
    const [x1, y1, x2, y2] = coords as number[];
    if (x2 <= x1) {
      error(`${where} (${name}): box xmax ${x2} <= xmin ${x1}`);
      return;
    }
    if (y2 <= y1) {
      error(`${where} (${name}): box ymax ${y2} <= ymin ${y1}`);
      return;
    }
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    const box: Box = [
      clip(x1 * scaleX, width),
      clip(y1 * scaleY, height),
      clip(x2 * scaleX, width),
      clip(y2 * scaleY, height),
    ];
    if (box[2] <= box[0] || box[3] <= box[1]) {
      error(`${where} (${name}): box [${x1}, ${y1}, ${x2}, ${y2}] lies wholly outside the ${width}x${height} image`);
      return;
    }
    const difficult = (numberOf(obj.difficult) ?? 0) !== 0;
    objects.push({ name, classId, box, difficult });
  });

  const filename = textOf(root.filename)?.trim() ?? "";
  return { annotation: { filename, width, height, objects }, problems };
}

/**
 * Parses a VOC file; throws a {@link DataError} naming the file and every error when anything is wrong (warnings
 * alone do not throw). Boxes come back in pixels, clipped to the image.
 */
export function parseVocXml(xml: string, options: VocOptions): VocAnnotation {
  const { annotation, problems } = readVocXml(xml, options);
  const errors = problems.filter((p) => p.severity === "error");
  if (errors.length > 0 || annotation === null) {
    throw new DataError(options.file, errors.map((p) => p.problem).join("; "));
  }
  return annotation;
}
