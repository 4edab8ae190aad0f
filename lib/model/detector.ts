/**
 * The SSDv2 detector and the trunks we compare it with, built as tfjs functional models that return their priors
 * too, so outputs and priors can never disagree in length.
 *
 * Every model: input `[B, H, W, 3]` (240x320 by default) -> trunk feature maps at strides 8 / 16 / 32 / 64 ->
 * per branch a BB block and two 3x3 heads -> outputs in this order: logits `[B, P, numClasses]`, offsets `[B, P, 4]`.
 * With `branches = k` only branches 1..k (the smallest scales) and the trunk stages feeding them are built; their
 * priors follow one of two readings of the paper's ablation (`priorReading`: `own` keeps each branch's own anchor
 * sizes, `carry` moves the dropped branches' sizes onto branch k; docs/design.md).
 *
 * Trunks (channel counts for the base width c = 16):
 * - `ssdv2`: the docs/design.md table, after PureHing/face-mask-detection-tf2 `network/network.py` (SlimModel):
 *   CB(c,s2) CB(2c) CB(2c,s2) CB(2c) CB(4c,s2) CB(4c)x3 | CB(8c,s2) CB(8c)x2 | DCB(16c,s2) DCB(16c) | DCB(16c,s2).
 * - `slim`: Ultra-Light-Fast-Generic-Face-Detector `vision/nn/mb_tiny.py` (Mb_Tiny, base 16): conv_bn(c,s2) then
 *   conv_dw blocks (= our DCB) 2c, 2c s2, 2c, 4c s2, 4c x3 | 8c s2, 8c x2 | 16c s2, 16c; its "extras" make the
 *   stride-64 map: 1x1 conv (4c) + ReLU, separable conv (3x3 depthwise s2 + ReLU + 1x1 conv to 16c) + ReLU.
 *   Its own heads (separable convs, 3 maps of priors at 320x240 differing from ours) are NOT taken: the SSDv2 BB
 *   and heads and priors are used on every trunk, so only the trunk changes.
 * - `rfb`: `vision/nn/mb_tiny_RFB.py`: as `slim`, with the last 4c conv_dw replaced by BasicRFB(4c, 4c, stride 1,
 *   scale 1): three branches of BasicConv (conv + BN eps 1e-5 [+ ReLU]) with dilations 2, 3, 5 (inter = 4c / 8),
 *   concatenated, 1x1 linear conv, plus a 1x1 conv shortcut, then ReLU. Dilated convs use {@link DilatedConv2D}.
 * - `aizoo`: AIZOO FaceMaskDetection's plain trunk, 3x3 conv + BN + ReLU (our CB at stride 1) with 2x2 max-pool
 *   ('same'), channels 32-64-64-64-128-128-64-64: conv32 pool conv64 pool conv64 pool conv64 [stride 8] pool
 *   conv128 [16] pool conv128 [32] pool conv64 conv64 [64]. AIZOO reads a fifth map at stride 128 from its last
 *   conv; we keep the four strides of the SSDv2 priors, so its last two convs both run at stride 64 (ours).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  featureMapSizes,
  generatePriors,
  type PriorConfig,
  type PriorReading,
  slicePriorConfig,
  SSDV2_PRIORS,
} from "../detect/priors.ts";
import { NUM_CLASSES } from "../types.ts";
import { Rng } from "../util/rng.ts";
import { ConvBlock, DepthwiseConvBlock, DilatedConv2D } from "./blocks.ts";

/**
 * Trunk names accepted by {@link buildDetector}.
 *
 * ```ts
 * import { buildDetector, setupBackend, summarizeModel, TRUNKS } from "ssdv2";
 * await setupBackend();
 * for (const trunk of TRUNKS) {
 *   const { model } = buildDetector({ trunk, branches: 4 });
 *   console.log(trunk, summarizeModel(model).totalParams); // ssdv2 1043286, slim 552390, rfb 568086, aizoo 632902
 *   model.dispose();
 * }
 * ```
 */
export const TRUNKS = ["ssdv2", "slim", "rfb", "aizoo"] as const;
/** One of {@link TRUNKS}. */
export type TrunkName = typeof TRUNKS[number];

