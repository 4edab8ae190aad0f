/**
 * `deno task detect <run-dir> <image...> [--out DIR] [--threshold 0.5]`: runs a trained run's model on images,
 * prints the boxes as JSON (pixels of each original image) and writes a copy of each image with the boxes drawn,
 * face_mask in green and face in red, with scores.
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { decodeDetections, toPixelDetections } from "../lib/detect/mod.ts";
import { imageInfo, loadImage, normalize } from "../lib/data/image.ts";
import { loadRunModel, setupBackendFor } from "../lib/train/mod.ts";
import { readJson, type RunConfig } from "../lib/runs/mod.ts";
import { CLASS_NAMES, type Detection, INPUT_HEIGHT, INPUT_WIDTH } from "../lib/types.ts";

const HELP = `usage: deno task detect <run-dir> <image...> [--out DIR] [--threshold 0.5]

Prints {image, width, height, detections: [{label, class, score, box: [x1, y1, x2, y2] in pixels}]} as JSON and
writes <out>/<name>.detections.png with the boxes drawn (face_mask green, face red, with scores).

options:
  --out DIR          where the drawn copies go (default <run-dir>/detections)
  --threshold S      minimum score to report and draw (default 0.5, DESIGN.md's display threshold)
  -h, --help         this text`;

const COLOURS: Record<number, string> = { 1: "#1a9850", 2: "#d73027" };

function overlay(dets: Detection[], width: number, height: number): string {
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

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      threshold: { type: "string", default: "0.5" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help || positionals.length < 2) {
    console.log(HELP);
    Deno.exit(values.help ? 0 : 2);
  }
  const threshold = Number(values.threshold);
  if (!(threshold >= 0 && threshold <= 1)) {
    console.error(`detect: --threshold must be a number in [0, 1], got ${values.threshold}`);
    Deno.exit(2);
  }
  const [runDirArg, ...images] = positionals;
  const runDir = runDirArg.replace(/\/+$/, "");
  try {
    const config = await readJson<RunConfig>(`${runDir}/config.json`);
    await setupBackendFor(config.backend, { log: (l) => console.error(l) });
    const { model, priors } = await loadRunModel(runDir);
    const outDir = values.out ?? `${runDir}/detections`;
    await Deno.mkdir(outDir, { recursive: true });
    const results = [];
    for (const path of images) {
      const info = await imageInfo(path);
      const pixels = normalize(await loadImage(path));
      const [logits, offsets] = tf.tidy(() =>
        model.predict(tf.tensor(pixels, [1, INPUT_HEIGHT, INPUT_WIDTH, 3])) as tf.Tensor[]
      );
      const dets = decodeDetections({ logits, offsets }, {
        priors,
        scoreThreshold: Math.max(threshold, config.eval.scoreThreshold),
        nmsIou: config.eval.nmsIou,
        topK: config.eval.topK,
      })[0];
      tf.dispose([logits, offsets]);
      const px = toPixelDetections(dets, { width: info.width, height: info.height });
      const name = path.split("/").pop()!.replace(/\.[^.]+$/, "");
      const drawn = `${outDir}/${name}.detections.png`;
      await sharp(path).composite([{ input: Buffer.from(overlay(px, info.width, info.height)) }])
        .png().toFile(drawn);
      results.push({
        image: path,
        width: info.width,
        height: info.height,
        drawn,
        detections: px.map((d) => ({
          label: d.label,
          class: CLASS_NAMES[d.label],
          score: d.score,
          box: d.box.map((v) => Math.round(v * 10) / 10),
        })),
      });
    }
    model.dispose();
    console.log(JSON.stringify(results, null, 2));
  } catch (err) {
    console.error(`detect: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
