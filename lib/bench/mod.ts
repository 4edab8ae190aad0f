/**
 * Benchmark machinery of `deno task bench`: the shared timing protocol, the oneDNN implementations the network's
 * convolutions run, the peers (PyTorch, ONNX Runtime) and the real training loop's throughput.
 * @module
 */
export * from "./protocol.ts";
export * from "./conv_impls.ts";
export * from "./peers.ts";
export * from "./loop.ts";
