/**
 * ONNX export of a detector: a ModelProto built with the compiled ONNX protobuf definitions of `onnx-proto`
 * (protobufjs), opset 13, from the portable copy of the model (./tfjs.ts), so this file maps standard layers only.
 *
 * Graph contract:
 * - input `image`: float32 `[N, H, W, 3]` (NHWC, 240x320 for the SSDv2 runs; `N` is free), preprocessed as the
 *   metadata says (RGB, pixel / 255 - 0.5). The graph starts with one Transpose to NCHW, because ONNX convolutions
 *   are NCHW; the head maps are transposed back to NHWC before their Reshape, so the priors come out in the same
 *   order as in TF.js (map, row, column, anchor).
 * - outputs `logits` `[N, P, C]` (before softmax), `offsets` `[N, P, 4]`, and `priors` `[P, 4]` (a Constant:
 *   normalised centre boxes), so a runtime has everything in one file; the model's `metadata_props["ssdv2"]` and a
 *   sidecar JSON ({@link onnxSidecarPath}) hold the {@link PortableMetadata} (variances, class names, eval settings).
 * - BatchNorm: folded by default into the convolution before it (W' = W * gamma / sqrt(var + eps) per output
 *   channel, b' = (b - mean) * gamma / sqrt(var + eps) + beta, computed in float64), when that convolution has a
 *   linear activation and feeds nothing else; otherwise, or with `foldBatchNorm: false`, a BatchNormalization node.
 * - ZeroPadding2D that feeds only a convolution becomes that convolution's pads (zeros either way); TF's 'same'
 *   padding is written as explicit pads (the extra pixel of an odd total at the end, as TF does).
 * @module
 */
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import type * as tf from "@tensorflow/tfjs";
import { writeFileAtomic, writeJsonAtomic } from "../runs/files.ts";
import { type ExportSource, loadRunSource, type LoadRunSourceOptions, portableMetadata } from "./source.ts";
import type { PortableMetadata } from "./source.ts";
import { toPortableModel } from "./tfjs.ts";

const { onnx } = onnxProto;
const WHERE = "lib/export/onnx.ts";
const ATTR = onnx.AttributeProto.AttributeType;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** The ONNX operator set the exporter writes. */
export const ONNX_OPSET = 13;
/** The ONNX IR version written (the one that goes with opset 13). */
export const ONNX_IR_VERSION = 7;
/** Key of the metadata JSON in the model's `metadata_props`. */
export const ONNX_METADATA_KEY = "ssdv2";

/** Options of {@link buildOnnxModel}. */
export interface OnnxExportOptions {
  /** Fold each BatchNormalization into the convolution before it where possible (default true). */
  foldBatchNorm?: boolean;
}

/** {@link PortableMetadata} plus what is particular to the ONNX graph. */
export interface OnnxMetadata extends PortableMetadata {
  onnx: {
    opset: number;
    inputLayout: string;
    outputs: string[];
    batchNorm: string;
  };
}

/** A built ONNX model. */
export interface OnnxModel {
  /** The serialised ModelProto. */
  bytes: Uint8Array;
  metadata: OnnxMetadata;
  /** How many nodes of each operator type the graph has. */
  opCounts: Record<string, number>;
}

type Layer = tf.layers.Layer;
type Sym = tf.SymbolicTensor;
type Shape = (number | null)[];

/** A graph value: its ONNX name, whether it is stored NCHW (4-D maps) or as in TF.js, and its TF.js shape. */
interface Val {
  name: string;
  nchw: boolean;
  shape: Shape;
}

interface Bn {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

function f32Bytes(a: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) dv.setFloat32(i * 4, a[i], true);
  return out;
}

function i64Bytes(a: number[]): Uint8Array {
  const out = new Uint8Array(a.length * 8);
  const dv = new DataView(out.buffer);
  a.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return out;
}

const ints = (name: string, ints: number[]): Onnx.IAttributeProto => ({ name, type: ATTR.INTS, ints });
const int = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: ATTR.INT, i });
const float = (name: string, f: number): Onnx.IAttributeProto => ({ name, type: ATTR.FLOAT, f });

