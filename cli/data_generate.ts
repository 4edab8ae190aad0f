/**
 * `deno task data:generate --out DIR [--seed N] [--train N] [--val N]`: writes a seeded set of generated
 * face-mask scenes in AIZOO's layout (labelled as generated in its README.txt and XML files).
 * @module
 */

import { GENERATED_DEFAULTS, generateDataset } from "../lib/data/mod.ts";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";

const HELP = `Usage: deno task data:generate --out DIR [--seed N] [--train N] [--val N]

Writes generated face-mask scenes (gradient-and-noise backgrounds, 1-6 drawn faces of 12-200 px, masked faces
labelled face_mask, bare faces face, exact boxes) as <DIR>/train/*.jpg|xml and <DIR>/val/*.jpg|xml, plus a
README.txt saying they are generated. The same seed and counts always write the same files.

Options:
  --out DIR      output folder (required; created when missing)
  --seed N       seed (default ${GENERATED_DEFAULTS.seed})
  --train N      training images (default ${GENERATED_DEFAULTS.train})
  --val N        validation images (default ${GENERATED_DEFAULTS.val})
  -h, --help     show this help
`;

function count(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number >= 0, got '${text}'`);
  return n;
}

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[], io: Io = { log: console.log, error: console.error }): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "data:generate",
    help: HELP,
    options: { out: { type: "string" }, seed: { type: "string" }, train: { type: "string" }, val: { type: "string" } },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  if (!values.out) return usageError(io, "data:generate", "--out DIR is required");
  let options;
  try {
    options = {
      seed: count("seed", values.seed, GENERATED_DEFAULTS.seed),
      train: count("train", values.train, GENERATED_DEFAULTS.train),
      val: count("val", values.val, GENERATED_DEFAULTS.val),
    };
  } catch (e) {
    return usageError(io, "data:generate", (e as Error).message);
  }
  try {
    const t0 = performance.now();
    const r = await generateDataset(values.out, options);
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    io.log(`wrote GENERATED data to ${r.root} (seed ${r.seed}) in ${s} s`);
    for (const split of ["train", "val"] as const) {
      io.log(
        `${split}: ${r.images[split]} images, ${r.boxes[split].face} face, ${r.boxes[split].face_mask} face_mask boxes`,
      );
    }
    return 0;
  } catch (e) {
    io.error(`data:generate: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
