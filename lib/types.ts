/**
 * Types and the class table shared by every module of the library.
 *
 * Conventions (see docs/design.md):
 * - boxes inside the library are normalised corner boxes `[x1, y1, x2, y2]` in [0, 1];
 * - priors are normalised centre boxes `[cx, cy, w, h]`;
 * - class ids: 0 = background, 1 = face_mask, 2 = face.
 * @module
 */

/**
 * A box as four numbers; corner form `[x1, y1, x2, y2]` unless a name says otherwise.
 *
 * ```ts
 * import type { Box } from "ssdv2";
 * const face: Box = [0.25, 0.1, 0.5, 0.6]; // normalised to the image: x1, y1, x2, y2
 * const [x1, y1, x2, y2] = face;
 * console.log(((x2 - x1) * (y2 - y1)).toFixed(3)); // "0.125": the share of the image the box covers
 * ```
 */
export type Box = [number, number, number, number];

/**
 * Class names indexed by class id; index 0 is the background.
 *
 * ```ts
 * import { CLASS_NAMES } from "ssdv2";
 * const label = 2; // a detection's class id
 * console.log(CLASS_NAMES[label], CLASS_NAMES.length); // "face" 3: ids 1 and 2 are the objects, 0 the background
 * ```
 */
export const CLASS_NAMES = ["background", "face_mask", "face"] as const;

/** A class name from {@link CLASS_NAMES}. */
export type ClassName = typeof CLASS_NAMES[number];

/** Number of classes the detector predicts, background included. */
export const NUM_CLASSES = CLASS_NAMES.length;

/**
 * The object classes (no background), in id order.
 *
 * ```ts
 * import { OBJECT_CLASSES } from "ssdv2";
 * for (const [i, name] of OBJECT_CLASSES.entries()) console.log(i + 1, name); // 1 face_mask, then 2 face
 * ```
 */
export const OBJECT_CLASSES = CLASS_NAMES.slice(1) as readonly ClassName[];

/**
 * Names accepted in annotation files, mapped to class ids. AIZOO writes `face_mask` / `face`; the SSDv2 paper
 * says "mask" / "unmask"; one public copy of the data says "HaveMask" / "NoMask".
 */
export const CLASS_ALIASES: Readonly<Record<string, number>> = {
  face_mask: 1,
  mask: 1,
  havemask: 1,
  face: 2,
  unmask: 2,
  nomask: 2,
};

/**
 * Maps an annotation's class name to its id, or `undefined` when the name is unknown.
 * Matching ignores case and surrounding white space.
 */
export function classIdOf(name: string): number | undefined {
  return CLASS_ALIASES[name.trim().toLowerCase()];
}

/**
 * Model input height in pixels (the paper's 240x320 input).
 *
 * ```ts
 * import { INPUT_HEIGHT, INPUT_WIDTH } from "ssdv2";
 * // Images are resized to the input without keeping their aspect ratio: a 96x96 px face in a 1280x720 photo
 * const side = Math.sqrt(((96 * INPUT_WIDTH) / 1280) * ((96 * INPUT_HEIGHT) / 720));
 * console.log(side.toFixed(1)); // "27.7" input pixels: the face counts in the "16-32" size bucket
 * ```
 */
export const INPUT_HEIGHT = 240;
/**
 * Model input width in pixels.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { INPUT_HEIGHT, INPUT_WIDTH, setupBackend } from "ssdv2";
 * await setupBackend(); // before the first tensor
 * const batch = tf.zeros([8, INPUT_HEIGHT, INPUT_WIDTH, 3]); // what every detector takes: NHWC, RGB
 * console.log(batch.shape); // [ 8, 240, 320, 3 ]
 * batch.dispose();
 * ```
 */
export const INPUT_WIDTH = 320;

/** An RGB image as float32, row-major HWC, values in [-0.5, 0.5] once normalised. */
export interface ImageF32 {
  data: Float32Array;
  height: number;
  width: number;
}

/** One annotated image, ready for the model. */
export interface Sample {
  /** Stable identifier (file stem within its split). */
  id: string;
  image: ImageF32;
  /** Normalised corner boxes. */
  boxes: Box[];
  /** Class id of each box (1 = face_mask, 2 = face). */
  labels: number[];
  /** VOC `difficult` flag of each box. */
  difficult: boolean[];
}

/**
 * One detection: a normalised corner box, its class id (never 0) and its score.
 *
 * ```ts
 * import { CLASS_NAMES, type Detection, INPUT_HEIGHT, INPUT_WIDTH } from "ssdv2";
 * const d: Detection = { box: [0.1, 0.2, 0.3, 0.5], label: 1, score: 0.93 }; // as decodeDetections returns them
 * const [x1, y1, x2, y2] = d.box;
 * console.log(CLASS_NAMES[d.label], Math.round((x2 - x1) * INPUT_WIDTH), Math.round((y2 - y1) * INPUT_HEIGHT));
 * // face_mask 64 72: a masked face, 64x72 px at the model input
 * ```
 */
export interface Detection {
  box: Box;
  label: number;
  score: number;
}
