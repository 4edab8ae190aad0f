/**
 * `deno task bench:kernels [--json] [--batch 8] [--min-ms 300] [--compare] [--strategy auto|phases|dilate]
 * [--layers CB1,CB3]`: GFLOP/s of the forward conv kernels and of their gradients on the wasm backend over the
 * SSDv2 layer shapes at 240x320, with the gradient/forward ratio per layer (the target is >= 1/3). `--compare` also
 * times tfjs-wasm's own Conv2DBackpropInput (which lib/backend replaces) for before/after ratios; `--strategy`
 * picks how our Conv2DBackpropInput works (see ConvInputGradStrategy).
 * @module
 */
import { type ConvInputGradStrategy, describeBackend, setupBackend, wasmConvInputGrad } from "../lib/backend/mod.ts";
import { benchLayer, formatBenchTable, type LayerBench, SSDV2_LAYERS } from "../lib/bench/kernels.ts";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";

const STRATEGIES: readonly ConvInputGradStrategy[] = ["auto", "phases", "dilate"];

const HELP = "usage: deno task bench:kernels [--json] [--batch 8] [--min-ms 300] [--compare] " +
  "[--strategy auto|phases|dilate] [--layers CB1,CB3 (name prefixes)]";

const CONSOLE: Io = { log: (l) => console.log(l), error: (l) => console.error(l) };

/** Runs the command on `args`; returns the exit code (2: bad command line). */
export async function main(args: string[], io: Io = CONSOLE): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "bench:kernels",
    help: HELP,
    options: {
      json: { type: "boolean", default: false },
      batch: { type: "string", default: "8" },
      "min-ms": { type: "string", default: "300" },
      compare: { type: "boolean", default: false },
      strategy: { type: "string", default: "auto" },
      layers: { type: "string" },
    },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const bad = (problem: string) => usageError(io, "bench:kernels", problem);
  const batch = Number(values.batch);
  const minMs = Number(values["min-ms"]);
  if (!Number.isInteger(batch) || batch < 1) return bad(`--batch must be a positive integer, got ${values.batch}`);
  if (!(minMs >= 0)) return bad(`--min-ms must be a number >= 0, got ${values["min-ms"]}`);
  const strategy = values.strategy as ConvInputGradStrategy;
  if (!STRATEGIES.includes(strategy)) {
    return bad(`--strategy must be one of ${STRATEGIES.join(", ")}, got ${values.strategy}`);
  }
  const prefixes = values.layers?.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const layers = prefixes ? SSDV2_LAYERS.filter((l) => prefixes.some((p) => l.name.startsWith(p))) : SSDV2_LAYERS;
  if (layers.length === 0) return bad(`--layers '${values.layers}' matches no SSDv2 layer`);
  wasmConvInputGrad.strategy = strategy;

  const info = await setupBackend({ backend: "wasm", log: values.json ? () => {} : io.log });
  const results: LayerBench[] = [];
  for (const layer of layers) {
    results.push(benchLayer(layer, { batch, minMs, compareBuiltin: values.compare }));
    if (!values.json) io.error(`  measured ${layer.name}`);
  }
  if (values.json) {
    io.log(JSON.stringify({ backend: describeBackend(info), batch, strategy, results }, null, 2));
  } else {
    io.log(
      `wasm kernels, batch ${batch}, dX strategy ${strategy}, median of repeated runs; ` +
        "ratio = gradient GFLOP/s / forward GFLOP/s",
    );
    io.log(formatBenchTable(results));
    // All three gradients are ours now (lib/backend/wasm_kernels.ts); `--compare` adds tfjs-wasm's own dX.
    const slow = results.filter((r) => Math.min(r.ratioFilter, r.ratioInput) < 1 / 3);
    io.log(
      slow.length === 0
        ? "all gradient kernels (dW and dX) reach 1/3 of the forward conv's rate"
        : `gradient kernels below 1/3 of forward: ${slow.map((r) => r.layer.name).join(", ")}`,
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
