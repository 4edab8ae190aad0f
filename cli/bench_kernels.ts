/**
 * `deno task bench:kernels [--json] [--batch 8] [--min-ms 300]`: GFLOP/s of the forward conv kernels and of their
 * gradients on the wasm backend over the SSDv2 layer shapes at 240x320, with the gradient/forward ratio per layer
 * (the target is >= 1/3).
 * @module
 */
import { parseArgs } from "node:util";
import {
  benchLayer,
  describeBackend,
  formatBenchTable,
  type LayerBench,
  setupBackend,
  SSDV2_LAYERS,
} from "../lib/backend/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean", default: false },
    batch: { type: "string", default: "8" },
    "min-ms": { type: "string", default: "300" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("usage: deno task bench:kernels [--json] [--batch 8] [--min-ms 300]");
  Deno.exit(0);
}
const batch = Number(values.batch);
const minMs = Number(values["min-ms"]);
if (!Number.isInteger(batch) || batch < 1) {
  throw new Error(`bench:kernels: --batch must be a positive integer, got ${values.batch}`);
}
if (!(minMs >= 0)) throw new Error(`bench:kernels: --min-ms must be a number >= 0, got ${values["min-ms"]}`);

const info = await setupBackend({ backend: "wasm", log: values.json ? () => {} : console.log });
const results: LayerBench[] = [];
for (const layer of SSDV2_LAYERS) {
  results.push(benchLayer(layer, { batch, minMs }));
  if (!values.json) console.error(`  measured ${layer.name}`);
}
if (values.json) {
  console.log(JSON.stringify({ backend: describeBackend(info), batch, results }, null, 2));
} else {
  console.log(`wasm kernels, batch ${batch}, median of repeated runs; ratio = gradient GFLOP/s / forward GFLOP/s`);
  console.log(formatBenchTable(results));
  // Conv2DBackpropInput is tfjs-wasm's own kernel, listed for comparison (it is slow); the other gradients
  // are ours (lib/backend/wasm_kernels.ts).
  const ours = (r: LayerBench) => r.layer.kind === "depthwise" ? Math.min(r.ratioFilter, r.ratioInput) : r.ratioFilter;
  const slow = results.filter((r) => ours(r) < 1 / 3);
  console.log(
    slow.length === 0
      ? "our gradient kernels (dW everywhere, dX of depthwise) all reach 1/3 of the forward conv's rate"
      : `our gradient kernels below 1/3 of forward: ${slow.map((r) => r.layer.name).join(", ")}`,
  );
  const builtin = results.filter((r) => r.layer.kind === "conv" && r.ratioInput < 1 / 3);
  if (builtin.length > 0) {
    console.log(`tfjs-wasm's own Conv2DBackpropInput is below 1/3 of forward on ${builtin.length} conv layers`);
  }
}
