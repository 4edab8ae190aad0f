/**
 * Running a detector's forward pass as one native plan (lib/backend/native/plan.ts) instead of `model.predict`: the
 * compiler here walks a tfjs LayersModel of ours layer by layer, folds BatchNorm (inference: moving statistics and
 * the layer's epsilon) into the convolution before it, folds ZeroPadding2D into the padding of the convolution after
 * it and activations into the op before them, and writes the heads' reshapes and concatenations as output pieces, so
 * logits and offsets come out in exactly the order `model.predict` gives them.
 *
 * Layers it compiles: ConvBlock, DepthwiseConvBlock, DilatedConv2D, Conv2D, DepthwiseConv2D, ZeroPadding2D,
 * BatchNormalization, ReLU, LeakyReLU, Activation, Concatenate, Add, MaxPooling2D, Reshape (every trunk of
 * lib/model). Anything else throws a {@link NativePlanError} naming the layer; {@link predictOutputs} then falls back
 * to `model.predict`.
 *
 * Weights may change (training, `setModelWeights`): {@link nativePlanFor} keeps one plan per model and rebuilds it
 * when any weight variable holds a different tensor than when the plan was built (tfjs replaces a variable's data on
 * every assign), so a plan is never stale. Evaluation during training therefore builds a fresh plan the first time it
 * runs after the weights moved, and reuses it for the rest of that evaluation.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { NATIVE_BACKEND } from "../backend/native/kernels.ts";
import { nativeAddon } from "../backend/native/native.ts";
import {
  NativePlan,
  type PlanActivation,
  type PlanOp,
  type PlanOutputSpec,
  type PlanPadding,
  type PlanSpec,
  type PlanTensorShape,
} from "../backend/native/plan.ts";
import type { NativeAddon } from "../backend/native/addon.ts";

const WHERE = "lib/inference/native_plan.ts";

/** A layer the plan compiler cannot compile (callers fall back to `model.predict`). */
export class NativePlanError extends Error {
  /** Name of the layer. */
  readonly layer: string;
  /** Creates the error for `layer` (its name) with the reason. */
  constructor(layer: string, reason: string) {
    super(`${WHERE}: layer "${layer}": ${reason}`);
    this.name = "NativePlanError";
    this.layer = layer;
  }
}

type Act = { kind: PlanActivation; alpha: number };
const LINEAR: Act = { kind: "linear", alpha: 0 };

/** Compiler nodes before fusion; `layer` names the layer in errors. */
type Node =
  | {
    op: "conv";
    layer: string;
    src: number;
    dst: number;
    kernel: [number, number];
    strides: [number, number];
    dilations: [number, number];
    pad: PlanPadding;
    groups: number;
    /** tfjs layout, float64 so folding BN rounds once. */
    weights: Float64Array;
    bias: Float64Array | null;
    act: Act;
    sum: number | null;
  }
  | { op: "affine"; layer: string; src: number; dst: number; scale: Float64Array; shift: Float64Array }
  | { op: "pad"; layer: string; src: number; dst: number; pad: PlanPadding }
  | { op: "act"; layer: string; src: number; dst: number; act: Act }
  | { op: "concat"; layer: string; srcs: number[]; dst: number }
  | { op: "add"; layer: string; srcs: [number, number]; dst: number; act: Act }
  | {
    op: "maxPool";
    layer: string;
    src: number;
    dst: number;
    window: [number, number];
    strides: [number, number];
    pad: PlanPadding;
  };
type ConvNode = Extract<Node, { op: "conv" }>;

/** What a symbolic tensor of the model is to the compiler: a plan tensor, or a flat view of pieces of them. */
type Value =
  | { kind: "tensor"; id: number }
  | { kind: "flat"; shape: number[]; pieces: { tensor: number; offset: number }[] };

type Layer = tf.layers.Layer;
type Sym = tf.SymbolicTensor;

function asList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

function pair(v: unknown, layer: string, what: string): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new NativePlanError(layer, `${what} ${JSON.stringify(v)} is not one or two positive integers`);
  }
  return [a[0], a[1]];
}

