/**
 * A seeded generator of small face-mask scenes in AIZOO's layout (`<out>/<split>/<name>.jpg` beside `<name>.xml`),
 * so tests and a fresh clone without the real data can run every pipeline end to end. Everything it writes is
 * labelled as generated (a README.txt in the folder, `<folder>generated</folder>` in every XML).
 *
 * A scene: a 320x240 to 640x480 background (a two-colour linear gradient plus uniform noise, and a few distractor
 * shapes that are not faces), then 1-6 non-overlapping faces 12-200 px tall: a skin-toned ellipse with eyes and
 * brows; a bare face has a nose and a mouth, a masked face (class face_mask) wears a blue, white or black mask over
 * its lower half, clipped to the face ellipse. A face's box is exactly its ellipse's bounding box, in whole pixels.
 * Image k of a split depends only on (seed, split, k).
 * @module
 */

import { Buffer } from "node:buffer";
import sharp from "sharp";
import { type Box, CLASS_NAMES } from "../types.ts";
import { Rng } from "../util/rng.ts";

/** One face of a scene: its pixel box, whether it wears a mask, and the colours used. */
export interface SceneFace {
  /** Pixel corner box, integers; the ellipse touches all four sides. */
  box: Box;
  masked: boolean;
  /** Skin colour `[r, g, b]`. */
  skin: [number, number, number];
  /** Mask colour (CSS), when masked. */
  maskColor?: string;
}

/** A planned scene, drawn by {@link renderScene}. */
export interface Scene {
  width: number;
  height: number;
  /** Seed of the background noise. */
  noiseSeed: number;
  /** Gradient end colours and direction (radians), and noise amplitude (+-). */
  gradient: { from: [number, number, number]; to: [number, number, number]; angle: number; noise: number };
  /** Distractor shapes as SVG elements (drawn under the faces). */
  distractors: string[];
  faces: SceneFace[];
}

/** Options of {@link generateDataset}. */
export interface GenerateOptions {
  /** Seed of everything random. */
  seed: number;
  /** Number of training images. */
  train: number;
  /** Number of validation images. */
  val: number;
  /** JPEG quality (90 by default). */
  quality?: number;
}

/** What {@link generateDataset} wrote. */
export interface GeneratedDataset {
  root: string;
  seed: number;
  /** Images per split. */
  images: { train: number; val: number };
  /** Boxes per split and class name. */
  boxes: { train: Record<string, number>; val: Record<string, number> };
}

const SKIN: [number, number, number][] = [
  [255, 219, 172],
  [241, 194, 125],
  [224, 172, 105],
  [198, 134, 66],
  [141, 85, 36],
  [161, 102, 94],
];
const MASK_COLORS = ["#4a90d9", "#7fb3e6", "#f4f4f4", "#dfe8ee", "#1e1e1e", "#333a44"];

