/**
 * Types and the class table shared by every module of the library.
 *
 * Conventions (see docs/design.md):
 * - boxes inside the library are normalised corner boxes `[x1, y1, x2, y2]` in [0, 1];
 * - priors are normalised centre boxes `[cx, cy, w, h]`;
 * - class ids: 0 = background, 1 = face_mask, 2 = face.
 * @module
 */

/** A box as four numbers; corner form `[x1, y1, x2, y2]` unless a name says otherwise. */
export type Box = [number, number, number, number];

/** Class names indexed by class id; index 0 is the background. */
export const CLASS_NAMES = ["background", "face_mask", "face"] as const;

/** A class name from {@link CLASS_NAMES}. */
export type ClassName = typeof CLASS_NAMES[number];

/** Number of classes the detector predicts, background included. */
export const NUM_CLASSES = CLASS_NAMES.length;

/** The object classes (no background), in id order. */
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

/** Model input height in pixels (the paper's 240x320 input). */
export const INPUT_HEIGHT = 240;
/** Model input width in pixels. */
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

/** One detection: a normalised corner box, its class id (never 0) and its score. */
export interface Detection {
  box: Box;
  label: number;
  score: number;
}