/** Options of {@link buildDetector}. */
export interface DetectorOptions {
  trunk: TrunkName;
  /** Keep branches 1..k (1 to 4). */
  branches: 1 | 2 | 3 | 4;
  /** Classes including background; default 3. */
  numClasses?: number;
  /** Base channel width c; default 16. */
  width?: number;
  /** Input `[height, width]`; default [240, 320]. */
  inputSize?: [number, number];
  /** Seed of the weight initialisers; default 0. */
  seed?: number;
  /** Prior layout (steps and sizes of the 4 maps); default {@link SSDV2_PRIORS}. `inputSize` overrides its size. */
  priorConfig?: PriorConfig;
  /** Where the dropped branches' anchor sizes go when `branches < 4` (see `PRIOR_READINGS`); default `own`. */
  priorReading?: PriorReading;
}

/** A built detector with the priors its outputs are laid out against. */
export interface Detector {
  model: tf.LayersModel;
  priors: Float32Array;
  priorConfig: PriorConfig;
  trunk: TrunkName;
  branches: number;
  /** The prior reading the model was built with. */
  priorReading: PriorReading;
}

type Sym = tf.SymbolicTensor;

/** Builds layers with unique names and seeded initialisers. */
class Builder {
  private readonly rng: Rng;
  private readonly counts = new Map<string, number>();
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  name(prefix: string): string {
    const n = (this.counts.get(prefix) ?? 0) + 1;
    this.counts.set(prefix, n);
    return `${prefix}${n}`;
  }
  seed(): number {
    return this.rng.int(0, 2 ** 31 - 2);
  }
  cb(x: Sym, filters: number, stride: 1 | 2, prefix: string, epsilon?: number): Sym {
    return new ConvBlock({ filters, stride, seed: this.seed(), name: this.name(`${prefix}_cb`), epsilon })
      .apply(x) as Sym;
  }
  dcb(x: Sym, filters: number, stride: 1 | 2, prefix: string): Sym {
    return new DepthwiseConvBlock({ filters, stride, seed: this.seed(), name: this.name(`${prefix}_dcb`) })
      .apply(x) as Sym;
  }
  conv(x: Sym, filters: number, kernelSize: number, prefix: string, opts: { useBias?: boolean } = {}): Sym {
    return tf.layers.conv2d({
      filters,
      kernelSize,
      padding: "same",
      useBias: opts.useBias ?? true,
      kernelInitializer: tf.initializers.glorotUniform({ seed: this.seed() }),
      name: this.name(`${prefix}_conv`),
    }).apply(x) as Sym;
  }
  relu(x: Sym, prefix: string): Sym {
    return tf.layers.reLU({ name: this.name(`${prefix}_relu`) }).apply(x) as Sym;
  }
  bn(x: Sym, prefix: string, epsilon = 1e-3): Sym {
    return tf.layers.batchNormalization({ epsilon, name: this.name(`${prefix}_bn`) }).apply(x) as Sym;
  }
}

/** BB(f): concat(conv3x3(f) -> LeakyReLU -> conv3x3(f), conv3x3(2f)) -> ReLU; convs with bias, no BN. */
function branchBlock(b: Builder, x: Sym, f: number, prefix: string): Sym {
  let a = b.conv(x, f, 3, prefix);
  a = tf.layers.leakyReLU({ alpha: 0.3, name: b.name(`${prefix}_leaky`) }).apply(a) as Sym;
  a = b.conv(a, f, 3, prefix);
  const c = b.conv(x, 2 * f, 3, prefix);
  const cat = tf.layers.concatenate({ name: b.name(`${prefix}_concat`) }).apply([a, c]) as Sym;
  return b.relu(cat, prefix);
}

/** Trunk stages: each returns the feature map of the next branch from the previous one. */
type Stage = (b: Builder, x: Sym) => Sym;

function ssdv2Stages(c: number): Stage[] {
  return [
    (b, x) => {
      x = b.cb(x, c, 2, "t1");
      x = b.cb(x, 2 * c, 1, "t1");
      x = b.cb(x, 2 * c, 2, "t1");
      x = b.cb(x, 2 * c, 1, "t1");
      x = b.cb(x, 4 * c, 2, "t1");
      for (let i = 0; i < 3; i++) x = b.cb(x, 4 * c, 1, "t1");
      return x;
    },
    (b, x) => {
      x = b.cb(x, 8 * c, 2, "t2");
      for (let i = 0; i < 2; i++) x = b.cb(x, 8 * c, 1, "t2");
      return x;
    },
    (b, x) => b.dcb(b.dcb(x, 16 * c, 2, "t3"), 16 * c, 1, "t3"),
    (b, x) => b.dcb(x, 16 * c, 2, "t4"),
  ];
}

