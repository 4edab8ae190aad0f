/**
 * What every notebook needs first: its profile, the data it reads and the results folder, chosen in one place so
 * that the seven notebooks agree. `smoke` writes a small generated data set into a temporary folder (CI, a few
 * minutes for all notebooks); `full` reads the real data (`FACEMASK_DATA`, else `data/aizoo-facemask`) and the run
 * folders in `results/`.
 * @module
 */

import { type DataSource, resolveData } from "../data/dataset.ts";
import { generateDataset } from "../data/generate.ts";
import { type NotebookProfile, notebookProfile } from "./nbformat.ts";

/** The notebook's setting. */
export interface NotebookContext {
  profile: NotebookProfile;
  /** Where the data is, and how to describe it. */
  data: DataSource;
  /** The repository's `results/` folder (run folders of `deno task train`, `ablation`, `backbones`). */
  resultsDir: string;
  /** One line to print at the top of a notebook. */
  banner: string;
}

/** Options of {@link notebookContext}. */
export interface ContextOptions {
  /** Generated images per split under `smoke` (default 24 train / 8 val). */
  smoke?: { train: number; val: number };
  /** Seed of the generated data under `smoke` (default 7). */
  seed?: number;
  /** Environment to read (default: the process's). */
  env?: Record<string, string | undefined>;
  /** The results folder (default: `<repo>/results`). */
  resultsDir?: string;
}

const REPO_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

// The banner names the data folder, not its path: notebook outputs must not carry the paths of the machine that ran
// them.
const SOURCE_WORDS: Readonly<Record<string, string>> = {
  flag: "from --data",
  env: "from FACEMASK_DATA",
  default: "data/aizoo-facemask",
  generated: "generated",
};

/**
 * Resolves the profile, data and results folder. Under `full`, data comes from lib/data's `resolveData`
 * (`FACEMASK_DATA`, else `data/aizoo-facemask`); if only generated data is found, the banner says so loudly, as
 * every number shown is then meaningless for the paper.
 */
export async function notebookContext(options: ContextOptions = {}): Promise<NotebookContext> {
  const env = options.env ?? Deno.env.toObject();
  const profile = notebookProfile(env);
  const resultsDir = options.resultsDir ?? `${REPO_ROOT}/results`;
  if (profile === "smoke") {
    const counts = options.smoke ?? { train: 24, val: 8 };
    const seed = options.seed ?? 7;
    const root = await Deno.makeTempDir({ prefix: "notebook_smoke_" });
    await generateDataset(root, { seed, ...counts });
    const description = `GENERATED synthetic scenes (smoke profile: seed ${seed}, ${counts.train} train / ` +
      `${counts.val} val images in a temporary folder)`;
    return {
      profile,
      data: { root, source: "generated", generated: true, description },
      resultsDir,
      banner: `profile smoke: ${description}. Numbers below say nothing about the paper.`,
    };
  }
  const data = await resolveData({ env: env.FACEMASK_DATA ?? null });
  const banner = data.generated
    ? `profile full, but NO REAL DATA was found, so this uses ${data.description}. Set FACEMASK_DATA to the ` +
      "aizoo-facemask folder for real numbers."
    : `profile full: data folder ${data.root.replace(/\/+$/, "").split("/").pop()} (${
      SOURCE_WORDS[data.source] ?? data.source
    }).`;
  return { profile, data, resultsDir, banner };
}