/** Nodes and initializers under construction, with unique value names. */
class Graph {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly names: Set<string>;
  constructor(reserved: string[]) {
    this.names = new Set(reserved);
  }
  fresh(base: string): string {
    let n = base;
    for (let i = 1; this.names.has(n); i++) n = `${base}_${i}`;
    this.names.add(n);
    return n;
  }
  floats(base: string, dims: number[], data: ArrayLike<number>): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: f32Bytes(data) });
    return name;
  }
  int64s(base: string, values: number[]): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: i64Bytes(values) });
    return name;
  }
  /** Adds a node; its output is `output` when given (a reserved graph output name), else a fresh name. */
  node(opType: string, inputs: string[], base: string, attribute: Onnx.IAttributeProto[] = [], output?: string) {
    const out = output ?? this.fresh(`${base}:0`);
    this.nodes.push({ opType, input: inputs, output: [out], name: this.fresh(`${base}/${opType}`), attribute });
    return out;
  }
}

function weightsOf(layer: Layer): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const w of layer.weights) {
    const short = w.originalName.slice(w.originalName.lastIndexOf("/") + 1);
    out.set(short, { shape: w.shape as number[], data: w.read().dataSync() as Float32Array });
  }
  return out;
}

function need<T>(m: Map<string, T>, name: string, layer: Layer): T {
  const v = m.get(name);
  if (v === undefined) throw new Error(`${WHERE}: layer ${layer.name} (${layer.getClassName()}) has no weight ${name}`);
  return v;
}

function pair(v: unknown, what: string, layer: Layer): [number, number] {
  const a = Array.isArray(v) ? v : [v, v];
  if (a.length !== 2 || !a.every((x) => Number.isInteger(x))) {
    throw new Error(`${WHERE}: layer ${layer.name}: ${what} ${JSON.stringify(v)} is not one or two integers`);
  }
  return [a[0], a[1]];
}

