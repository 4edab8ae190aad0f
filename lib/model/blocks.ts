/**
 * The two trunk blocks of SSDv2 as single tfjs layers that hold their own weights (docs/design.md):
 *
 * - CB  ({@link ConvBlock}): 3x3 conv (no bias) + BatchNorm + ReLU. Stride 2 is ZP (one pixel of zeros on every
 *   side) followed by a 'valid' conv; stride 1 is a 'same' conv (also one pixel each side for 3x3).
 * - DCB ({@link DepthwiseConvBlock}): (ZP at stride 2) 3x3 depthwise conv + BN + ReLU, then 1x1 conv + BN + ReLU.
 *
 * The batch norm reproduces tfjs-layers' `BatchNormalization` exactly (read from tfjs-layers 4.22
 * `layers/normalization.js`): training normalises with `tf.moments` over batch and space, i.e. the BIASED batch
 * variance, and updates `moving = moving - (moving - batch) * (1 - momentum)` with that biased variance;
 * inference uses the moving statistics; momentum 0.99 and epsilon 1e-3 by default.
 *
 * When `fusedBlocksFor(tf.getBackend())` returns an implementation, call() runs it instead of the plain ops and
 * applies the same moving-statistics update from the batch statistics it returns, so the rule is written once.
 *
 * {@link DilatedConv2D} is a 3x3 conv with dilation for the RFB trunk: tfjs has no gradient for dilated convs, so
 * it spreads its 3x3 kernel into a zero-filled (2d+1)^2 kernel with differentiable ops and runs a plain conv.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type BnParams, fusedBlocksFor } from "./fused.ts";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];

/** Batch-norm settings shared by the block layers. */
export interface BnArgs {
  /** Moving-average momentum (tfjs/Keras convention); default 0.99. */
  momentum?: number;
  /** Variance epsilon; default 1e-3. */
  epsilon?: number;
}

/** Constructor arguments of {@link ConvBlock}. */
export interface ConvBlockArgs extends LayerArgs, BnArgs {
  filters: number;
  /** 1 or 2; default 1. */
  stride?: 1 | 2;
  /** Seed of the Glorot-uniform kernel initialiser (reproducible weights). */
  seed?: number;
}

/** Constructor arguments of {@link DepthwiseConvBlock}. */
export interface DepthwiseConvBlockArgs extends ConvBlockArgs {}

function oneTensor(inputs: tf.Tensor | tf.Tensor[], where: string): tf.Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (Array.isArray(inputs) && inputs.length !== 1) throw new Error(`lib/model/blocks.ts: ${where} takes one input`);
  if (x.rank !== 4) throw new Error(`lib/model/blocks.ts: ${where} expects a [B, H, W, C] input, got [${x.shape}]`);
  return x as tf.Tensor4D;
}

function oneShape(s: Shape | Shape[]): Shape {
  return Array.isArray(s[0]) ? (s as Shape[])[0] : s as Shape;
}

function strided(n: number | null, stride: number): number | null {
  return n === null ? null : Math.ceil(n / stride);
}

const SYMMETRIC_PAD: [number, number][] = [[0, 0], [1, 1], [1, 1], [0, 0]];

/** Batch-norm variables of one stage. */
interface BnVars {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** Shared code of the block layers: BN variables, the BN maths and the moving-statistics rule. */
abstract class BnBlock extends tf.layers.Layer {
  readonly filters: number;
  readonly stride: 1 | 2;
  readonly momentum: number;
  readonly epsilon: number;
  protected readonly seed?: number;

  constructor(args: ConvBlockArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters < 1) {
      throw new Error(`lib/model/blocks.ts: filters must be a positive integer, got ${args.filters}`);
    }
    if (args.stride !== undefined && args.stride !== 1 && args.stride !== 2) {
      throw new Error(`lib/model/blocks.ts: stride must be 1 or 2, got ${args.stride}`);
    }
    this.filters = args.filters;
    this.stride = args.stride ?? 1;
    this.momentum = args.momentum ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-3;
    this.seed = args.seed;
  }

