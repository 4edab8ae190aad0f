/** Source of notebooks/06_backbones.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 06 · Backbones: accuracy against speed and training cost
//
// The paper argues that SSDv2 is both accurate and light enough for real-time use. To put that in context we train
// the same priors, heads, loss and schedule on four trunks (ours, docs/design.md): SSDv2's, the
// Ultra-Light-Fast-Generic-Face-Detector's `slim` and `rfb`, and the AIZOOTech model's `aizoo`. For each we report
// mAP, parameters, MACs, inference speed (forward pass, images per second on the run's backend) and training
// speed.
//
// `deno task backbones --profile paper` trains `experiments/backbones/<trunk>.json` (100 epochs) into
// `results/backbones/`; `--profile short` trains 12 epochs on all training images into `results/backbones/short/`
// and `--profile quick` 3 epochs on 1,536 images into `results/backbones/quick/`. The SSDv2 trunk of the short and
// paper profiles is the very same config as the 4-branch run of the ablation of that profile, so the grid reuses
// that run (its folder lives under `results/ablation/...`). Under `full` this notebook reads those run folders
// (paper schedule first, then short, then quick, and says which); under `smoke` it trains four 1-epoch runs on
// generated images.
//
// Speeds depend on the machine and the tfjs backend of each run (printed in the table); compare runs made on the
// same machine only.

// %%
import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { backboneChartSpec, backboneTable } from "../lib/reporting/mod.ts";
import { TRUNKS } from "../lib/model/mod.ts";
import {
  chartBundle,
  displayPath,
  gridRuns,
  notebookContext,
  sharedSsdv2Experiment,
  show,
  showRunsTable,
  tableBundle,
} from "../lib/notebooks/mod.ts";
import type { ListedRun } from "../lib/runs/read.ts";

const ctx = await notebookContext();
console.log(ctx.banner);

const runs = await gridRuns(ctx, {
  keys: TRUNKS,
  query: (trunk) => ({ trunk, branches: 4 }),
  smoke: (trunk) => ({ name: trunk, experiment: "backbones", model: { trunk, branches: 4 }, epochs: 1, limitTrain: 8 }),
  command: "backbones",
  missing: (trunks) => `of ${trunks.join(", ")}`,
  quickCaveat: ": compare them with each other, not with the paper",
  profiles: ["short", "quick"],
  // The ablation's 4-branch run where it is the same config as the ssdv2 backbone run.
  shared: (profile) => [sharedSsdv2Experiment(profile === "paper" ? "backbones" : `backbones/${profile}`) ?? []].flat(),
});
const present = runs.filter((r): r is ListedRun => r !== null);
for (const r of present) console.log(`${r.config.model.trunk}: ${displayPath(r.dir)}`);

// %% [markdown]
// ## The comparison table

// %%
const summaries = await showRunsTable(present, { build: backboneTable, empty: "no backbone runs to show" });

// %% [markdown]
// ## mAP against inference speed
//
// Up and to the right is better. Each point is one trunk; the forward-pass speed is measured at the end of its
// run on the val images.

// %%
if (summaries.length > 0) {
  await show(await chartBundle(backboneChartSpec(summaries, { dataLabel: summaries[0].dataLabel })));
}

// %% [markdown]
// ## Training cost
//
// Training speed (images per second, gradient steps included, data loading and augmentation too) and the wall time
// of each run, from `provenance.json`. The epochs column says how long each run was (short: 12 epochs, quick: 3).
// A speed belongs to the code of its run's commit: the native backend gained a oneDNN dilated convolution (for
// `rfb`) and a C++ max-pool gradient (for `aizoo`) during the backbone runs, so compare commits before speeds.

// %%
if (present.length > 0) {
  await show(tableBundle({
    caption: "Training cost per trunk",
    columns: ["trunk", "epochs", "train images", "train img/s", "wall time (min)", "backend", "commit"],
    rows: present.map(({ config: c, provenance: p }) => [
      c.model.trunk,
      c.train.epochs,
      p?.data.trainImages ?? null,
      p?.trainImgPerSec ?? null,
      p?.durationSeconds == null ? null : p.durationSeconds / 60,
      p?.backend.name ?? "?",
      p?.commit ? p.commit.slice(0, 7) : "?",
    ]),
    digits: 2,
  }));
}

// %% [markdown]
// ## What the numbers say
//
// Computed from the runs above, so it never goes stale: the trunks ranked by mAP and by inference speed. The
// comparison is fair only within one profile (same data, schedule, priors, heads and loss); the paper's claim that
// SSDv2 is both accurate and fast is checked here against these three alternatives, which the paper does not run.

// %%
if (summaries.length > 0) {
  const pctOf = (m: number | null) => (m === null ? "n/a" : `${(100 * m).toFixed(2)}%`);
  const byMap = [...summaries].sort((a, b) => (b.map ?? -1) - (a.map ?? -1));
  console.log(`by mAP: ${byMap.map((s) => `${s.trunk} ${pctOf(s.map)}`).join(" > ")}`);
  const byFps = [...summaries].filter((s) => s.fps !== undefined).sort((a, b) => b.fps! - a.fps!);
  console.log(`by forward speed: ${byFps.map((s) => `${s.trunk} ${s.fps!.toFixed(0)} img/s`).join(" > ")}`);
  const ssdv2 = summaries.find((s) => s.trunk === "ssdv2");
  if (ssdv2?.map != null) {
    for (const s of summaries.filter((s) => s !== ssdv2 && s.map !== null)) {
      const d = 100 * (s.map! - ssdv2.map);
      console.log(`${s.trunk} vs ssdv2: ${d >= 0 ? "+" : ""}${d.toFixed(2)} mAP points` +
        (s.macs && ssdv2.macs ? `, ${(s.macs / ssdv2.macs).toFixed(2)}x the MACs` : ""));
    }
  }
}