/** TF's 'same' padding of one axis: [before, after], the odd pixel after. */
function samePad(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function bnParams(layer: Layer): Bn {
  const cfg = layer.getConfig();
  const axis = cfg.axis as number;
  if (axis !== -1 && axis !== 3) throw new Error(`${WHERE}: layer ${layer.name}: BatchNormalization axis ${axis}`);
  const w = weightsOf(layer);
  const mean = need(w, "moving_mean", layer).data;
  const variance = need(w, "moving_variance", layer).data;
  return {
    gamma: w.get("gamma")?.data ?? new Float32Array(mean.length).fill(1),
    beta: w.get("beta")?.data ?? new Float32Array(mean.length),
    mean,
    variance,
    epsilon: cfg.epsilon as number,
  };
}

/** Maps the standard layers of a portable model to ONNX nodes. */
class Converter {
  readonly g: Graph;
  private readonly vals = new Map<number, Val>();
  private readonly consumers = new Map<number, Layer[]>();
  private readonly outputIds: Set<number>;
  /** ZeroPadding2D outputs merged into the one convolution reading them: its input and [top, left, bottom, right]. */
  private readonly padInto = new Map<number, { from: Val; pads: number[] }>();
  /** BatchNormalization layers already folded into their convolution. */
  private readonly folded = new Set<Layer>();
  batchNormNodes = 0;
  foldedBatchNorms = 0;

  constructor(private readonly model: tf.LayersModel, private readonly fold: boolean, reserved: string[]) {
    this.g = new Graph(reserved);
    this.outputIds = new Set(model.outputs.map((o) => o.id));
    for (const layer of model.layers) {
      for (const t of layer.inboundNodes[0].inputTensors) {
        this.consumers.set(t.id, [...(this.consumers.get(t.id) ?? []), layer]);
      }
    }
  }

  val(t: Sym): Val {
    const v = this.vals.get(t.id);
    if (!v) throw new Error(`${WHERE}: tensor ${t.name} is used before it is made`);
    return v;
  }

  set(t: Sym, v: Val): void {
    this.vals.set(t.id, v);
  }

  /** The single consumer of `t`, when `t` has exactly one and is not a model output. */
  private only(t: Sym): Layer | null {
    const c = this.consumers.get(t.id) ?? [];
    return c.length === 1 && !this.outputIds.has(t.id) ? c[0] : null;
  }

  input(t: Sym, name: string): void {
    const nchw = this.g.node("Transpose", [name], "image_to_nchw", [ints("perm", [0, 3, 1, 2])]);
    this.set(t, { name: nchw, nchw: true, shape: t.shape });
  }

  layer(layer: Layer): void {
    if (this.folded.has(layer)) return;
    const node = layer.inboundNodes[0];
    const out = node.outputTensors[0];
    const className = layer.getClassName();
    const cfg = layer.getConfig();
    const g = this.g;
    const inputs = node.inputTensors;
    if (className === "ZeroPadding2D") {
      const [[t, b], [l, r]] = cfg.padding as [[number, number], [number, number]];
      const next = this.only(out);
      const x = this.val(inputs[0]);
      if (next && ["Conv2D", "DepthwiseConv2D"].includes(next.getClassName())) {
        this.padInto.set(out.id, { from: x, pads: [t, l, b, r] });
        return;
      }
      const pads = g.int64s(`${layer.name}/pads`, [0, 0, t, l, 0, 0, b, r]);
      this.set(out, {
        name: g.node("Pad", [this.nchw(x, layer).name, pads], layer.name),
        nchw: true,
        shape: out.shape,
      });
      return;
    }
    if (className === "Conv2D" || className === "DepthwiseConv2D") return this.conv(layer, inputs[0], out);
    if (className === "BatchNormalization") {
      const x = this.nchw(this.val(inputs[0]), layer);
      const p = bnParams(layer);
      const n = p.mean.length;
      const ins = [x.name, g.floats(`${layer.name}/gamma`, [n], p.gamma), g.floats(`${layer.name}/beta`, [n], p.beta)];
      ins.push(g.floats(`${layer.name}/mean`, [n], p.mean), g.floats(`${layer.name}/var`, [n], p.variance));
      this.batchNormNodes++;
      this.set(out, {
        name: g.node("BatchNormalization", ins, layer.name, [float("epsilon", p.epsilon)]),
        nchw: true,
        shape: out.shape,
      });
      return;
    }
    const xs = inputs.map((t) => this.val(t));
    const same = (op: string, attrs: Onnx.IAttributeProto[] = []) =>
      this.set(out, { name: g.node(op, [xs[0].name], layer.name, attrs), nchw: xs[0].nchw, shape: out.shape });
    switch (className) {
      case "ReLU": {
        const max = cfg.maxValue as number | null | undefined;
        if (max == null) return same("Relu");
        const lo = g.floats(`${layer.name}/min`, [], [0]);
        const hi = g.floats(`${layer.name}/max`, [], [max]);
        this.set(out, { name: g.node("Clip", [xs[0].name, lo, hi], layer.name), nchw: xs[0].nchw, shape: out.shape });
        return;
      }
      case "LeakyReLU":
        return same("LeakyRelu", [float("alpha", cfg.alpha as number)]);
      case "Activation":
        return this.activation(layer, cfg.activation as string, xs[0], out);
      case "MaxPooling2D": {
        const x = this.nchw(xs[0], layer);
        const [kh, kw] = pair(cfg.poolSize, "poolSize", layer);
        const [sh, sw] = pair(cfg.strides ?? cfg.poolSize, "strides", layer);
        let pads = [0, 0, 0, 0];
        if (cfg.padding === "same") {
          const [t, b] = samePad(x.shape[1] as number, kh, sh, 1);
          const [l, r] = samePad(x.shape[2] as number, kw, sw, 1);
          pads = [t, l, b, r];
        } else if (cfg.padding !== "valid") {
          throw new Error(`${WHERE}: layer ${layer.name}: padding ${cfg.padding}`);
        }
        const attrs = [ints("kernel_shape", [kh, kw]), ints("strides", [sh, sw]), ints("pads", pads)];
        this.set(out, { name: g.node("MaxPool", [x.name], layer.name, attrs), nchw: true, shape: out.shape });
        return;
      }
      case "Concatenate": {
        const nchw = xs[0].nchw;
        if (xs.some((x) => x.nchw !== nchw)) throw new Error(`${WHERE}: layer ${layer.name} mixes layouts`);
        const rank = out.shape.length;
        const axis = ((cfg.axis as number) % rank + rank) % rank;
        const onnxAxis = nchw ? [0, 2, 3, 1][axis] : axis;
        const name = g.node("Concat", xs.map((x) => x.name), layer.name, [int("axis", onnxAxis)]);
        this.set(out, { name, nchw, shape: out.shape });
        return;
      }
      case "Add": {
        if (xs.some((x) => x.nchw !== xs[0].nchw)) throw new Error(`${WHERE}: layer ${layer.name} mixes layouts`);
        const name = g.node(xs.length === 2 ? "Add" : "Sum", xs.map((x) => x.name), layer.name);
        this.set(out, { name, nchw: xs[0].nchw, shape: out.shape });
        return;
      }
      case "Reshape": {
        // TF.js flattens NHWC: back to NHWC first, so the rows come out in TF.js' order
        const x = this.nhwc(xs[0], layer.name);
        const shape = g.int64s(`${layer.name}/shape`, [0, ...(cfg.targetShape as number[])]);
        this.set(out, { name: g.node("Reshape", [x.name, shape], layer.name), nchw: false, shape: out.shape });
        return;
      }
      default:
        throw new Error(`${WHERE}: layer ${layer.name} is a ${className}, which the ONNX export cannot express`);
    }
  }

  private activation(layer: Layer, activation: string, x: Val, out: Sym): void {
    const ops: Record<string, string> = { relu: "Relu", sigmoid: "Sigmoid", tanh: "Tanh" };
    if (activation === "linear") return this.set(out, { ...x, shape: out.shape });
    const op = ops[activation];
    if (!op) throw new Error(`${WHERE}: layer ${layer.name}: activation ${activation} is not supported`);
    this.set(out, { name: this.g.node(op, [x.name], layer.name), nchw: x.nchw, shape: out.shape });
  }

  private nchw(x: Val, layer: Layer): Val {
    if (!x.nchw) throw new Error(`${WHERE}: layer ${layer.name} needs a 4-D [N, H, W, C] input`);
    return x;
  }

  /** `x` in TF.js' layout (NHWC for 4-D maps). */
  nhwc(x: Val, base: string): Val {
    if (!x.nchw) return x;
    return {
      name: this.g.node("Transpose", [x.name], `${base}/to_nhwc`, [ints("perm", [0, 2, 3, 1])]),
      nchw: false,
      shape: x.shape,
    };
  }

  private conv(layer: Layer, input: Sym, out: Sym): void {
    const g = this.g;
    const cfg = layer.getConfig();
    const depthwise = layer.getClassName() === "DepthwiseConv2D";
    if (cfg.dataFormat !== "channelsLast") throw new Error(`${WHERE}: layer ${layer.name}: ${cfg.dataFormat}`);
    const merged = this.padInto.get(input.id);
    const x = this.nchw(merged?.from ?? this.val(input), layer);
    const extra = merged?.pads ?? [0, 0, 0, 0];
    const w = weightsOf(layer);
    const kernel = need(w, depthwise ? "depthwise_kernel" : "kernel", layer);
    const [kh, kw, cin, k3] = kernel.shape;
    const cout = depthwise ? cin * k3 : k3;
    // ONNX wants [cout, cin / group, kh, kw]; TF.js holds [kh, kw, cin, cout] (depthwise: [kh, kw, cin, multiplier]
    // with output channel c * multiplier + j)
    const W = new Float64Array(cout * (depthwise ? 1 : cin) * kh * kw);
    for (let y = 0; y < kh; y++) {
      for (let xx = 0; xx < kw; xx++) {
        for (let i = 0; i < cin; i++) {
          for (let o = 0; o < k3; o++) {
            const v = kernel.data[((y * kw + xx) * cin + i) * k3 + o];
            if (depthwise) W[((i * k3 + o) * kh + y) * kw + xx] = v;
            else W[((o * cin + i) * kh + y) * kw + xx] = v;
          }
        }
      }
    }
    const B = new Float64Array(cout);
    const bias = cfg.useBias ? need(w, "bias", layer).data : null;
    if (bias) B.set(bias);
    const activation = cfg.activation as string;
    if (activation !== "linear" && activation !== "relu") {
      throw new Error(`${WHERE}: layer ${layer.name}: activation ${activation} is not supported`);
    }
    const next = this.only(out);
    let result: Sym = out;
    let hasBias = bias !== null;
    if (this.fold && activation === "linear" && next && next.getClassName() === "BatchNormalization") {
      const p = bnParams(next);
      const per = W.length / cout;
      for (let o = 0; o < cout; o++) {
        const s = p.gamma[o] / Math.sqrt(p.variance[o] + p.epsilon);
        for (let k = 0; k < per; k++) W[o * per + k] *= s;
        B[o] = (B[o] - p.mean[o]) * s + p.beta[o];
      }
      hasBias = true;
      this.folded.add(next);
      this.foldedBatchNorms++;
      result = next.inboundNodes[0].outputTensors[0];
    }
    const [sh, sw] = pair(cfg.strides, "strides", layer);
    const [dh, dw] = pair(cfg.dilationRate, "dilationRate", layer);
    let pads = [0, 0, 0, 0];
    if (cfg.padding === "same") {
      const [t, b] = samePad((x.shape[1] as number) + extra[0] + extra[2], kh, sh, dh);
      const [l, r] = samePad((x.shape[2] as number) + extra[1] + extra[3], kw, sw, dw);
      pads = [t, l, b, r];
    } else if (cfg.padding !== "valid") {
      throw new Error(`${WHERE}: layer ${layer.name}: padding ${cfg.padding} is not supported`);
    }
    pads = pads.map((p, i) => p + extra[i]);
    const ins = [x.name, g.floats(`${layer.name}/W`, [cout, depthwise ? 1 : cin, kh, kw], W)];
    if (hasBias) ins.push(g.floats(`${layer.name}/B`, [cout], B));
    const attrs = [
      ints("kernel_shape", [kh, kw]),
      ints("strides", [sh, sw]),
      ints("dilations", [dh, dw]),
      ints("pads", [pads[0], pads[1], pads[2], pads[3]]),
      int("group", depthwise ? cin : 1),
    ];
    let y = g.node("Conv", ins, layer.name, attrs);
    if (activation === "relu") y = g.node("Relu", [y], layer.name);
    this.set(result, { name: y, nchw: true, shape: result.shape });
  }
}

function valueInfo(name: string, shape: Shape): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: shape.map((d) => (d === null ? { dimParam: "N" } : { dimValue: d })) },
      },
    },
  };
}

