/**
 * `deno task metrics --gt GT.json --dets DETS.json`: scores COCO-format detections against COCO-format ground truth
 * and prints `{ voc, map, map11, coco }` as JSON (values in [0, 1]; `null` where undefined, e.g. a size range
 * without ground truth).
 * @module
 */

import { parseCommandArgs, usageError } from "./command_args.ts";
import {
  apSummary,
  metricsSummary,
  parseCocoGroundTruth,
  readCocoDetections,
  readCocoGroundTruth,
  scoreDetections,
} from "../lib/metrics/mod.ts";
import { printProblems, vocSplitToCoco } from "./data_coco.ts";

const HELP = `Usage: deno task metrics --gt GT.json --dets DETS.json [options]
       deno task metrics --gt-voc DIR [--split val] --dets DETS.json [options]

Scores detections in COCO results format ([{ image_id, category_id, bbox: [x, y, w, h], score }], pixels) against
COCO ground truth (images, annotations with bbox and optional difficult, categories) and prints one JSON object:
  { "voc": { "<category>": { "ap", "ap11" } }, "map", "map11",
    "coco": { "ap", "ap50", "ap75", "small", "medium", "large" } }
VOC AP is at IoU > 0.5 (all-point and 11-point); COCO AP follows pycocotools (AP@[.5:.95], 100 detections per
image and class, size split on box areas in the file's pixels). null marks an undefined value.

Options:
  --gt FILE        COCO ground-truth JSON (this or --gt-voc is required)
  --gt-voc DIR     ground truth from the VOC split DIR/<split> (as deno task data:coco writes it: image ids are
                   file stems, difficult boxes count neither way)
  --split NAME     split folder of --gt-voc (default val)
  --dets FILE      COCO detections JSON (required)
  --iou X          VOC IoU threshold (default 0.5)
  --full           also print operating points, confusion matrix and AP by size at the 240x320 input
                   ("operating", "confusion", "bySize"), the COCO size split there ("cocoInput") and counts
  --pr-dir DIR     write pr_<category>.json (recall, precision, scores) for each category into DIR
  -h, --help       show this help
`;

/** Runs the command on `args`; returns the exit code. Output goes to stdout, errors to stderr. */
export async function main(args: string[]): Promise<number> {
  const io = { log: (l: string) => console.log(l), error: (l: string) => console.error(l) };
  const parsed = parseCommandArgs(args, {
    name: "metrics",
    help: HELP,
    options: {
      gt: { type: "string" },
      "gt-voc": { type: "string" },
      split: { type: "string", default: "val" },
      dets: { type: "string" },
      iou: { type: "string" },
      full: { type: "boolean", default: false },
      "pr-dir": { type: "string" },
    },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  if (!(values.gt || values["gt-voc"]) || !values.dets) {
    return usageError(io, "metrics", "--gt FILE (or --gt-voc DIR) and --dets FILE are required");
  }
  if (values.gt && values["gt-voc"]) return usageError(io, "metrics", "give either --gt or --gt-voc, not both");
  const iou = values.iou === undefined ? 0.5 : Number(values.iou);
  if (!(iou >= 0 && iou < 1)) return usageError(io, "metrics", `--iou must be a number in [0, 1), got ${values.iou}`);
  try {
    let gt;
    if (values.gt) gt = await readCocoGroundTruth(values.gt);
    else {
      // The same conversion as deno task data:coco, read back through the COCO parser, so both routes agree.
      const voc = await vocSplitToCoco(values["gt-voc"]!, values.split!);
      printProblems("metrics", voc.problems, io);
      gt = parseCocoGroundTruth(voc.json, voc.source);
    }
    const dets = await readCocoDetections(values.dets, { groundTruth: gt });
    const result = scoreDetections(gt.images, dets, {
      classes: gt.classes,
      coordinates: "pixels",
      imageSizes: gt.imageSizes,
      iouThreshold: iou,
      source: values.dets,
    });
    const prDir = values["pr-dir"];
    if (prDir) {
      await Deno.mkdir(prDir, { recursive: true });
      for (const [name, curve] of Object.entries(result.pr)) {
        await Deno.writeTextFile(`${prDir}/pr_${name}.json`, JSON.stringify(curve));
      }
    }
    const out = values.full
      ? {
        ...metricsSummary(result),
        cocoInput: result.cocoInput,
        numImages: result.numImages,
        numDetections: result.numDetections,
      }
      : apSummary(result);
    console.log(JSON.stringify(out, null, 2));
    return 0;
  } catch (e) {
    console.error(`metrics: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