/** The plan activation of a tfjs activation name. */
function activationOf(name: unknown, layer: string): Act {
  switch (name ?? "linear") {
    case "linear":
      return LINEAR;
    case "relu":
      return { kind: "relu", alpha: 0 };
    case "relu6":
      return { kind: "relu6", alpha: 0 };
    case "sigmoid":
      return { kind: "sigmoid", alpha: 0 };
    case "elu":
      return { kind: "elu", alpha: 0 };
    default:
      throw new NativePlanError(layer, `activation "${name}" has no native equivalent`);
  }
}

/** One weight of a layer by its own name (`kernel`, `gamma`, ...), read now. */
function weightOf(l: Layer, name: string, optional = false): Float32Array | null {
  const w = l.weights.find((v) => {
    const n = (v as unknown as { originalName?: string }).originalName ?? v.name;
    return n.slice(n.lastIndexOf("/") + 1) === name;
  });
  if (!w) {
    if (optional) return null;
    throw new NativePlanError(l.name, `has no weight "${name}"`);
  }
  return w.read().dataSync() as Float32Array;
}

/** BatchNorm at inference as y = x * scale + shift per channel. */
function bnAffine(
  gamma: Float32Array | null,
  beta: Float32Array | null,
  mean: Float32Array,
  variance: Float32Array,
  epsilon: number,
): { scale: Float64Array; shift: Float64Array } {
  const n = mean.length;
  const scale = new Float64Array(n), shift = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + epsilon);
    shift[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
  }
  return { scale, shift };
}

/** Builds the nodes of a model, layer by layer. */
class Compiler {
  readonly tensors: PlanTensorShape[] = [];
  readonly nodes: Node[] = [];
  private readonly values = new Map<number, Value>();

  /** Starts with the model's input as tensor 0. */
  constructor(private readonly model: tf.LayersModel) {
    const input = model.inputs[0];
    const s = input.shape;
    if (model.inputs.length !== 1) throw new NativePlanError(model.name, `has ${model.inputs.length} inputs`);
    if (s.length !== 4 || s.slice(1).some((d) => d === null || d < 1)) {
      throw new NativePlanError(input.sourceLayer.name, `input shape [${s}] is not [batch, h, w, c]`);
    }
    this.values.set(input.id, { kind: "tensor", id: this.newTensor({ height: s[1]!, width: s[2]!, channels: s[3]! }) });
  }

  newTensor(shape: PlanTensorShape): number {
    this.tensors.push(shape);
    return this.tensors.length - 1;
  }

  /** The plan tensor behind a symbolic tensor; flat views are only for reshapes, concatenations and outputs. */
  tensorOf(s: Sym, layer: string): number {
    const v = this.values.get(s.id);
    if (!v) throw new NativePlanError(layer, `reads a tensor the compiler has not seen (${s.name})`);
    if (v.kind !== "tensor") {
      throw new NativePlanError(
        layer,
        `reads a reshaped tensor ${s.name}, which only Reshape, Concatenate and outputs may`,
      );
    }
    return v.id;
  }

  valueOf(s: Sym, layer: string): Value {
    const v = this.values.get(s.id);
    if (!v) throw new NativePlanError(layer, `reads a tensor the compiler has not seen (${s.name})`);
    return v;
  }

  /** A new plan tensor for the layer's 4-D output. */
  outputTensor(l: Layer): number {
    const out = asList(l.output as Sym | Sym[]);
    if (out.length !== 1) throw new NativePlanError(l.name, "has several outputs");
    const s = out[0].shape;
    if (s.length !== 4 || s.slice(1).some((d) => d === null || d < 1)) {
      throw new NativePlanError(l.name, `outputs shape [${s}], not [batch, height, width, channels]`);
    }
    const id = this.newTensor({ height: s[1]!, width: s[2]!, channels: s[3]! });
    this.values.set(out[0].id, { kind: "tensor", id });
    return id;
  }

  shapeOf(t: number): PlanTensorShape {
    return this.tensors[t];
  }