/** Builds the ONNX model of `source` (see the module notes for the graph); nothing is written. */
export function buildOnnxModel(source: ExportSource, options: OnnxExportOptions = {}): OnnxModel {
  const fold = options.foldBatchNorm ?? true;
  const base = portableMetadata(source);
  const portable = toPortableModel(source.model);
  try {
    const inputName = portable.inputNames[0];
    const outputNames = [...portable.outputNames, "priors"];
    if (new Set([inputName, ...outputNames]).size !== outputNames.length + 1) {
      throw new Error(`${WHERE}: input and output names collide: ${inputName}, ${outputNames.join(", ")}`);
    }
    const c = new Converter(portable, fold, [inputName, ...outputNames]);
    for (const layer of portable.layers) {
      if (layer.getClassName() === "InputLayer") c.input(layer.inboundNodes[0].outputTensors[0], inputName);
      else c.layer(layer);
    }
    const outputs: Onnx.IValueInfoProto[] = [];
    portable.outputs.forEach((t, k) => {
      const v = c.nhwc(c.val(t), portable.outputNames[k]);
      c.g.node("Identity", [v.name], portable.outputNames[k], [], portable.outputNames[k]);
      outputs.push(valueInfo(portable.outputNames[k], t.shape));
    });
    const P = source.priors.length / 4;
    c.g.node("Constant", [], "priors", [{
      name: "value",
      type: ATTR.TENSOR,
      t: { name: "priors_value", dims: [P, 4], dataType: FLOAT, rawData: f32Bytes(source.priors) },
    }], "priors");
    outputs.push(valueInfo("priors", [P, 4]));
    const metadata: OnnxMetadata = {
      ...base,
      onnx: {
        opset: ONNX_OPSET,
        inputLayout: `${inputName}: float32 [N, H, W, 3] (NHWC); the graph transposes it to NCHW for the convolutions`,
        outputs: outputNames,
        batchNorm: fold
          ? `folded into the preceding convolution (${c.foldedBatchNorms} folded, ${c.batchNormNodes} left as nodes)`
          : `BatchNormalization nodes (${c.batchNormNodes})`,
      },
    };
    const model: Onnx.IModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: "", version: ONNX_OPSET }],
      producerName: "ssdv2-ts",
      producerVersion: "lib/export/onnx.ts",
      docString: `SSDv2 face-mask detector (${base.architecture.trunk}, ${base.architecture.branches} branches). ` +
        `Input ${metadata.onnx.inputLayout}; ${base.input.preprocessing}. Outputs: logits ${base.outputs.logits}; ` +
        `offsets ${base.outputs.offsets}; priors [${P}, 4] ${base.priors.form}. Decoding: ${base.decoding}.`,
      graph: {
        name: portable.name,
        node: c.g.nodes,
        initializer: c.g.initializers,
        input: [valueInfo(inputName, portable.inputs[0].shape)],
        output: outputs,
      },
      metadataProps: [{ key: ONNX_METADATA_KEY, value: JSON.stringify(metadata) }],
    };
    const problem = onnx.ModelProto.verify(model);
    if (problem) throw new Error(`${WHERE}: the built ModelProto does not verify: ${problem}`);
    const opCounts: Record<string, number> = {};
    for (const n of c.g.nodes) opCounts[n.opType as string] = (opCounts[n.opType as string] ?? 0) + 1;
    return { bytes: onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish(), metadata, opCounts };
  } finally {
    portable.dispose();
  }
}