function colour(rng: Rng): [number, number, number] {
  return [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
}

/** Plans one scene: sizes, colours and non-overlapping faces, all drawn from `rng`. */
export function planScene(rng: Rng): Scene {
  const width = rng.int(320, 640);
  const height = rng.int(240, 480);
  const gradient = { from: colour(rng), to: colour(rng), angle: rng.uniform(0, 2 * Math.PI), noise: rng.int(4, 24) };
  const distractors: string[] = [];
  const nDistract = rng.int(0, 4);
  for (let i = 0; i < nDistract; i++) {
    const [r, g, b] = colour(rng);
    const fill = `rgb(${r},${g},${b})`;
    const x = rng.int(0, width - 1);
    const y = rng.int(0, height - 1);
    const s = rng.int(10, 120);
    distractors.push(
      rng.chance(0.5)
        ? `<rect x="${x}" y="${y}" width="${s}" height="${rng.int(10, 120)}" fill="${fill}"/>`
        : `<circle cx="${x}" cy="${y}" r="${s / 2}" fill="${fill}"/>`,
    );
  }
  const faces: SceneFace[] = [];
  const want = rng.int(1, 6);
  const maxH = Math.min(200, height - 2);
  for (let i = 0; i < want; i++) {
    for (let attempt = 0; attempt < 50; attempt++) {
      // Log-uniform heights, so small faces (the hard case) are as common as large ones.
      const fh = Math.round(Math.exp(rng.uniform(Math.log(12), Math.log(maxH))));
      const fw = Math.max(9, Math.round(fh * rng.uniform(0.7, 0.85)));
      if (fw >= width - 2) continue;
      const x1 = rng.int(1, width - fw - 1);
      const y1 = rng.int(1, height - fh - 1);
      const box: Box = [x1, y1, x1 + fw, y1 + fh];
      // Two pixels of clearance, so no face paints inside another's box.
      const clear = faces.every((f) =>
        box[0] >= f.box[2] + 2 || f.box[0] >= box[2] + 2 || box[1] >= f.box[3] + 2 || f.box[1] >= box[3] + 2
      );
      if (!clear) continue;
      const base = SKIN[rng.int(0, SKIN.length - 1)];
      const skin = base.map((c) => Math.max(0, Math.min(255, c + rng.int(-12, 12)))) as [number, number, number];
      const masked = rng.chance(0.45);
      faces.push({
        box,
        masked,
        skin,
        maskColor: masked ? MASK_COLORS[rng.int(0, MASK_COLORS.length - 1)] : undefined,
      });
      break;
    }
  }
  return { width, height, noiseSeed: rng.int(0, 2 ** 31), gradient, distractors, faces };
}

function faceSvg(face: SceneFace, index: number): string {
  const [x1, y1, x2, y2] = face.box;
  const w = x2 - x1;
  const h = y2 - y1;
  const cx = x1 + w / 2;
  const cy = y1 + h / 2;
  const [r, g, b] = face.skin;
  const dark = `rgb(${Math.round(r * 0.35)},${Math.round(g * 0.3)},${Math.round(b * 0.3)})`;
  const parts = [
    `<ellipse cx="${cx}" cy="${cy}" rx="${w / 2}" ry="${h / 2}" fill="rgb(${r},${g},${b})"/>`,
    // eyes (white, iris) and brows
    ...[-1, 1].flatMap((side) => {
      const ex = cx + side * 0.2 * w;
      const ey = cy - 0.12 * h;
      return [
        `<ellipse cx="${ex}" cy="${ey}" rx="${0.09 * w}" ry="${0.045 * h}" fill="#f8f8f8"/>`,
        `<circle cx="${ex}" cy="${ey}" r="${0.04 * w}" fill="#2a1a10"/>`,
        `<rect x="${ex - 0.1 * w}" y="${ey - 0.1 * h}" width="${0.2 * w}" height="${Math.max(1, 0.025 * h)}" ` +
        `fill="${dark}"/>`,
      ];
    }),
  ];
  if (face.masked) {
    const top = cy + 0.02 * h;
    parts.push(
      `<clipPath id="f${index}"><ellipse cx="${cx}" cy="${cy}" rx="${w / 2}" ry="${h / 2}"/></clipPath>`,
      `<g clip-path="url(#f${index})">`,
      `<rect x="${x1}" y="${top}" width="${w}" height="${y2 - top}" fill="${face.maskColor}"/>`,
      `<line x1="${x1}" y1="${top + 0.12 * h}" x2="${x2}" y2="${top + 0.12 * h}" stroke="#000" stroke-opacity="0.25" ` +
        `stroke-width="${Math.max(0.5, 0.02 * h)}"/>`,
      `<line x1="${x1}" y1="${top + 0.25 * h}" x2="${x2}" y2="${top + 0.25 * h}" stroke="#000" stroke-opacity="0.25" ` +
        `stroke-width="${Math.max(0.5, 0.02 * h)}"/>`,
      `</g>`,
    );
  } else {
    parts.push(
      `<ellipse cx="${cx}" cy="${cy + 0.08 * h}" rx="${0.05 * w}" ry="${
        0.07 * h
      }" fill="${dark}" fill-opacity="0.45"/>`,
      `<ellipse cx="${cx}" cy="${cy + 0.27 * h}" rx="${0.17 * w}" ry="${0.05 * h}" fill="#9b2d30"/>`,
    );
  }
  return parts.join("");
}

/** Draws the background of a scene (gradient + noise) as raw RGB. */
function background(scene: Scene): Uint8Array {
  const { width, height, gradient } = scene;
  const px = new Uint8Array(width * height * 3);
  const rng = new Rng(scene.noiseSeed);
  const dx = Math.cos(gradient.angle);
  const dy = Math.sin(gradient.angle);
  const span = Math.abs(dx) * width + Math.abs(dy) * height;
  const offset = Math.min(0, dx * width) + Math.min(0, dy * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (dx * x + dy * y - offset) / span;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = gradient.from[c] + (gradient.to[c] - gradient.from[c]) * t + (rng.next() * 2 - 1) * gradient.noise;
        px[o + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
      }
    }
  }
  return px;
}

/** Options of {@link renderScene}. */
export interface RenderOptions {
  /** Draw the faces (true by default); false draws only what lies under them, for tests. */
  faces?: boolean;
}