/** Ultra-Light BasicRFB(in = out = cin, stride 1, scale 1, map_reduce 8, vision 1). */
function basicRfb(b: Builder, x: Sym, cin: number, prefix: string): Sym {
  const inter = Math.floor(cin / 8);
  const eps = 1e-5;
  const conv = (y: Sym, f: number, k: number, relu: boolean) => {
    y = b.bn(b.conv(y, f, k, prefix, { useBias: false }), prefix, eps);
    return relu ? b.relu(y, prefix) : y;
  };
  const dil = (y: Sym, f: number, d: number) => {
    const out = new DilatedConv2D({ filters: f, dilation: d, seed: b.seed(), name: b.name(`${prefix}_dil`) })
      .apply(y) as Sym;
    return b.bn(out, prefix, eps);
  };
  const b0 = dil(conv(x, 2 * inter, 1, false), 2 * inter, 2);
  const b1 = dil(conv(conv(x, inter, 1, false), 2 * inter, 3, true), 2 * inter, 3);
  let b2 = conv(conv(x, inter, 1, false), Math.floor(inter / 2) * 3, 3, true);
  b2 = dil(conv(b2, 2 * inter, 3, true), 2 * inter, 5);
  const cat = tf.layers.concatenate({ name: b.name(`${prefix}_concat`) }).apply([b0, b1, b2]) as Sym;
  const linear = conv(cat, cin, 1, false);
  const shortcut = conv(x, cin, 1, false);
  const sum = tf.layers.add({ name: b.name(`${prefix}_add`) }).apply([linear, shortcut]) as Sym;
  return b.relu(sum, prefix);
}

function mbTinyStages(c: number, rfb: boolean): Stage[] {
  return [
    (b, x) => {
      x = b.cb(x, c, 2, "t1");
      x = b.dcb(x, 2 * c, 1, "t1");
      x = b.dcb(x, 2 * c, 2, "t1");
      x = b.dcb(x, 2 * c, 1, "t1");
      x = b.dcb(x, 4 * c, 2, "t1");
      x = b.dcb(x, 4 * c, 1, "t1");
      x = b.dcb(x, 4 * c, 1, "t1");
      return rfb ? basicRfb(b, x, 4 * c, "t1_rfb") : b.dcb(x, 4 * c, 1, "t1");
    },
    (b, x) => b.dcb(b.dcb(b.dcb(x, 8 * c, 2, "t2"), 8 * c, 1, "t2"), 8 * c, 1, "t2"),
    (b, x) => b.dcb(b.dcb(x, 16 * c, 2, "t3"), 16 * c, 1, "t3"),
    (b, x) => {
      x = b.relu(b.conv(x, 4 * c, 1, "t4"), "t4");
      x = tf.layers.zeroPadding2d({ padding: 1, name: b.name("t4_pad") }).apply(x) as Sym;
      x = tf.layers.depthwiseConv2d({
        kernelSize: 3,
        strides: 2,
        padding: "valid",
        depthwiseInitializer: tf.initializers.glorotUniform({ seed: b.seed() }),
        name: b.name("t4_dw"),
      }).apply(x) as Sym;
      x = b.relu(x, "t4");
      return b.relu(b.conv(x, 16 * c, 1, "t4"), "t4");
    },
  ];
}

function aizooStages(): Stage[] {
  const pool = (b: Builder, x: Sym, p: string) =>
    tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: "same", name: b.name(`${p}_pool`) }).apply(x) as Sym;
  return [
    (b, x) => {
      x = pool(b, b.cb(x, 32, 1, "t1"), "t1");
      x = pool(b, b.cb(x, 64, 1, "t1"), "t1");
      x = pool(b, b.cb(x, 64, 1, "t1"), "t1");
      return b.cb(x, 64, 1, "t1");
    },
    (b, x) => b.cb(pool(b, x, "t2"), 128, 1, "t2"),
    (b, x) => b.cb(pool(b, x, "t3"), 128, 1, "t3"),
    (b, x) => b.cb(b.cb(pool(b, x, "t4"), 64, 1, "t4"), 64, 1, "t4"),
  ];
}