  conv(
    l: Layer,
    src: number,
    dst: number,
    o: {
      kernel: [number, number];
      strides?: [number, number];
      dilations?: [number, number];
      pad: PlanPadding;
      groups?: number;
      weights: Float32Array;
      bias?: Float32Array | null;
      act?: Act;
    },
  ): ConvNode {
    const node: ConvNode = {
      op: "conv",
      layer: l.name,
      src,
      dst,
      kernel: o.kernel,
      strides: o.strides ?? [1, 1],
      dilations: o.dilations ?? [1, 1],
      pad: o.pad,
      groups: o.groups ?? 1,
      weights: Float64Array.from(o.weights),
      bias: o.bias ? Float64Array.from(o.bias) : null,
      act: o.act ?? LINEAR,
      sum: null,
    };
    this.nodes.push(node);
    return node;
  }

  /** tfjs's padding of a 'same' / 'valid' conv on `src`, checked against the layer's output size. */
  convPad(
    l: Layer,
    src: number,
    dst: number,
    kernel: [number, number],
    strides: [number, number],
    dilations: [number, number],
    padding: unknown,
    depthwise: boolean,
  ): PlanPadding {
    if (padding !== "same" && padding !== "valid") throw new NativePlanError(l.name, `padding "${padding}"`);
    const x = this.shapeOf(src), y = this.shapeOf(dst);
    const info = tf.backend_util.computeConv2DInfo(
      [1, x.height, x.width, x.channels],
      [kernel[0], kernel[1], x.channels, depthwise ? y.channels / x.channels : y.channels],
      strides,
      dilations,
      padding,
      undefined,
      depthwise,
    );
    if (info.outHeight !== y.height || info.outWidth !== y.width) {
      throw new NativePlanError(l.name, `tfjs's conv info gives ${info.outHeight}x${info.outWidth}`);
    }
    const p = info.padInfo;
    return [p.top, p.left, p.bottom, p.right];
  }

