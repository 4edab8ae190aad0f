/**
 * The seam between the model's block layers and an optional fused implementation of them.
 *
 * The CB and DCB layers (lib/model) always have a plain tfjs definition. A backend that can run a whole block
 * faster in one call (the native oneDNN backend in lib/backend/native) registers a {@link FusedBlocks} here; a block
 * layer uses it only while `tf.getBackend()` equals {@link FusedBlocks.backendName}. The layer keeps ownership of
 * its variables and of the moving-statistics update, so the update rule is written once for both paths.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** Batch-norm parameters of one block stage, as the layer holds them. */
export interface BnParams {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  movingMean: tf.Tensor1D;
  movingVariance: tf.Tensor1D;
}

/** Options shared by the fused blocks. */
export interface FusedOptions {
  /** 1 or 2. Padding is always one pixel of zeros on every side for the 3x3 stage (ZP at stride 2). */
  stride: 1 | 2;
  /** Training mode normalises with batch statistics and returns them; inference uses the moving statistics. */
  training: boolean;
  /** Batch-norm epsilon. */
  epsilon: number;
}

/**
 * Result of a fused block. In training mode `stats` holds, per BN stage in order, the batch mean and the biased
 * batch variance the block normalised with (no gradient flows through them); the layer updates its moving
 * statistics from them. In inference mode `stats` is empty.
 */
export interface FusedResult {
  y: tf.Tensor4D;
  stats: { mean: tf.Tensor1D; variance: tf.Tensor1D }[];
}

/** A fused implementation of the CB and DCB blocks, differentiable through tfjs custom gradients. */
export interface FusedBlocks {
  /** The tfjs backend on which these blocks may be used. */
  readonly backendName: string;
  /** CB: 3x3 conv (no bias, pad 1) + BN + ReLU. `kernel` is `[3, 3, cin, cout]`. */
  convBnRelu(x: tf.Tensor4D, kernel: tf.Tensor4D, bn: BnParams, options: FusedOptions): FusedResult;
  /**
   * DCB: 3x3 depthwise conv (no bias, pad 1, multiplier 1) + BN + ReLU, then 1x1 conv (no bias) + BN + ReLU.
   * `dwKernel` is `[3, 3, cin, 1]`, `pwKernel` is `[1, 1, cin, cout]`.
   */
  depthwiseBlock(
    x: tf.Tensor4D,
    weights: { dwKernel: tf.Tensor4D; bn1: BnParams; pwKernel: tf.Tensor4D; bn2: BnParams },
    options: FusedOptions,
  ): FusedResult;
  /**
   * 3x3, stride-1, 'same' convolution with dilation `dilation` (no bias), differentiable in `x` and `kernel`
   * (`[3, 3, cin, cout]`). Optional: without it {@link DilatedConv2D} runs its plain form, a zero-filled
   * (2d+1)x(2d+1) kernel, because tfjs has no gradient for dilated convolutions.
   */
  dilatedConv?(x: tf.Tensor4D, kernel: tf.Tensor4D, dilation: number): tf.Tensor4D;
}

let registered: FusedBlocks | null = null;

/** Registers (or, with `null`, removes) the fused implementation. */
export function setFusedBlocks(impl: FusedBlocks | null): void {
  registered = impl;
}

/** The fused implementation to use on the given backend, or `null` when the plain definition must run. */
export function fusedBlocksFor(backendName: string): FusedBlocks | null {
  return registered && registered.backendName === backendName ? registered : null;
}