/**
 * Builds a detector; see the module notes for the trunks.
 *
 * ```ts
 * import { buildDetector, setupBackend } from "ssdv2";
 * await setupBackend(); // tfjs needs a backend before any layer is built
 * const detector = buildDetector({ trunk: "ssdv2", branches: 2, priorReading: "carry", seed: 1 }); // as carry-2.json
 * console.log(detector.model.outputs.map((o) => o.shape)); // [ [ null, 5700, 3 ], [ null, 5700, 4 ] ]
 * console.log(detector.priors.length / 4); // 5700: one prior per output row, in the same order
 * detector.model.dispose();
 * ```
 */
export function buildDetector(options: DetectorOptions): Detector {
  const where = "lib/model/detector.ts";
  const { trunk, branches } = options;
  if (!(TRUNKS as readonly string[]).includes(trunk)) {
    throw new Error(`${where}: unknown trunk "${trunk}"; expected one of ${TRUNKS.join(", ")}`);
  }
  if (![1, 2, 3, 4].includes(branches)) throw new Error(`${where}: branches must be 1, 2, 3 or 4, got ${branches}`);
  const numClasses = options.numClasses ?? NUM_CLASSES;
  const c = options.width ?? 16;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`${where}: numClasses must be >= 2`);
  if (!Number.isInteger(c) || c < 8) throw new Error(`${where}: width must be an integer >= 8, got ${c}`);
  const base = options.priorConfig ?? SSDV2_PRIORS;
  if (base.steps.length !== 4) throw new Error(`${where}: the prior config must describe 4 feature maps`);
  const inputSize = options.inputSize ?? base.inputSize;
  const priorConfig = slicePriorConfig(
    { ...base, inputSize: [inputSize[0], inputSize[1]] },
    branches,
    options.priorReading ?? "own",
  );
  const priors = generatePriors(priorConfig);
  const maps = featureMapSizes(priorConfig);

  const b = new Builder(options.seed ?? 0);
  const stages = trunk === "ssdv2"
    ? ssdv2Stages(c)
    : trunk === "aizoo"
    ? aizooStages()
    : mbTinyStages(c, trunk === "rfb");
  const input = tf.input({ shape: [inputSize[0], inputSize[1], 3], name: "image" });
  let x: Sym = input;
  const logits: Sym[] = [];
  const offsets: Sym[] = [];
  for (let k = 0; k < branches; k++) {
    x = stages[k](b, x);
    const feature = branchBlock(b, x, c, `b${k + 1}`);
    const anchors = priorConfig.sizes[k].length;
    const [rows, cols] = maps[k];
    if (x.shape[1] !== rows || x.shape[2] !== cols) {
      throw new Error(
        `${where}: ${trunk} branch ${k + 1} map is ${x.shape[1]}x${x.shape[2]}, priors need ${rows}x${cols}`,
      );
    }
    const cells = rows * cols * anchors;
    const conf = b.conv(feature, anchors * numClasses, 3, `b${k + 1}_cls`);
    const loc = b.conv(feature, anchors * 4, 3, `b${k + 1}_loc`);
    logits.push(tf.layers.reshape({ targetShape: [cells, numClasses], name: `b${k + 1}_cls_flat` }).apply(conf) as Sym);
    offsets.push(tf.layers.reshape({ targetShape: [cells, 4], name: `b${k + 1}_loc_flat` }).apply(loc) as Sym);
  }
  const join = (parts: Sym[], name: string) =>
    parts.length === 1
      ? tf.layers.activation({ activation: "linear", name }).apply(parts[0]) as Sym
      : tf.layers.concatenate({ axis: 1, name }).apply(parts) as Sym;
  const model = tf.model({
    inputs: input,
    outputs: [join(logits, "logits"), join(offsets, "offsets")],
    name: `${trunk}_${branches}b`,
  });
  const P = priors.length / 4;
  const [lShape, oShape] = model.outputs.map((o) => o.shape);
  if (lShape[1] !== P || oShape[1] !== P) {
    throw new Error(`${where}: ${trunk} with ${branches} branches outputs ${lShape[1]} boxes but has ${P} priors`);
  }
  return { model, priors, priorConfig, trunk, branches, priorReading: options.priorReading ?? "own" };
}