  compileLayer(l: Layer): void {
    const cls = l.getClassName();
    if (l.inboundNodes.length !== 1) throw new NativePlanError(l.name, `is called ${l.inboundNodes.length} times`);
    if (cls === "InputLayer") return;
    const cfg = l.getConfig() as Record<string, unknown>;
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== "channelsLast") {
      throw new NativePlanError(l.name, `data format ${cfg.dataFormat} (only channelsLast)`);
    }
    const ins = asList(l.input as Sym | Sym[]);
    const one = () => {
      if (ins.length !== 1) throw new NativePlanError(l.name, `takes ${ins.length} inputs, expected 1`);
      return this.tensorOf(ins[0], l.name);
    };
    switch (cls) {
      case "ConvBlock": {
        const src = one(), dst = this.outputTensor(l);
        const stride = cfg.stride as number;
        this.conv(l, src, dst, {
          kernel: [3, 3],
          strides: [stride, stride],
          pad: [1, 1, 1, 1],
          weights: weightOf(l, "kernel")!,
        });
        this.bnAfter(l, dst, "", cfg.epsilon as number, { kind: "relu", alpha: 0 });
        return;
      }
      case "DepthwiseConvBlock": {
        const src = one(), dst = this.outputTensor(l);
        const stride = cfg.stride as number;
        const mid = this.newTensor({ ...this.shapeOf(dst), channels: this.shapeOf(src).channels });
        this.conv(l, src, mid, {
          kernel: [3, 3],
          strides: [stride, stride],
          pad: [1, 1, 1, 1],
          groups: this.shapeOf(src).channels,
          weights: weightOf(l, "depthwise_kernel")!,
        });
        this.bnAfter(l, mid, "bn1_", cfg.epsilon as number, { kind: "relu", alpha: 0 });
        this.conv(l, this.nodes[this.nodes.length - 1].dst, dst, {
          kernel: [1, 1],
          pad: [0, 0, 0, 0],
          weights: weightOf(l, "pointwise_kernel")!,
        });
        this.bnAfter(l, dst, "bn2_", cfg.epsilon as number, { kind: "relu", alpha: 0 });
        return;
      }
      case "DilatedConv2D": {
        const src = one(), dst = this.outputTensor(l);
        const d = cfg.dilation as number;
        this.conv(l, src, dst, {
          kernel: [3, 3],
          dilations: [d, d],
          pad: [d, d, d, d],
          weights: weightOf(l, "kernel")!,
          bias: cfg.useBias ? weightOf(l, "bias") : null,
        });
        return;
      }
      case "Conv2D":
      case "DepthwiseConv2D": {
        const depthwise = cls === "DepthwiseConv2D";
        const src = one(), dst = this.outputTensor(l);
        const kernel = pair(cfg.kernelSize, l.name, "kernelSize");
        const strides = pair(cfg.strides, l.name, "strides");
        const dilations = pair(cfg.dilationRate, l.name, "dilationRate");
        const cin = this.shapeOf(src).channels;
        this.conv(l, src, dst, {
          kernel,
          strides,
          dilations,
          pad: this.convPad(l, src, dst, kernel, strides, dilations, cfg.padding, depthwise),
          groups: depthwise ? cin : 1,
          weights: weightOf(l, depthwise ? "depthwise_kernel" : "kernel")!,
          bias: cfg.useBias ? weightOf(l, "bias") : null,
          act: activationOf(cfg.activation, l.name),
        });
        return;
      }
      case "ZeroPadding2D": {
        const src = one(), dst = this.outputTensor(l);
        const [[t, b], [left, r]] = cfg.padding as [[number, number], [number, number]];
        this.nodes.push({ op: "pad", layer: l.name, src, dst, pad: [t, left, b, r] });
        return;
      }
      case "BatchNormalization": {
        const src = one(), dst = this.outputTensor(l);
        const axis = cfg.axis as number | number[];
        if (!(axis === -1 || axis === 3 || (Array.isArray(axis) && axis.length === 1 && [-1, 3].includes(axis[0])))) {
          throw new NativePlanError(l.name, `normalises axis ${JSON.stringify(axis)}, not the channels`);
        }
        const { scale, shift } = bnAffine(
          cfg.scale === false ? null : weightOf(l, "gamma"),
          cfg.center === false ? null : weightOf(l, "beta"),
          weightOf(l, "moving_mean")!,
          weightOf(l, "moving_variance")!,
          cfg.epsilon as number,
        );
        this.nodes.push({ op: "affine", layer: l.name, src, dst, scale, shift });
        return;
      }
      case "ReLU":
      case "LeakyReLU":
      case "Activation": {
        const v = ins.length === 1 ? this.valueOf(ins[0], l.name) : null;
        let act: Act;
        if (cls === "ReLU") {
          const max = (l as unknown as { maxValue?: number | null }).maxValue ?? null;
          if (max !== null && max !== 6) throw new NativePlanError(l.name, `ReLU with maxValue ${max}`);
          act = { kind: max === 6 ? "relu6" : "relu", alpha: 0 };
        } else if (cls === "LeakyReLU") {
          act = { kind: "leakyrelu", alpha: cfg.alpha as number };
        } else {
          act = activationOf(cfg.activation, l.name);
        }
        if (act.kind === "linear" && v) {
          // An identity: the output is the input, whatever it is (the one-branch model's outputs are reshapes).
          this.values.set(asList(l.output as Sym | Sym[])[0].id, v);
          return;
        }
        const src = one(), dst = this.outputTensor(l);
        this.nodes.push({ op: "act", layer: l.name, src, dst, act });
        return;
      }
      case "Concatenate":
        this.concatenate(l, ins, cfg.axis as number);
        return;
      case "Add": {
        if (ins.length !== 2) throw new NativePlanError(l.name, `adds ${ins.length} tensors (only 2)`);
        const a = this.tensorOf(ins[0], l.name), b = this.tensorOf(ins[1], l.name);
        this.nodes.push({ op: "add", layer: l.name, srcs: [a, b], dst: this.outputTensor(l), act: LINEAR });
        return;
      }
      case "MaxPooling2D": {
        const src = one(), dst = this.outputTensor(l);
        const window = pair(cfg.poolSize, l.name, "poolSize");
        const strides = pair(cfg.strides ?? cfg.poolSize, l.name, "strides");
        const x = this.shapeOf(src), y = this.shapeOf(dst);
        if (cfg.padding !== "same" && cfg.padding !== "valid") {
          throw new NativePlanError(l.name, `padding ${cfg.padding}`);
        }
        const info = tf.backend_util.computePool2DInfo(
          [1, x.height, x.width, x.channels],
          window,
          strides,
          1,
          cfg.padding,
        );
        if (info.outHeight !== y.height || info.outWidth !== y.width) {
          throw new NativePlanError(l.name, `tfjs's pool info gives ${info.outHeight}x${info.outWidth}`);
        }
        const p = info.padInfo;
        this.nodes.push({
          op: "maxPool",
          layer: l.name,
          src,
          dst,
          window,
          strides,
          pad: [p.top, p.left, p.bottom, p.right],
        });
        return;
      }
      case "Reshape": {
        if (ins.length !== 1) throw new NativePlanError(l.name, "takes one input");
        const v = this.valueOf(ins[0], l.name);
        const out = asList(l.output as Sym | Sym[])[0];
        const shape = out.shape.slice(1) as number[];
        if (shape.some((d) => d === null || d < 1)) throw new NativePlanError(l.name, `outputs shape [${out.shape}]`);
        const flat = this.flatten(v);
        if (shape.reduce((a, b) => a * b, 1) !== flat.shape.reduce((a, b) => a * b, 1)) {
          throw new NativePlanError(l.name, `reshapes ${flat.shape} to ${shape}`);
        }
        this.values.set(out.id, { kind: "flat", shape, pieces: flat.pieces });
        return;
      }
      default:
        throw new NativePlanError(l.name, `${cls} layers cannot be compiled to a native plan`);
    }
  }

  /** BN stage `prefix` of block layer `l` on tensor `t`, then `act`, each as a node for the fusion passes. */
  private bnAfter(l: Layer, t: number, prefix: string, epsilon: number, act: Act): void {
    const { scale, shift } = bnAffine(
      weightOf(l, `${prefix}gamma`),
      weightOf(l, `${prefix}beta`),
      weightOf(l, `${prefix}moving_mean`)!,
      weightOf(l, `${prefix}moving_variance`)!,
      epsilon,
    );
    // The conv wrote to `t`; BN and the activation get fresh tensors and the final one takes `t`'s place as the
    // layer's output, so that what follows reads the activated values.
    const conv = this.nodes[this.nodes.length - 1] as ConvNode;
    const z = this.newTensor(this.shapeOf(t)), n = this.newTensor(this.shapeOf(t));
    conv.dst = z;
    this.nodes.push({ op: "affine", layer: l.name, src: z, dst: n, scale, shift });
    this.nodes.push({ op: "act", layer: l.name, src: n, dst: t, act });
  }

  private flatten(v: Value): { shape: number[]; pieces: { tensor: number; offset: number }[] } {
    if (v.kind === "flat") return v;
    const s = this.shapeOf(v.id);
    return { shape: [s.height, s.width, s.channels], pieces: [{ tensor: v.id, offset: 0 }] };
  }

  private concatenate(l: Layer, ins: Sym[], axis: number): void {
    const out = asList(l.output as Sym | Sym[])[0];
    const rank = out.shape.length;
    const ax = axis < 0 ? axis + rank : axis;
    const vals = ins.map((s) => this.valueOf(s, l.name));
    if (rank === 4 && ax === 3 && vals.every((v) => v.kind === "tensor")) {
      const srcs = vals.map((v) => (v as { id: number }).id);
      this.nodes.push({ op: "concat", layer: l.name, srcs, dst: this.outputTensor(l) });
      return;
    }
    if (ax !== 1) throw new NativePlanError(l.name, `concatenates along axis ${axis} of rank ${rank}`);
    // Along the first axis after the batch, each image's values are its inputs' values one after the other.
    const pieces: { tensor: number; offset: number }[] = [];
    let offset = 0;
    for (const v of vals) {
      const f = this.flatten(v);
      for (const p of f.pieces) pieces.push({ tensor: p.tensor, offset: offset + p.offset });
      offset += f.shape.reduce((a, b) => a * b, 1);
    }
    this.values.set(out.id, { kind: "flat", shape: out.shape.slice(1) as number[], pieces });
  }

  /** The model's outputs as plan outputs. */
  outputs(): PlanOutputSpec[] {
    return this.model.outputs.map((o) => {
      const v = this.valueOf(o, o.sourceLayer.name);
      const f = this.flatten(v);
      return { perImage: f.shape.reduce((a, b) => a * b, 1), pieces: f.pieces };
    });
  }

  outputTensors(): Set<number> {
    const s = new Set<number>();
    for (const o of this.outputs()) for (const p of o.pieces) s.add(p.tensor);
    return s;
  }
}