  protected kernelInit(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed });
  }

  /** Trainable gamma/beta; the moving statistics are added later so trainable weights come first, as in tfjs. */
  protected addBnTrainable(prefix: string, n: number): Pick<BnVars, "gamma" | "beta"> {
    return {
      gamma: this.addWeight(`${prefix}gamma`, [n], "float32", tf.initializers.ones(), undefined, true),
      beta: this.addWeight(`${prefix}beta`, [n], "float32", tf.initializers.zeros(), undefined, true),
    };
  }

  protected addBnMoving(prefix: string, n: number): Pick<BnVars, "movingMean" | "movingVariance"> {
    return {
      movingMean: this.addWeight(`${prefix}moving_mean`, [n], "float32", tf.initializers.zeros(), undefined, false),
      movingVariance: this.addWeight(
        `${prefix}moving_variance`,
        [n],
        "float32",
        tf.initializers.ones(),
        undefined,
        false,
      ),
    };
  }

  protected bnParams(v: BnVars): BnParams {
    return {
      gamma: v.gamma.read() as tf.Tensor1D,
      beta: v.beta.read() as tf.Tensor1D,
      movingMean: v.movingMean.read() as tf.Tensor1D,
      movingVariance: v.movingVariance.read() as tf.Tensor1D,
    };
  }

  /** tfjs-layers' moving-average rule, applied to one BN stage from the batch statistics. */
  protected updateMoving(v: BnVars, mean: tf.Tensor, variance: tf.Tensor): void {
    const decay = 1 - this.momentum;
    tf.tidy(() => {
      const m = v.movingMean.read();
      v.movingMean.write(tf.sub(m, tf.mul(tf.sub(m, mean), decay)));
      const s = v.movingVariance.read();
      v.movingVariance.write(tf.sub(s, tf.mul(tf.sub(s, variance), decay)));
    });
  }

  /** BatchNorm of a 4-D tensor over batch and space, training or inference, exactly as tfjs-layers does it. */
  protected batchNorm(y: tf.Tensor4D, v: BnVars, training: boolean): tf.Tensor4D {
    const gamma = v.gamma.read(), beta = v.beta.read();
    if (!training) {
      return tf.batchNorm(y, v.movingMean.read(), v.movingVariance.read(), beta, gamma, this.epsilon) as tf.Tensor4D;
    }
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    this.updateMoving(v, mean, variance);
    return tf.batchNorm(y, mean, variance, beta, gamma, this.epsilon) as tf.Tensor4D;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(inputShape);
    return [s[0], strided(s[1], this.stride), strided(s[2], this.stride), this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      stride: this.stride,
      momentum: this.momentum,
      epsilon: this.epsilon,
    };
  }
}

/** CB: 3x3 conv (no bias) + BatchNorm + ReLU; stride 2 pads one pixel on every side, then a 'valid' conv. */
export class ConvBlock extends BnBlock {
  /** Registered class name (used in saved TF.js models). */
  static className = "ConvBlock";
  private kernel!: tf.LayerVariable;
  private bn!: BnVars;

  /** Creates the layer; weights are created when it is first applied. */
  constructor(args: ConvBlockArgs) {
    super(args);
  }

  override build(inputShape: Shape | Shape[]): void {
    const cin = oneShape(inputShape)[3];
    if (cin == null) throw new Error("lib/model/blocks.ts: ConvBlock needs a known channel count");
    this.kernel = this.addWeight("kernel", [3, 3, cin, this.filters], "float32", this.kernelInit(), undefined, true);
    const t = this.addBnTrainable("", this.filters);
    this.bn = { ...t, ...this.addBnMoving("", this.filters) };
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs, "ConvBlock");
      const training = kwargs["training"] === true;
      const fused = fusedBlocksFor(tf.getBackend());
      const kernel = this.kernel.read() as tf.Tensor4D;
      if (fused) {
        const r = fused.convBnRelu(x, kernel, this.bnParams(this.bn), {
          stride: this.stride,
          training,
          epsilon: this.epsilon,
        });
        if (training) this.updateMoving(this.bn, r.stats[0].mean, r.stats[0].variance);
        return r.y;
      }
      const y = this.stride === 2
        ? tf.conv2d(tf.pad(x, SYMMETRIC_PAD), kernel, 2, "valid")
        : tf.conv2d(x, kernel, 1, "same");
      return tf.relu(this.batchNorm(y, this.bn, training));
    });
  }
}

/** DCB: (ZP at stride 2) 3x3 depthwise conv + BN + ReLU, then 1x1 conv + BN + ReLU; no biases. */
export class DepthwiseConvBlock extends BnBlock {
  /** Registered class name (used in saved TF.js models). */
  static className = "DepthwiseConvBlock";
  private dwKernel!: tf.LayerVariable;
  private pwKernel!: tf.LayerVariable;
  private bn1!: BnVars;
  private bn2!: BnVars;

  /** Creates the layer; weights are created when it is first applied. */
  constructor(args: DepthwiseConvBlockArgs) {
    super(args);
  }

