/** Source of notebooks/06_backbones.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 06 · Backbones: accuracy against speed and training cost
//
// The paper argues that SSDv2 is both accurate and light enough for real-time use. To put that in context we train
// the same priors, heads, loss and schedule on four trunks (ours, DESIGN.md section 1): SSDv2's, the
// Ultra-Light-Fast-Generic-Face-Detector's `slim` and `rfb`, and the AIZOOTech model's `aizoo`. For each we report
// mAP, parameters, MACs, inference speed (forward pass, images per second on the run's backend) and training
// speed.
//
// `deno task backbones --profile paper` trains `experiments/backbones/<trunk>.json` (100 epochs) into
// `results/backbones/`; `--profile quick` trains 3 epochs on 192 images into `results/backbones/quick/`. Under
// `full` this notebook reads those run folders (paper schedule first, and says which); under `smoke` it trains
// four 1-epoch runs on generated images.
//
// Speeds depend on the machine and the tfjs backend of each run (printed in the table); compare runs made on the
// same machine only.

// %%
import "../lib/site/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { backboneChartSpec, backboneTable, type RunSummary } from "../lib/report/mod.ts";
import { runSummaryOf } from "../lib/train/mod.ts";
import { TRUNKS } from "../lib/model/mod.ts";
import {
  chartBundle,
  frameTable,
  listRuns,
  notebookContext,
  pickRun,
  type RunFolder,
  show,
  tableBundle,
  trainSmokeRun,
} from "../lib/site/mod.ts";

const ctx = await notebookContext();
console.log(ctx.banner);

let runs: (RunFolder | null)[] = [];
if (ctx.profile === "smoke") {
  const scratch = await Deno.makeTempDir({ prefix: "notebook_runs_" });
  for (const trunk of TRUNKS) {
    await trainSmokeRun(ctx, scratch, {
      name: trunk,
      experiment: "backbones",
      model: { trunk, branches: 4 },
      epochs: 1,
      limitTrain: 8,
    });
  }
  const found = await listRuns(scratch);
  runs = TRUNKS.map((trunk) => pickRun(found, { trunk, branches: 4, generated: true }));
} else {
  const found = await listRuns(ctx.resultsDir);
  for (const experiment of ["backbones", "backbones/quick"]) {
    runs = TRUNKS.map((trunk) => pickRun(found, { trunk, branches: 4, experiments: [experiment] }));
    const missing = TRUNKS.filter((_, i) => runs[i] === null);
    if (missing.length === 0) {
      if (experiment !== "backbones") {
        console.log(
          "NOTE: no complete set of paper-schedule runs in results/backbones/; showing the QUICK runs " +
            "(3 epochs on 192 images): their speeds are meaningful, their mAP is not.",
        );
      }
      break;
    }
    console.log(
      `MISSING in results/${experiment}/: evaluated real-data runs of ${missing.join(", ")} ` +
        `(train them with \`deno task backbones --profile ${experiment === "backbones" ? "paper" : "quick"}\`)`,
    );
  }
}
const present = runs.filter((r): r is RunFolder => r !== null);
for (const r of present) console.log(`${(r.config.model as { trunk: string }).trunk}: ${r.path}`);

// %% [markdown]
// ## The comparison table

// %%
let summaries: RunSummary[] = [];
if (present.length === 0) console.log("no backbone runs to show");
else {
  summaries = await Promise.all(present.map((r) => runSummaryOf(r.path)));
  const table = backboneTable(summaries);
  await show(tableBundle(frameTable(table.frame, { caption: table.title })));
  for (const note of table.notes) console.log(note);
}

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
// Training speed (images per second, gradient steps included) and the wall time of each run, from
// `provenance.json`. The epochs column says how long each run was: the quick profile trains 3 epochs.

// %%
if (present.length > 0) {
  await show(tableBundle({
    caption: "Training cost per trunk",
    columns: ["trunk", "epochs", "train images", "train img/s", "wall time (min)", "backend"],
    rows: present.map((r) => {
      const p = (r.provenance ?? {}) as {
        trainImgPerSec?: number;
        durationSeconds?: number;
        backend?: { name?: string };
        data?: { trainImages?: number };
      };
      const c = r.config as { model: { trunk: string }; train: { epochs: number } };
      return [
        c.model.trunk,
        c.train.epochs,
        p.data?.trainImages ?? null,
        p.trainImgPerSec ?? null,
        p.durationSeconds === undefined ? null : p.durationSeconds / 60,
        p.backend?.name ?? "?",
      ];
    }),
    digits: 2,
  }));
}