/** Readers of each tensor among `nodes` (a conv's added tensor counts). */
function readers(nodes: Node[]): Map<number, Node[]> {
  const m = new Map<number, Node[]>();
  const add = (t: number, n: Node) => m.set(t, [...(m.get(t) ?? []), n]);
  for (const n of nodes) {
    if ("srcs" in n) { for (const s of n.srcs) add(s, n); }
    else add(n.src, n);
    if (n.op === "conv" && n.sum !== null) add(n.sum, n);
  }
  return m;
}

/** The node writing each tensor. */
function writers(nodes: Node[]): Map<number, Node> {
  return new Map(nodes.map((n) => [n.dst, n]));
}

/** Folds pads, BNs, activations and additions into the convolutions; what remains becomes plan ops. */
function fuse(nodes: Node[], outputs: Set<number>): Node[] {
  let list = nodes;
  const soleReader = (t: number, n: Node, r: Map<number, Node[]>) => {
    const rs = r.get(t) ?? [];
    return !outputs.has(t) && rs.length === 1 && rs[0] === n;
  };
  // ZeroPadding2D: into the padding of every convolution reading it.
  {
    const r = readers(list);
    const drop = new Set<Node>();
    for (const n of list) {
      if (n.op !== "pad") continue;
      const rs = r.get(n.dst) ?? [];
      if (outputs.has(n.dst) || rs.some((c) => c.op !== "conv" || c.src !== n.dst || c.sum === n.dst)) {
        throw new NativePlanError(n.layer, "zero padding feeds something other than a convolution's input");
      }
      for (const c of rs as ConvNode[]) {
        c.src = n.src;
        c.pad = c.pad.map((p, i) => p + n.pad[i]) as PlanPadding;
      }
      drop.add(n);
    }
    list = list.filter((n) => !drop.has(n));
  }
  // BatchNorm: into the weights and bias of the convolution before it, else a 1x1 depthwise convolution.
  {
    const r = readers(list), w = writers(list);
    const drop = new Set<Node>();
    list = list.map((n): Node => {
      if (n.op !== "affine") return n;
      const c = w.get(n.src);
      if (c && c.op === "conv" && c.act.kind === "linear" && c.sum === null && soleReader(n.src, n, r)) {
        const cout = n.scale.length;
        for (let i = 0; i < c.weights.length; i++) c.weights[i] *= n.scale[i % cout];
        const bias = new Float64Array(cout);
        for (let o = 0; o < cout; o++) bias[o] = (c.bias ? c.bias[o] : 0) * n.scale[o] + n.shift[o];
        c.bias = bias;
        c.dst = n.dst;
        w.set(n.dst, c);
        drop.add(n);
        return n;
      }
      const dw: ConvNode = {
        op: "conv",
        layer: n.layer,
        src: n.src,
        dst: n.dst,
        kernel: [1, 1],
        strides: [1, 1],
        dilations: [1, 1],
        pad: [0, 0, 0, 0],
        groups: n.scale.length,
        weights: n.scale,
        bias: n.shift,
        act: LINEAR,
        sum: null,
      };
      w.set(n.dst, dw);
      return dw;
    }).filter((n) => !drop.has(n));
  }
  // Activations: into the op before them when it is a convolution or an addition without one, or through a
  // concatenation into the convolutions feeding it (act(concat(a, b)) = concat(act(a), act(b))).
  {
    const drop = new Set<Node>();
    for (const n of list) {
      if (n.op !== "act") continue;
      const r = readers(list.filter((m) => !drop.has(m))), w = writers(list.filter((m) => !drop.has(m)));
      const p = w.get(n.src);
      if (!p || !soleReader(n.src, n, r)) continue;
      if ((p.op === "conv" || p.op === "add") && p.act.kind === "linear") {
        p.act = n.act;
        p.dst = n.dst;
        drop.add(n);
      } else if (p.op === "concat") {
        const feeds = p.srcs.map((s) => w.get(s));
        const ok = feeds.every((c, i) =>
          c && c.op === "conv" && c.act.kind === "linear" && soleReader(p.srcs[i], p, r) &&
          p.srcs.indexOf(p.srcs[i]) === i
        );
        if (!ok) continue;
        for (const c of feeds as ConvNode[]) c.act = n.act;
        p.dst = n.dst;
        drop.add(n);
      }
    }
    list = list.filter((n) => !drop.has(n));
  }
  // Additions: into the convolution computing one addend as oneDNN's sum post-op, when the other addend is ready
  // before it.
  {
    const r = readers(list), w = writers(list);
    const drop = new Set<Node>();
    for (const n of list) {
      if (n.op !== "add") continue;
      for (const [x, y] of [[n.srcs[1], n.srcs[0]], [n.srcs[0], n.srcs[1]]]) {
        const c = w.get(x);
        if (!c || c.op !== "conv" || c.act.kind !== "linear" || c.sum !== null || !soleReader(x, n, r)) continue;
        const wy = w.get(y);
        if (wy && list.indexOf(wy) > list.indexOf(c)) continue;
        c.sum = y;
        c.act = n.act;
        c.dst = n.dst;
        drop.add(n);
        break;
      }
    }
    list = list.filter((n) => !drop.has(n));
  }
  return list;
}

