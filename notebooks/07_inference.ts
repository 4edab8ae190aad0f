/** Source of notebooks/07_inference.ipynb (`deno task notebooks build` regenerates the notebook from it). */

// %% [markdown]
// # 07 · Inference: detecting masks, and how fast
//
// The paper claims SSDv2 runs in real time. This notebook loads the kept weights of the SSDv2 run (as
// `deno task detect <run-dir> <image...>` does), detects faces with and without masks on a few val images, and
// measures the forward pass on every tfjs backend this machine offers (lib/backend `setupBackend`): `native` (our
// oneDNN addon), `wasm` (SIMD, multi-threaded where available), `cpu` (plain JavaScript) and `tensorflow`
// (tfjs-node, when installed). The paper's speeds come from a GPU; ours are CPU numbers on this machine.
//
// Under `smoke` the model is a 1-epoch run on generated images: its detections are noise.

// %%
import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import * as tf from "@tensorflow/tfjs";
import { BACKEND_CHOICES, setupBackend } from "../lib/backend/mod.ts";
import { loadImage, normalize, scanSplit } from "../lib/data/mod.ts";
import { loadDetector, loadRunModel, prepareImage } from "../lib/inference/mod.ts";
import { INPUT_HEIGHT, INPUT_WIDTH } from "../lib/types.ts";
import {
  displayPath,
  notebookContext,
  pictureGrid,
  show,
  ssdv2MissingNote,
  ssdv2RunDir,
  svgBundle,
  tableBundle,
} from "../lib/notebooks/mod.ts";

const ctx = await notebookContext();
console.log(ctx.banner);

const runDir = await ssdv2RunDir(ctx, { epochs: 1 });
// Relative to the repository: the outputs must not carry the paths of the machine that ran them.
console.log(runDir === null ? ssdv2MissingNote(ctx.resultsDir) : `run folder: ${displayPath(runDir)}`);

// %% [markdown]
// ## Detections on a few images
//
// Each image is resized to 320x240, passed through the network, decoded against the priors and filtered by
// per-class NMS; boxes scoring at least 0.5 are drawn (face_mask green, face red), over the ground truth (dashed).

// %%
const val = (await scanSplit(ctx.data.root, "val")).records;
const samples = val.filter((r) => r.boxes.length > 0).slice(0, 6);
if (runDir !== null) {
  // lib/inference's detector, as `deno task detect` uses it: decoding by the run's eval block, shown from 0.5.
  const detector = await loadDetector(runDir, { backend: "config", log: console.log });
  const pictures = [];
  for (const r of samples) {
    const bytes = await Deno.readFile(r.imagePath);
    const [found] = await detector.run(await prepareImage(bytes), { minScore: 0.5 });
    const dets = found.normalised; // the picture grid draws normalised boxes
    pictures.push({
      bytes,
      width: r.width,
      height: r.height,
      boxes: [...r.boxes, ...dets.map((d) => d.box)],
      labels: [...r.labels, ...dets.map((d) => d.label)],
      dashed: [...r.boxes.map(() => true), ...dets.map(() => false)],
      texts: [...r.boxes.map(() => ""), ...dets.map((d) => `${d.label === 1 ? "mask" : "face"} ${d.score.toFixed(2)}`)],
      caption: `${r.id}: ${dets.length} detections, ${r.boxes.length} faces`,
    });
  }
  detector.dispose();
  await show(svgBundle(pictureGrid(pictures, { columns: 3, cellWidth: 300 }), "[detections]"));
}

// %% [markdown]
// ## Speed per backend
//
// Forward passes of the same weights on each backend, at batch 1 (a camera stream) and batch 8 (offline
// evaluation), after one warm-up pass; images per second is the median over the timed passes. Decoding and NMS
// are not included (04 shows they cost little beside the forward pass). A backend that cannot start here is listed
// with the reason.

// %%
const REPEATS = ctx.profile === "smoke" ? 2 : 10;
const speedRows: (string | number | null)[][] = [];
if (runDir !== null) {
  const input = normalize(await loadImage(samples[0]?.imagePath ?? val[0].imagePath));
  for (const backend of BACKEND_CHOICES.filter((b) => b !== "auto")) {
    try {
      const info = await setupBackend({ backend, log: () => {} });
      const { model } = await loadRunModel(runDir);
      const perBatch = [1, 8].map((b) => {
        const x = tf.tidy(() => tf.tile(tf.tensor(input, [1, INPUT_HEIGHT, INPUT_WIDTH, 3]), [b, 1, 1, 1]));
        const run = () => {
          const t0 = performance.now();
          const out = model.predict(x) as tf.Tensor[];
          out.forEach((t) => t.dataSync());
          tf.dispose(out);
          return performance.now() - t0;
        };
        run();
        // Plain JavaScript is slow enough that three passes already give a stable median.
        const times = Array.from({ length: backend === "cpu" ? Math.min(REPEATS, 3) : REPEATS }, run).sort((p, q) => p - q);
        x.dispose();
        return (1000 * b) / times[Math.floor(times.length / 2)];
      });
      model.dispose();
      speedRows.push([backend, info.name, info.threads, perBatch[0], perBatch[1], "ok"]);
    } catch (e) {
      speedRows.push([backend, null, null, null, null, `not available: ${(e as Error).message.slice(0, 160)}`]);
    }
  }
  await show(tableBundle({
    caption: `Forward pass of ${runDir.split("/").pop()} at 240x320, images per second (median of ${REPEATS} passes, at most 3 on cpu)`,
    columns: ["backend", "tfjs name", "threads", "img/s, batch 1", "img/s, batch 8", "status"],
    rows: speedRows,
    digits: 1,
  }));
}
