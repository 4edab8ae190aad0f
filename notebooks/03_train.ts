/** Source of notebooks/03_train.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 03 · Training one configuration
//
// The paper trains SSDv2 with SGD (momentum 0.9, lr 1e-2, weight decay 5e-4) for 100 epochs at batch 32. We follow
// the schedule of the public code it matches (docs/design.md): Nesterov momentum, 5 warm-up epochs, lr x0.1
// at epochs 50 and 70 with a floor of 1e-4, random crop, flip and photometric distortion; unlike that code we do
// apply the weight decay, as the paper says. A run is one config file (`experiments/ablation/branches-4.json` for
// the full SSDv2) trained by `deno task train <config>` into a run folder `results/<experiment>/<run-id>/`
// holding config.json, the per-epoch log, checkpoints, the kept weights, metrics.json, the P-R curves and
// provenance.json (docs/design.md).
//
// A 100-epoch run takes hours on a CPU, so this notebook does not train one under the `full` profile: it **reads
// the run folder** the lead trained and shows its curves. Under `smoke` it trains a tiny run (2 epochs on the
// generated images) with the same code, to check that the pipeline works end to end.

// %%
import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { readRun } from "../lib/runs/read.ts";
import { epochChartRows, perClassTable, summarizeRun, trainingChartSpec } from "../lib/reporting/mod.ts";
import {
  chartBundle,
  displayPath,
  notebookContext,
  show,
  showTable,
  ssdv2MissingNote,
  ssdv2RunDir,
  tableBundle,
} from "../lib/notebooks/mod.ts";

const ctx = await notebookContext();
console.log(ctx.banner);

// %% [markdown]
// ## The run
//
// Under `full`: the evaluated SSDv2 run (4 branches) with the longest schedule in `results/`, preferring the
// paper-schedule ablation run, then the backbone run, then the short-schedule and quick runs. Runs on generated data are never
// shown under `full`.

// %%
const runDir = await ssdv2RunDir(ctx);
// The run folder read and checked once (lib/runs readRun): config, provenance, metrics and the per-epoch log.
const run = runDir === null ? null : await readRun(runDir);
if (run === null) {
  console.log(ssdv2MissingNote(ctx.resultsDir));
} else {
  const { config, provenance: prov } = run;
  // Paths relative to the repository: the outputs must not carry the paths of the machine that ran them.
  console.log(`run folder: ${displayPath(run.dir)}`);
  console.log(`config: ${config.experiment}/${config.name}: ${config.description}`);
  console.log(
    `schedule: ${config.train.epochs} epochs, batch ${config.train.batchSize} (micro-batches of ` +
      `${config.train.microBatch}), lr ${config.train.lr}, warm-up ${config.train.warmupEpochs}, decay at ` +
      `[${config.train.decayEpochs}], weight decay ${config.train.weightDecay}`,
  );
  if (prov === null) console.log("no provenance.json in the run folder");
  else {
    console.log(
      `data: folder ${displayPath(prov.data.root)} (${prov.data.trainImages} train / ${prov.data.valImages} val ` +
        `images, ${prov.data.label})`,
    );
    console.log(
      `backend ${prov.backend.name}; commit ${prov.commit ?? "?"}${prov.dirty ? " (dirty)" : ""}; ` +
        `${prov.durationSeconds ? (prov.durationSeconds / 3600).toFixed(2) : "?"} h; ` +
        `${prov.trainImgPerSec?.toFixed(1) ?? "?"} train img/s`,
    );
  }
}

// %% [markdown]
// ## Loss and validation mAP per epoch
//
// The loss is the multibox loss per positive prior (softmax cross-entropy over positives and the hardest
// negatives at 3:1, plus Smooth L1 on the positives' offsets); mAP is the Pascal VOC all-point mAP at IoU 0.5 on
// the val split, computed every `eval.everyEpochs` epochs.

// %%
if (run !== null) {
  const summary = summarizeRun(run);
  await show(await chartBundle(trainingChartSpec(epochChartRows(run.log), { dataLabel: summary.dataLabel })));
  const evaluated = run.log.filter((r) => r.val_map !== null);
  await show(tableBundle({
    caption: "Evaluated epochs",
    columns: ["epoch", "lr", "loss", "val mAP", "AP face_mask", "AP face", "train img/s"],
    rows: evaluated.map((r) => [r.epoch, r.lr, r.loss, r.val_map, r.val_ap_face_mask, r.val_ap_face, r.train_img_s]),
    digits: 4,
  }));
}

// %% [markdown]
// ## Final evaluation of the kept weights
//
// The run keeps the weights of its best validation epoch and evaluates them once more at the end
// (`metrics.json`). The paper reports 80.97% (face_mask) and 64.61% (face) AP on its 1,839 test images; ours are on
// the 930 val images of our subset.

// %%
if (run !== null) {
  await showTable(await perClassTable(summarizeRun(run)));
}