/** Plan ops from fused nodes, tensors renumbered to those still used. */
function emit(tensors: PlanTensorShape[], nodes: Node[], outputs: PlanOutputSpec[]): PlanSpec {
  const ids = new Map<number, number>([[0, 0]]);
  const id = (t: number) => {
    if (!ids.has(t)) ids.set(t, ids.size);
    return ids.get(t)!;
  };
  const f32 = (a: Float64Array | null) => (a ? Float32Array.from(a) : null);
  const ops: PlanOp[] = nodes.map((n): PlanOp => {
    switch (n.op) {
      case "conv":
        return {
          op: "conv",
          src: id(n.src),
          sum: n.sum === null ? null : id(n.sum),
          dst: id(n.dst),
          kernel: n.kernel,
          strides: n.strides,
          dilations: n.dilations,
          pad: n.pad,
          groups: n.groups,
          weights: f32(n.weights)!,
          bias: f32(n.bias),
          activation: n.act.kind,
          alpha: n.act.alpha,
        };
      case "act":
        return { op: "activation", src: id(n.src), dst: id(n.dst), activation: n.act.kind, alpha: n.act.alpha };
      case "concat":
        return { op: "concat", srcs: n.srcs.map(id), dst: id(n.dst) };
      case "add":
        return {
          op: "add",
          srcs: [id(n.srcs[0]), id(n.srcs[1])],
          dst: id(n.dst),
          activation: n.act.kind,
          alpha: n.act.alpha,
        };
      case "maxPool":
        return { op: "maxPool", src: id(n.src), dst: id(n.dst), window: n.window, strides: n.strides, pad: n.pad };
      default:
        throw new NativePlanError(n.layer, `${n.op} left after fusion`);
    }
  });
  const outs = outputs.map((o) => ({
    perImage: o.perImage,
    pieces: o.pieces.map((p) => ({ tensor: id(p.tensor), offset: p.offset })),
  }));
  const shapes: PlanTensorShape[] = new Array(ids.size);
  for (const [old, neu] of ids) shapes[neu] = tensors[old];
  return { tensors: shapes, ops, outputs: outs };
}

