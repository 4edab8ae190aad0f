/**
 * Inference plans on the oneDNN addon: a network given as a list of ops on activation tensors (convolution with bias,
 * activation and an optional added tensor, channel concatenation, max pooling, addition, activation) runs inside the
 * addon in one call, its weights reordered once to oneDNN's layouts and its activations kept in the layouts the
 * kernels choose. This module knows ops, not models: lib/inference/native_plan.ts compiles a tfjs model into a
 * {@link PlanSpec}.
 *
 * Tensors are numbered; tensor 0 is the input, NHWC `[batch, height, width, channels]`. Weights are in tfjs layouts
 * (conv `[kh, kw, cin, cout]`, depthwise `[kh, kw, cin, multiplier]` with `groups = cin`). Each output is a flat
 * per-image array made of pieces: a tensor in NHWC order at an offset (what tfjs's reshape and concatenation along
 * axis 1 do to NHWC maps).
 * @module
 */
import { ACTIVATION_CODES, type NativeAddon, type NativePlanHandle } from "./addon.ts";

/** Activations a plan op can apply (leakyrelu with `alpha`, its negative slope). */
export type PlanActivation = "linear" | "relu" | "relu6" | "leakyrelu" | "sigmoid" | "elu";

/** Shape of a plan tensor, per image. */
export interface PlanTensorShape {
  height: number;
  width: number;
  channels: number;
}

/** `[top, left, bottom, right]` padding in pixels. */
export type PlanPadding = [number, number, number, number];

/** A convolution: `dst = act(conv(src, weights) + bias + sum)`, zeros outside the input (padding). */
export interface PlanConv {
  op: "conv";
  src: number;
  dst: number;
  /** `[kh, kw]`. */
  kernel: [number, number];
  strides: [number, number];
  /** Dilation rates counted from 1 (tfjs's convention). */
  dilations: [number, number];
  pad: PlanPadding;
  /** 1, or the input channels for a depthwise convolution. */
  groups: number;
  /** tfjs layout: `[kh, kw, cin, cout]` (groups 1) or `[kh, kw, cin, multiplier]` (depthwise). */
  weights: Float32Array;
  bias?: Float32Array | null;
  activation?: PlanActivation;
  alpha?: number;
  /** A tensor of the output's shape added before the activation. */
  sum?: number | null;
}

/** Concatenation along channels. */
export interface PlanConcat {
  op: "concat";
  srcs: number[];
  dst: number;
}

/** Max pooling; padded positions never win. */
export interface PlanMaxPool {
  op: "maxPool";
  src: number;
  dst: number;
  window: [number, number];
  strides: [number, number];
  pad: PlanPadding;
}

/** `dst = act(a + b)`. */
export interface PlanAdd {
  op: "add";
  srcs: [number, number];
  dst: number;
  activation?: PlanActivation;
  alpha?: number;
}

/** `dst = act(src)`. */
export interface PlanEltwise {
  op: "activation";
  src: number;
  dst: number;
  activation: PlanActivation;
  alpha?: number;
}

/** One op of a plan. */
export type PlanOp = PlanConv | PlanConcat | PlanMaxPool | PlanAdd | PlanEltwise;

/** A plan output: `perImage` values per image, tiled exactly by the pieces (tensor values in NHWC order). */
export interface PlanOutputSpec {
  perImage: number;
  pieces: { tensor: number; offset: number }[];
}

/** A whole plan: tensor shapes (0 = the input), ops in execution order, outputs. */
export interface PlanSpec {
  tensors: PlanTensorShape[];
  ops: PlanOp[];
  outputs: PlanOutputSpec[];
}

/** What the addon's `createPlan` takes. */
export interface EncodedPlan {
  program: Int32Array;
  params: Float32Array[];
  scalars: Float32Array;
}

const KIND = { conv: 1, concat: 2, maxPool: 3, add: 4, activation: 5 } as const;
const VERSION = 1;

function actCode(a: PlanActivation | undefined, where: string): number {
  const code = ACTIVATION_CODES[a ?? "linear"];
  if (code === undefined) throw new Error(`${where}: unknown activation ${a}`);
  return code;
}

/**
 * The addon's encoding of a plan (the layout native/ssd_native.cc `parsePlan` reads). Checks what it can see here
 * (tensor ids, weight sizes); the addon checks the geometry.
 */
