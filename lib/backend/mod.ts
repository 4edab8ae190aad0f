/**
 * Backends: choosing and setting up tfjs ({@link setupBackend}), and the training kernels we add to the wasm
 * backend. The native oneDNN backend lives in ./native and is reached through `setupBackend`; its addon also prepares
 * training samples ({@link nativeBatchPreparer}).
 * @module
 */
export {
  BACKEND_CHOICES,
  type BackendAttempt,
  type BackendChoice,
  type BackendInfo,
  describeBackend,
  setupBackend,
  type SetupBackendOptions,
  TFJS_NODE_HINT,
  type TfjsNodeStatus,
  tfjsNodeStatus,
} from "./setup.ts";
export {
  type ConvInputGradStrategy,
  ORIGINAL_WASM_KERNELS,
  registerWasmTrainingKernels,
  WASM_TRAINING_KERNELS,
  wasmConvInputGrad,
  wasmKernelLimits,
} from "./wasm_kernels.ts";
export { createNativePreparer, nativeBatchPreparer } from "./native/prep.ts";