/**
 * The native plan of a model with its current weights (BN folded). Throws a {@link NativePlanError} naming the
 * first layer it cannot compile.
 */
export function compileNativePlan(model: tf.LayersModel): PlanSpec {
  const c = new Compiler(model);
  for (const l of model.layers) c.compileLayer(l);
  const outputs = c.outputs();
  return emit(c.tensors, fuse(c.nodes, c.outputTensors()), outputs);
}

/** A model's plan and the weight tensors it was built from. */
interface CachedPlan {
  plan: NativePlan;
  weights: readonly object[];
}
const plans = new WeakMap<tf.LayersModel, CachedPlan | NativePlanError>();

function weightIds(model: tf.LayersModel): object[] {
  return model.weights.map((w) => w.read().dataId);
}

/** Whether plans are off (SSD_NATIVE_PLAN=0: every forward pass through `model.predict`). */
export function nativePlansDisabled(): boolean {
  try {
    return Deno.env.get("SSD_NATIVE_PLAN") === "0";
  } catch {
    return false; // no permission to read the environment: the default
  }
}

/**
 * The native plan of `model` when the active backend is the native one and the model compiles (null otherwise):
 * one per model, rebuilt when its weights changed since it was built. `addon` overrides the loaded one (tests).
 */
export function nativePlanFor(model: tf.LayersModel, addon: NativeAddon | null = nativeAddon()): NativePlan | null {
  if (!addon || tf.getBackend() !== NATIVE_BACKEND || nativePlansDisabled()) return null;
  const cached = plans.get(model);
  if (cached instanceof NativePlanError) return null;
  const ids = weightIds(model);
  if (
    cached && !cached.plan.disposed && cached.weights.length === ids.length &&
    cached.weights.every((w, i) => w === ids[i])
  ) {
    return cached.plan;
  }
  cached?.plan.dispose();
  plans.delete(model);
  let spec: PlanSpec;
  try {
    spec = compileNativePlan(model);
  } catch (e) {
    if (e instanceof NativePlanError) {
      plans.set(model, e);
      return null;
    }
    throw e;
  }
  const plan = new NativePlan(addon, spec);
  plans.set(model, { plan, weights: ids });
  return plan;
}

