/**
 * The native oneDNN backend: `loadNative` registers a tfjs backend named "native" (the wasm backend with oneDNN
 * convolution kernels and fused CB / DCB blocks) when the addon in native/ has been built.
 * @module
 */
export { loadNative, type LoadNativeOptions, type LoadNativeResult, nativeAddon } from "./native.ts";
export {
  ACTIVATION_CODES,
  ADDON_PATH,
  addonBuilt,
  BUILD_HINT,
  type ConvParams,
  type NativeAddon,
  type NativePlanHandle,
} from "./addon.ts";
export { convParams, heapView, NATIVE_BACKEND } from "./kernels.ts";
export { FUSED_KERNELS, nativeFusedBlocks } from "./fused_blocks.ts";
export {
  type EncodedPlan,
  encodePlan,
  NativePlan,
  type PlanActivation,
  type PlanAdd,
  type PlanConcat,
  type PlanConv,
  type PlanEltwise,
  type PlanMaxPool,
  type PlanOp,
  type PlanOutputSpec,
  type PlanPadding,
  type PlanSpec,
  type PlanTensorShape,
} from "./plan.ts";