export function encodePlan(spec: PlanSpec): EncodedPlan {
  const where = "lib/backend/native/plan.ts";
  const code: number[] = [VERSION, spec.tensors.length];
  for (const [i, t] of spec.tensors.entries()) {
    for (const d of [t.channels, t.height, t.width]) {
      if (!Number.isInteger(d) || d < 1) throw new Error(`${where}: tensor ${i} has shape ${JSON.stringify(t)}`);
    }
    code.push(t.channels, t.height, t.width);
  }
  const tensor = (id: number | null | undefined, what: string): number => {
    if (id === null || id === undefined) return -1;
    if (!Number.isInteger(id) || id < 0 || id >= spec.tensors.length) throw new Error(`${where}: ${what} ${id}`);
    return id;
  };
  const params: Float32Array[] = [];
  const param = (a: Float32Array | null | undefined): number => {
    if (!a) return -1;
    params.push(a);
    return params.length - 1;
  };
  const scalars: number[] = [];
  code.push(spec.ops.length);
  for (const [i, op] of spec.ops.entries()) {
    const name = `${where}: op ${i} (${op.op})`;
    switch (op.op) {
      case "conv": {
        const cin = spec.tensors[tensor(op.src, `${name} src`)].channels;
        const cout = spec.tensors[tensor(op.dst, `${name} dst`)].channels;
        const want = op.kernel[0] * op.kernel[1] * (cin / op.groups) * cout;
        if (op.weights.length !== want) {
          throw new Error(
            `${name}: ${op.weights.length} weights, a ${op.kernel} kernel ${cin} -> ${cout} needs ${want}`,
          );
        }
        code.push(KIND.conv, op.src, op.dst, tensor(op.sum, `${name} sum`), ...op.kernel, ...op.strides);
        code.push(
          ...op.dilations,
          ...op.pad,
          op.groups,
          param(op.weights),
          param(op.bias),
          actCode(op.activation, name),
        );
        scalars.push(op.alpha ?? 0);
        break;
      }
      case "concat":
        code.push(KIND.concat, tensor(op.dst, `${name} dst`), op.srcs.length, ...op.srcs.map((s) => tensor(s, name)));
        scalars.push(0);
        break;
      case "maxPool":
        code.push(KIND.maxPool, tensor(op.src, name), tensor(op.dst, name), ...op.window, ...op.strides, ...op.pad);
        scalars.push(0);
        break;
      case "add":
        code.push(KIND.add, ...op.srcs.map((s) => tensor(s, name)), tensor(op.dst, name), actCode(op.activation, name));
        scalars.push(op.alpha ?? 0);
        break;
      case "activation":
        code.push(KIND.activation, tensor(op.src, name), tensor(op.dst, name), actCode(op.activation, name));
        scalars.push(op.alpha ?? 0);
        break;
      default:
        throw new Error(`${where}: op ${i} has unknown kind ${(op as { op: string }).op}`);
    }
  }
  code.push(spec.outputs.length);
  for (const o of spec.outputs) {
    code.push(o.perImage, o.pieces.length);
    for (const p of o.pieces) code.push(tensor(p.tensor, `${where}: output piece tensor`), p.offset);
  }
  if (code.some((v) => !Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1)) {
    throw new Error(`${where}: the plan holds a value that is not a 32-bit integer`);
  }
  return { program: Int32Array.from(code), params, scalars: Float32Array.from(scalars) };
}

/** A plan living in the addon; {@link dispose} frees it (otherwise garbage collection does, eventually). */
export class NativePlan {
  private handle: NativePlanHandle | null;
  /** Per-image value counts of the outputs. */
  readonly outputSizes: number[];
  /** Per-image input values (height x width x channels). */
  readonly inputSize: number;

  /** Builds the plan in the addon (weights copied and checked; primitives come with each batch size's first run). */
  constructor(private readonly addon: NativeAddon, spec: PlanSpec) {
    const e = encodePlan(spec);
    this.handle = addon.createPlan(e.program, e.params, e.scalars);
    this.outputSizes = spec.outputs.map((o) => o.perImage);
    const t = spec.tensors[0];
    this.inputSize = t.height * t.width * t.channels;
  }

  private live(): NativePlanHandle {
    if (!this.handle) throw new Error("lib/backend/native/plan.ts: the plan was disposed");
    return this.handle;
  }

  /** Whether {@link dispose} has run. */
  get disposed(): boolean {
    return this.handle === null;
  }

  /** Runs the plan on `batch` NHWC images (`input`: batch x {@link inputSize} values); returns the outputs. */
  run(input: Float32Array, batch: number): Float32Array[] {
    const outputs = this.outputSizes.map((n) => new Float32Array(batch * n));
    this.runInto(input, batch, outputs);
    return outputs;
  }

  /** {@link run} into caller-owned outputs (batch x each output's per-image size). */
  runInto(input: Float32Array, batch: number, outputs: Float32Array[]): void {
    this.addon.runPlan(this.live(), batch, input, outputs);
  }

  /** The addon's description of the steps at `batch` (implementations, layouts, buffer bytes). */
  info(batch: number): string {
    return this.addon.planInfo(this.live(), batch);
  }

  /** Frees the plan in the addon now; later calls throw. Safe to call twice. */
  dispose(): void {
    if (this.handle) this.addon.disposePlan(this.handle);
    this.handle = null;
  }
}