/** Frees the plan kept for `model`, if any (a detector's dispose; the next forward pass builds a new one). */
export function disposeNativePlan(model: tf.LayersModel): void {
  const cached = plans.get(model);
  if (cached && !(cached instanceof NativePlanError)) cached.plan.dispose();
  plans.delete(model);
}

/** Raw outputs of a detector's forward pass. */
export interface ForwardOutputs {
  logits: Float32Array;
  offsets: Float32Array;
  /** Which path computed them. */
  path: "plan" | "predict";
}

/**
 * The forward pass that detection and evaluation use: `batch` NHWC images through the native plan when
 * {@link nativePlanFor} gives one, else `model.predict`; outputs read back as logits and offsets.
 */
export async function predictOutputs(
  model: tf.LayersModel,
  images: Float32Array,
  batch: number,
): Promise<ForwardOutputs> {
  const plan = nativePlanFor(model);
  if (plan) {
    const [logits, offsets] = plan.run(images, batch);
    return { logits, offsets, path: "plan" };
  }
  const shape = model.inputs[0].shape.slice(1) as number[];
  const [logits, offsets] = tf.tidy(() => {
    const x = tf.tensor(images, [batch, ...shape]);
    return model.predict(x, { batchSize: batch }) as tf.Tensor[];
  });
  try {
    return {
      logits: await logits.data() as Float32Array,
      offsets: await offsets.data() as Float32Array,
      path: "predict",
    };
  } finally {
    tf.dispose([logits, offsets]);
  }
}