  override build(inputShape: Shape | Shape[]): void {
    const cin = oneShape(inputShape)[3];
    if (cin == null) throw new Error("lib/model/blocks.ts: DepthwiseConvBlock needs a known channel count");
    const seed2 = this.seed === undefined ? {} : { seed: this.seed + 1 };
    this.dwKernel = this.addWeight("depthwise_kernel", [3, 3, cin, 1], "float32", this.kernelInit(), undefined, true);
    const t1 = this.addBnTrainable("bn1_", cin);
    this.pwKernel = this.addWeight(
      "pointwise_kernel",
      [1, 1, cin, this.filters],
      "float32",
      tf.initializers.glorotUniform(seed2),
      undefined,
      true,
    );
    const t2 = this.addBnTrainable("bn2_", this.filters);
    this.bn1 = { ...t1, ...this.addBnMoving("bn1_", cin) };
    this.bn2 = { ...t2, ...this.addBnMoving("bn2_", this.filters) };
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs, "DepthwiseConvBlock");
      const training = kwargs["training"] === true;
      const fused = fusedBlocksFor(tf.getBackend());
      const dw = this.dwKernel.read() as tf.Tensor4D;
      const pw = this.pwKernel.read() as tf.Tensor4D;
      if (fused) {
        const r = fused.depthwiseBlock(
          x,
          { dwKernel: dw, bn1: this.bnParams(this.bn1), pwKernel: pw, bn2: this.bnParams(this.bn2) },
          { stride: this.stride, training, epsilon: this.epsilon },
        );
        if (training) {
          this.updateMoving(this.bn1, r.stats[0].mean, r.stats[0].variance);
          this.updateMoving(this.bn2, r.stats[1].mean, r.stats[1].variance);
        }
        return r.y;
      }
      const y1 = this.stride === 2
        ? tf.depthwiseConv2d(tf.pad(x, SYMMETRIC_PAD), dw, 2, "valid")
        : tf.depthwiseConv2d(x, dw, 1, "same");
      const a1 = tf.relu(this.batchNorm(y1, this.bn1, training));
      const y2 = tf.conv2d(a1, pw, 1, "valid");
      return tf.relu(this.batchNorm(y2, this.bn2, training));
    });
  }
}

/** Constructor arguments of {@link DilatedConv2D}. */
export interface DilatedConv2DArgs extends LayerArgs {
  filters: number;
  /** Dilation rate >= 1. */
  dilation: number;
  /** Add a bias; default false (the RFB convs are followed by BN). */
  useBias?: boolean;
  /** Seed of the Glorot-uniform kernel initialiser. */
  seed?: number;
}

/** A 3x3, stride-1, 'same' conv with dilation that tfjs can differentiate (see the module notes). */
export class DilatedConv2D extends tf.layers.Layer {
  /** Registered class name (used in saved TF.js models). */
  static className = "DilatedConv2D";
  readonly filters: number;
  readonly dilation: number;
  readonly useBias: boolean;
  private readonly seed?: number;
  private kernel!: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  /** Creates the layer; weights are created when it is first applied. */
  constructor(args: DilatedConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.dilation) || args.dilation < 1) {
      throw new Error(`lib/model/blocks.ts: dilation must be an integer >= 1, got ${args.dilation}`);
    }
    this.filters = args.filters;
    this.dilation = args.dilation;
    this.useBias = args.useBias ?? false;
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const cin = oneShape(inputShape)[3];
    if (cin == null) throw new Error("lib/model/blocks.ts: DilatedConv2D needs a known channel count");
    const init = tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed });
    this.kernel = this.addWeight("kernel", [3, 3, cin, this.filters], "float32", init, undefined, true);
    if (this.useBias) {
      this.bias = this.addWeight("bias", [this.filters], "float32", tf.initializers.zeros(), undefined, true);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = oneShape(inputShape);
    return [s[0], s[1], s[2], this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = oneTensor(inputs, "DilatedConv2D");
      const k = this.kernel.read();
      const [, , cin, cout] = k.shape;
      const d = this.dilation;
      const fused = d > 1 ? fusedBlocksFor(tf.getBackend())?.dilatedConv : undefined;
      if (fused) {
        const y = fused(x as tf.Tensor4D, k as tf.Tensor4D, d);
        return this.bias ? tf.add(y, this.bias.read()) : y;
      }
      let big: tf.Tensor4D = k as tf.Tensor4D;
      if (d > 1) {
        // [3,3,ci,co] -> [3,1,3,1,ci,co] -> zero-pad the unit axes to d -> [3d,3d,ci,co] -> keep taps 0, d, 2d
        const spread = tf.pad(k.reshape([3, 1, 3, 1, cin, cout]), [[0, 0], [0, d - 1], [0, 0], [0, d - 1], [0, 0], [
          0,
          0,
        ]]);
        big = spread.reshape([3 * d, 3 * d, cin, cout]).slice([0, 0, 0, 0], [
          2 * d + 1,
          2 * d + 1,
          cin,
          cout,
        ]) as tf.Tensor4D;
      }
      const y = tf.conv2d(x, big, 1, "same");
      return this.bias ? tf.add(y, this.bias.read()) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, dilation: this.dilation, useBias: this.useBias };
  }
}

tf.serialization.registerClass(ConvBlock);
tf.serialization.registerClass(DepthwiseConvBlock);
tf.serialization.registerClass(DilatedConv2D);
