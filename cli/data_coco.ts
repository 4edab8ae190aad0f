/**
 * `deno task data:coco --data DIR [--split val] [--out GT.json]`: one split of a VOC data set (AIZOO layout: images
 * beside Pascal VOC XML) as COCO ground truth, the file `deno task metrics --gt` reads and scores
 * `deno task detect --coco` results against. Image ids are the file stems (what both lib/data and `detect` call an
 * image); a `difficult` box is written with `iscrowd: 1` and `difficult: 1`, which lib/metrics and pycocotools both
 * count neither as a hit nor as a miss. Samples lib/data cannot use are left out, as in training and evaluation, and
 * listed on stderr.
 * @module
 */
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";
import { type DataProblem, formatProblem, scanSplit } from "../lib/data/mod.ts";
import { type CocoGroundTruthJson, toCocoGroundTruth } from "../lib/metrics/mod.ts";
import { writeJsonAtomic } from "../lib/runs/mod.ts";

const HELP = `usage: deno task data:coco --data DIR [--split val] [--out GT.json]

Writes the split DIR/<split> (images beside Pascal VOC XML) as COCO ground truth: images {id: file stem,
file_name, width, height}, annotations {image_id, category_id (1 face_mask, 2 face), bbox [x, y, w, h] in pixels,
area, iscrowd, difficult}, categories. Difficult boxes get iscrowd 1 and difficult 1: they count neither way.
Samples with problems (unreadable image, bad XML) are left out, as in training and evaluation, and listed on stderr.

options:
  --data DIR     data root (default FACEMASK_DATA)
  --split NAME   split folder (default val)
  --out FILE     where to write (default: stdout)
  -h, --help     this text`;

/** A VOC split as COCO ground truth, and what lib/data left out. */
export interface VocSplitCoco {
  /** `<root>/<split>`: names the data in messages. */
  source: string;
  json: CocoGroundTruthJson;
  problems: DataProblem[];
}

/**
 * Reads `<root>/<split>` with lib/data's `scanSplit` (the records training and evaluation use) and turns it into COCO
 * ground truth with named image ids. Throws when the split has no usable sample.
 */
export async function vocSplitToCoco(root: string, split: string): Promise<VocSplitCoco> {
  const source = `${root.replace(/\/+$/, "")}/${split}`;
  const { records, problems } = await scanSplit(root, split);
  if (records.length === 0) {
    const why = problems.filter((p) => p.severity === "error").map(formatProblem).slice(0, 3).join("; ");
    throw new Error(`${source}: no usable annotated images${why ? ` (${why})` : ""}`);
  }
  const json = toCocoGroundTruth(
    records.map((r) => ({ imageId: r.id, boxes: r.boxes, labels: r.labels, difficult: r.difficult })),
    {
      imageIds: "names",
      imageSizes: Object.fromEntries(records.map((r) => [r.id, { width: r.width, height: r.height }])),
      fileNames: Object.fromEntries(records.map((r) => [r.id, r.imagePath.slice(r.imagePath.lastIndexOf("/") + 1)])),
    },
  );
  return { source, json, problems };
}

/** Writes the problems lib/data found, one line each, and says how many samples were left out. */
export function printProblems(name: string, problems: readonly DataProblem[], io: Io): void {
  for (const p of problems) io.error(`${name}: ${formatProblem(p)}`);
  const left = problems.filter((p) => p.severity === "error").length;
  if (left > 0) io.error(`${name}: ${left} problem(s) left samples out of the ground truth (listed above)`);
}

const CONSOLE: Io = { log: (l) => console.log(l), error: (l) => console.error(l) };

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[], io: Io = CONSOLE): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "data:coco",
    help: HELP,
    options: {
      data: { type: "string" },
      split: { type: "string", default: "val" },
      out: { type: "string" },
    },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const v = parsed.values;
  const root = v.data ?? (Deno.env.get("FACEMASK_DATA") || undefined);
  if (!root) return usageError(io, "data:coco", "--data DIR is required (or set FACEMASK_DATA)");
  try {
    const { source, json, problems } = await vocSplitToCoco(root, v.split);
    printProblems("data:coco", problems, io);
    if (v.out) {
      const slash = v.out.lastIndexOf("/");
      if (slash > 0) await Deno.mkdir(v.out.slice(0, slash), { recursive: true });
      await writeJsonAtomic(v.out, json);
    } else io.log(JSON.stringify(json));
    const difficult = json.annotations.filter((a) => a.iscrowd === 1).length;
    io.error(
      `data:coco: ${json.images.length} images, ${json.annotations.length} boxes (${difficult} difficult) from ` +
        `${source}${v.out ? ` -> ${v.out}` : ""}`,
    );
    return 0;
  } catch (e) {
    io.error(`data:coco: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
