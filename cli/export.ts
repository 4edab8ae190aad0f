/**
 * `deno task export <run-dir> --format onnx|tfjs [--out FILE|DIR] [--weights model|model_best] [--bn-nodes]`:
 * writes a trained run's model in a form that runs outside this repository (lib/export): a standard TF.js
 * layers-model folder, or an ONNX file with a `.meta.json` sidecar. The run folder itself is only read.
 * @module
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { exportOnnx } from "../lib/export/onnx.ts";
import { exportTfjs } from "../lib/export/tfjs.ts";
import type { Io } from "./command_args.ts";

const HELP = `Usage: deno task export <run-dir> --format onnx|tfjs [--out FILE|DIR] [--weights NAME] [--bn-nodes]

Writes the run's kept weights as a model that runs without this repository:
  tfjs   a TF.js layers-model folder (model.json + group1-shard1of1.bin) of standard layers only, loadable with
         plain tf.loadLayersModel; its userDefinedMetadata holds the priors config, variances, class names and
         the eval settings
  onnx   an ONNX file (opset 13; input image [N, 240, 320, 3] NHWC float32, outputs logits [N, P, 3],
         offsets [N, P, 4] and priors [P, 4]) and <name>.meta.json beside it with the same metadata

Options:
  --format F      onnx or tfjs (required)
  --out PATH      the ONNX file or the TF.js folder (default <run-dir>/export/model.onnx or <run-dir>/export/tfjs)
  --weights NAME  weights folder inside the run: model (the run's result, default) or model_best
  --bn-nodes      ONNX: keep BatchNormalization nodes instead of folding them into the convolutions
  -h, --help      show this help
`;

/** Runs the command on `args`; returns the exit code. */
export async function main(args: string[], io: Io = { log: console.log, error: console.error }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        out: { type: "string" },
        weights: { type: "string", default: "model" },
        "bn-nodes": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    io.error(`export: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    io.error(`export: give exactly one run folder, got ${positionals.length}\n\n${HELP}`);
    return 2;
  }
  const format = values.format;
  if (format !== "onnx" && format !== "tfjs") {
    io.error(`export: --format must be onnx or tfjs, got ${format ?? "nothing"}\n\n${HELP}`);
    return 2;
  }
  if (values["bn-nodes"] && format !== "onnx") {
    io.error(`export: --bn-nodes applies to --format onnx only\n\n${HELP}`);
    return 2;
  }
  const runDir = positionals[0].replace(/\/+$/, "");
  // Export needs no fast kernels, and the cpu backend is always there; PROD only keeps its "use tfjs-node" banner
  // out of the command's output.
  tf.env().set("PROD", true);
  await tf.setBackend("cpu");
  try {
    if (format === "tfjs") {
      const res = await exportTfjs(runDir, values.out ?? `${runDir}/export/tfjs`, { weights: values.weights });
      io.log(
        `wrote ${res.files.join(" and ")} (${res.weightBytes} bytes of weights, ${res.metadata.priors.count} priors)`,
      );
    } else {
      const res = await exportOnnx(runDir, values.out ?? `${runDir}/export/model.onnx`, {
        weights: values.weights,
        foldBatchNorm: !values["bn-nodes"],
      });
      const ops = Object.entries(res.opCounts).map(([k, n]) => `${k} ${n}`).join(", ");
      io.log(`wrote ${res.file} (${res.bytes} bytes; ${ops}) and ${res.sidecar}`);
    }
    return 0;
  } catch (e) {
    io.error(`export: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