/** Draws a scene as raw RGB (HWC, `scene.height x scene.width`). */
export async function renderScene(scene: Scene, options: RenderOptions = {}): Promise<Uint8Array> {
  const faces = options.faces === false ? "" : scene.faces.map(faceSvg).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${scene.width}" height="${scene.height}">` +
    `${scene.distractors.join("")}${faces}</svg>`;
  const data = await sharp(background(scene), { raw: { width: scene.width, height: scene.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Writes a scene's VOC annotation (pixel boxes, AIZOO's element order). */
export function sceneXml(scene: Scene, filename: string, split: string): string {
  const objects = scene.faces.map((f) => {
    const name = CLASS_NAMES[f.masked ? 1 : 2];
    const [x1, y1, x2, y2] = f.box;
    return `  <object>\n    <name>${name}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n` +
      `    <difficult>0</difficult>\n    <bndbox>\n      <xmin>${x1}</xmin>\n      <ymin>${y1}</ymin>\n` +
      `      <xmax>${x2}</xmax>\n      <ymax>${y2}</ymax>\n    </bndbox>\n  </object>\n`;
  });
  return `<annotation>\n  <folder>generated</folder>\n  <filename>${filename}</filename>\n` +
    `  <source><database>generated (${split})</database></source>\n` +
    `  <size>\n    <width>${scene.width}</width>\n    <height>${scene.height}</height>\n    <depth>3</depth>\n` +
    `  </size>\n  <segmented>0</segmented>\n${objects.join("")}</annotation>\n`;
}

function readme(options: GenerateOptions): string {
  return `GENERATED DATA - not the AIZOO face-mask data set.

Synthetic face-mask scenes written by lib/data/generate.ts (seed ${options.seed}, ${options.train} train / ` +
    `${options.val} val images)
in AIZOO's layout: <split>/<name>.jpg beside <name>.xml (Pascal VOC, classes face_mask / face).
Each scene is a gradient-and-noise background with distractor shapes and 1-6 drawn faces (12-200 px tall);
masked faces are labelled face_mask, bare faces face. Boxes are exact. Any result on this folder must be
labelled as obtained on generated data.
`;
}

/**
 * Writes a generated data set under `outDir` (`train/` and `val/`, plus README.txt); the same seed and counts
 * always give the same files. Returns the counts it wrote.
 *
 * ```ts
 * import { generateDataset, scanSplit } from "ssdv2";
 * const dir = await Deno.makeTempDir();
 * const set = await generateDataset(dir, { seed: 1, train: 8, val: 4 }); // the same seed and counts, the same files
 * console.log(set.images, set.boxes.val); // { train: 8, val: 4 } { face_mask: 6, face: 4 }
 * console.log((await scanSplit(dir, "val")).records.length); // 4: it reads like the real data
 * ```
 */
export async function generateDataset(outDir: string, options: GenerateOptions): Promise<GeneratedDataset> {
  const { seed, train, val } = options;
  for (const [k, v] of [["train", train], ["val", val]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`generateDataset: ${k} must be a whole number >= 0, got ${v}`);
  }
  const quality = options.quality ?? 90;
  const boxes = { train: { face_mask: 0, face: 0 }, val: { face_mask: 0, face: 0 } };
  const root = new Rng(seed);
  for (const [split, count] of [["train", train], ["val", val]] as const) {
    const splitRng = root.fork();
    await Deno.mkdir(`${outDir}/${split}`, { recursive: true });
    const rngs = Array.from({ length: count }, () => splitRng.fork());
    // A few scenes at a time: sharp encodes on its own threads while JavaScript draws the next background.
    const inFlight = 4;
    for (let start = 0; start < count; start += inFlight) {
      await Promise.all(
        rngs.slice(start, start + inFlight).map(async (rng, j) => {
          const k = start + j;
          const name = `gen_${split}_${String(k).padStart(5, "0")}`;
          const scene = planScene(rng);
          const px = await renderScene(scene);
          await sharp(px, { raw: { width: scene.width, height: scene.height, channels: 3 } })
            .jpeg({ quality })
            .toFile(`${outDir}/${split}/${name}.jpg`);
          await Deno.writeTextFile(`${outDir}/${split}/${name}.xml`, sceneXml(scene, `${name}.jpg`, split));
          for (const f of scene.faces) boxes[split][f.masked ? "face_mask" : "face"]++;
        }),
      );
    }
  }
  await Deno.writeTextFile(`${outDir}/README.txt`, readme(options));
  return { root: outDir, seed, images: { train, val }, boxes };
}