/** The sidecar JSON written beside an ONNX file: `x.onnx` -> `x.meta.json`. */
export function onnxSidecarPath(file: string): string {
  return `${file.replace(/\.onnx$/i, "")}.meta.json`;
}

/** What an ONNX export wrote. */
export interface OnnxExport {
  file: string;
  sidecar: string;
  bytes: number;
  metadata: OnnxMetadata;
  opCounts: Record<string, number>;
}

/** Writes the ONNX model of `source` to `file` and its metadata to {@link onnxSidecarPath}; folders are created. */
export async function exportOnnxModel(
  source: ExportSource,
  file: string,
  options: OnnxExportOptions = {},
): Promise<OnnxExport> {
  const built = buildOnnxModel(source, options);
  const slash = file.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(file.slice(0, slash), { recursive: true });
  await writeFileAtomic(file, built.bytes);
  const sidecar = onnxSidecarPath(file);
  await writeJsonAtomic(sidecar, { file: file.slice(slash + 1), ...built.metadata });
  return { file, sidecar, bytes: built.bytes.length, metadata: built.metadata, opCounts: built.opCounts };
}

/**
 * Exports a run folder's kept weights (`<runDir>/model` unless `options.weights` says otherwise) as ONNX.
 *
 * ```ts
 * import { exportOnnx, setupBackend } from "ssdv2";
 * await setupBackend();
 * const onnx = await exportOnnx("results/ablation/branches-4-20261129-122037", "exports/ssdv2.onnx");
 * console.log(onnx.sidecar, onnx.bytes, onnx.opCounts.Conv); // "exports/ssdv2.meta.json" ~4.2e6 37 (Convs)
 * // Input `image` [N, 240, 320, 3]; outputs `logits`, `offsets` and the `priors`, BatchNorm folded into the convs.
 * ```
 */
export async function exportOnnx(
  runDir: string,
  file: string,
  options: OnnxExportOptions & LoadRunSourceOptions = {},
): Promise<OnnxExport> {
  const source = await loadRunSource(runDir, options);
  try {
    return await exportOnnxModel(source, file, options);
  } finally {
    source.model.dispose();
  }
}
