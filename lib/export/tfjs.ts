/**
 * A portable TF.js layers model of a detector: a model folder (`model.json` + one `.bin` shard, the official tfjs
 * layers-model format) that plain `tf.loadLayersModel` reads without this repository's custom classes.
 *
 * The topology holds only standard Keras / TF.js layers ({@link PORTABLE_LAYER_CLASSES}). Our blocks are expanded
 * into them with the same maths as lib/model/blocks.ts:
 * - ConvBlock: stride 2 = ZeroPadding2D(1) + Conv2D(3x3, stride 2, 'valid'); stride 1 = Conv2D(3x3, 'same'), i.e.
 *   one pixel of zeros on every side either way; no bias; then BatchNormalization (the block's epsilon and
 *   momentum) and ReLU.
 * - DepthwiseConvBlock: [ZeroPadding2D(1) at stride 2] DepthwiseConv2D(3x3, multiplier 1, no bias) + BN + ReLU,
 *   then Conv2D(1x1, no bias) + BN + ReLU.
 * - DilatedConv2D(d): Conv2D(3x3, stride 1, 'same', dilationRate d); its zero-filled (2d+1)^2 kernel trick exists
 *   only because tfjs cannot differentiate dilated convs, which inference does not need.
 * Weights are moved by their names inside each block (kernel, gamma, ...), never by position.
 *
 * `userDefinedMetadata` carries {@link PortableMetadata} (priors config, variances, class names, eval settings),
 * so any runtime can decode the outputs.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic, writeJsonAtomic } from "../runs/files.ts";
import { type ExportSource, loadRunSource, type LoadRunSourceOptions, portableMetadata } from "./source.ts";
import type { PortableMetadata } from "./source.ts";

/** The layer classes a portable model may contain (all standard Keras / TF.js layers). */
export const PORTABLE_LAYER_CLASSES = [
  "InputLayer",
  "Conv2D",
  "DepthwiseConv2D",
  "BatchNormalization",
  "ReLU",
  "LeakyReLU",
  "ZeroPadding2D",
  "Concatenate",
  "Reshape",
  "Activation",
  "Add",
  "MaxPooling2D",
] as const;

/** File name of the weight shard the exporter writes beside `model.json`. */
export const TFJS_SHARD = "group1-shard1of1.bin";

type Sym = tf.SymbolicTensor;
type Layer = tf.layers.Layer;
type Config = tf.serialization.ConfigDict;

const WHERE = "lib/export/tfjs.ts";

/** A layer's weights keyed by their name inside the layer (`t1_cb1/kernel` -> `kernel`). */
function weightsByName(layer: Layer): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const w of layer.weights) {
    const short = w.originalName.slice(w.originalName.lastIndexOf("/") + 1);
    out.set(short, w.read());
  }
  return out;
}

function need(weights: Map<string, tf.Tensor>, name: string, layer: Layer): tf.Tensor {
  const w = weights.get(name);
  if (!w) throw new Error(`${WHERE}: layer ${layer.name} (${layer.getClassName()}) has no weight "${name}"`);
  return w;
}

/**
 * Rebuilds a model from standard layers. A layer replaced one for one keeps its name (the outputs stay `logits` and
 * `offsets`); the layers a block expands into are named after the block and never take a name of the model.
 */
class PortableBuilder {
  private readonly reserved: Set<string>;
  private readonly used = new Set<string>();
  constructor(model: tf.LayersModel) {
    this.reserved = new Set(model.layers.map((l) => l.name));
  }
  /** The name of the layer being replaced one for one. */
  own(name: string): string {
    this.used.add(name);
    return name;
  }
  /** A new name starting with `base`. */
  name(base: string): string {
    let n = base;
    for (let i = 1; this.used.has(n) || this.reserved.has(n); i++) n = `${base}_${i}`;
    this.used.add(n);
    return n;
  }
  /** Applies `layer` to `x` and sets its weights (in the layer's own order). */
  apply(layer: Layer, x: Sym | Sym[], weights: tf.Tensor[] = []): Sym {
    const y = layer.apply(x) as Sym;
    if (weights.length > 0) layer.setWeights(weights);
    return y;
  }
  bn(x: Sym, prefix: string, w: Map<string, tf.Tensor>, src: Layer, cfg: Config, stage: string): Sym {
    const layer = tf.layers.batchNormalization({
      axis: -1,
      epsilon: cfg.epsilon as number,
      momentum: cfg.momentum as number,
      name: this.name(`${prefix}_${stage || "bn"}`),
    });
    const p = stage ? `${stage}_` : "";
    return this.apply(layer, x, [
      need(w, `${p}gamma`, src),
      need(w, `${p}beta`, src),
      need(w, `${p}moving_mean`, src),
      need(w, `${p}moving_variance`, src),
    ]);
  }
  relu(x: Sym, prefix: string): Sym {
    return this.apply(tf.layers.reLU({ name: this.name(`${prefix}_relu`) }), x);
  }
  pad(x: Sym, prefix: string): Sym {
    return this.apply(tf.layers.zeroPadding2d({ padding: 1, name: this.name(`${prefix}_pad`) }), x);
  }
}

function convBlock(b: PortableBuilder, x: Sym, src: Layer): Sym {
  const cfg = src.getConfig();
  const w = weightsByName(src);
  const stride = cfg.stride as number;
  const p = src.name;
  const input = stride === 2 ? b.pad(x, p) : x;
  const conv = tf.layers.conv2d({
    filters: cfg.filters as number,
    kernelSize: 3,
    strides: stride,
    padding: stride === 2 ? "valid" : "same",
    useBias: false,
    name: b.name(`${p}_conv`),
  });
  const y = b.apply(conv, input, [need(w, "kernel", src)]);
  return b.relu(b.bn(y, p, w, src, cfg, ""), p);
}

function depthwiseBlock(b: PortableBuilder, x: Sym, src: Layer): Sym {
  const cfg = src.getConfig();
  const w = weightsByName(src);
  const stride = cfg.stride as number;
  const p = src.name;
  const input = stride === 2 ? b.pad(x, p) : x;
  const dw = tf.layers.depthwiseConv2d({
    kernelSize: 3,
    strides: stride,
    padding: stride === 2 ? "valid" : "same",
    depthMultiplier: 1,
    useBias: false,
    name: b.name(`${p}_dw`),
  });
  let y = b.relu(b.bn(b.apply(dw, input, [need(w, "depthwise_kernel", src)]), p, w, src, cfg, "bn1"), p);
  const pw = tf.layers.conv2d({
    filters: cfg.filters as number,
    kernelSize: 1,
    padding: "valid",
    useBias: false,
    name: b.name(`${p}_pw`),
  });
  y = b.apply(pw, y, [need(w, "pointwise_kernel", src)]);
  return b.relu(b.bn(y, p, w, src, cfg, "bn2"), p);
}

function dilatedConv(b: PortableBuilder, x: Sym, src: Layer): Sym {
  const cfg = src.getConfig();
  const w = weightsByName(src);
  const useBias = cfg.useBias === true;
  const conv = tf.layers.conv2d({
    filters: cfg.filters as number,
    kernelSize: 3,
    strides: 1,
    padding: "same",
    dilationRate: cfg.dilation as number,
    useBias,
    name: b.own(src.name),
  });
  return b.apply(conv, x, useBias ? [need(w, "kernel", src), need(w, "bias", src)] : [need(w, "kernel", src)]);
}

/** A fresh copy of a standard layer from its config, with the same weights. */
function cloneStandard(b: PortableBuilder, x: Sym | Sym[], src: Layer): Sym {
  const className = src.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`${WHERE}: layer class ${className} is not registered with tfjs`);
  const [cls, fromConfig] = entry;
  const layer = fromConfig(cls, { ...src.getConfig(), name: b.own(src.name) }) as Layer;
  return b.apply(layer, x, src.getWeights());
}

/**
 * A copy of `model` made of standard layers only ({@link PORTABLE_LAYER_CLASSES}), with the same weights and the
 * same outputs; the caller disposes it. Throws, naming the layer, on a layer it cannot express.
 */
export function toPortableModel(model: tf.LayersModel): tf.LayersModel {
  const b = new PortableBuilder(model);
  const mapped = new Map<number, Sym>();
  const get = (t: Sym) => {
    const m = mapped.get(t.id);
    if (!m) throw new Error(`${WHERE}: tensor ${t.name} is used before it is made (not a functional model?)`);
    return m;
  };
  const inputs: Sym[] = [];
  for (const layer of model.layers) {
    const className = layer.getClassName();
    if (layer.inboundNodes.length !== 1) {
      throw new Error(`${WHERE}: layer ${layer.name} (${className}) is applied ${layer.inboundNodes.length} times`);
    }
    const node = layer.inboundNodes[0];
    if (node.outputTensors.length !== 1) throw new Error(`${WHERE}: layer ${layer.name} has several outputs`);
    const out = node.outputTensors[0];
    if (className === "InputLayer") {
      const cfg = layer.getConfig();
      const t = tf.input({
        batchShape: cfg.batchInputShape as number[],
        dtype: cfg.dtype as tf.DataType,
        name: b.own(layer.name),
      });
      inputs.push(t);
      mapped.set(out.id, t);
      continue;
    }
    const xs = node.inputTensors.map(get);
    const x = xs.length === 1 ? xs[0] : xs;
    let y: Sym;
    if (className === "ConvBlock") y = convBlock(b, xs[0], layer);
    else if (className === "DepthwiseConvBlock") y = depthwiseBlock(b, xs[0], layer);
    else if (className === "DilatedConv2D") y = dilatedConv(b, xs[0], layer);
    else if ((PORTABLE_LAYER_CLASSES as readonly string[]).includes(className)) y = cloneStandard(b, x, layer);
    else throw new Error(`${WHERE}: layer ${layer.name} is a ${className}, which the portable export cannot express`);
    mapped.set(out.id, y);
  }
  const portable = tf.model({ inputs, outputs: model.outputs.map(get), name: model.name });
  if (portable.countParams() !== model.countParams()) {
    const n = [portable.countParams(), model.countParams()];
    portable.dispose();
    throw new Error(`${WHERE}: the portable copy has ${n[0]} parameters, the model ${n[1]}`);
  }
  return portable;
}

/** The serialised parts of a portable model, as tfjs' own `save` produces them. */
export interface TfjsArtifacts {
  /** The `model.json` content (official tfjs layers-model JSON). */
  modelJson: tf.io.ModelJSON;
  /** The weight shard the manifest names ({@link TFJS_SHARD}). */
  weights: Uint8Array;
}

/** Serialises a portable copy of `source.model` with its {@link PortableMetadata}, without touching any file. */
export async function tfjsArtifacts(source: ExportSource): Promise<TfjsArtifacts> {
  const metadata = portableMetadata(source);
  const portable = toPortableModel(source.model);
  try {
    portable.setUserDefinedMetadata(metadata as unknown as Record<string, unknown>);
    let saved: tf.io.ModelArtifacts | null = null;
    await portable.save(tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
    }));
    const a = saved as tf.io.ModelArtifacts | null;
    if (!a || !a.weightSpecs || !a.weightData) throw new Error(`${WHERE}: tfjs saved no weights`);
    const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData));
    const modelJson: tf.io.ModelJSON = {
      modelTopology: a.modelTopology as object,
      format: a.format,
      generatedBy: a.generatedBy,
      convertedBy: "ssdv2-ts lib/export/tfjs.ts",
      weightsManifest: [{ paths: [TFJS_SHARD], weights: a.weightSpecs }],
      userDefinedMetadata: a.userDefinedMetadata,
    };
    return { modelJson, weights };
  } finally {
    portable.dispose();
  }
}

/** What an export wrote. */
export interface TfjsExport {
  dir: string;
  /** Paths of `model.json` and the shard. */
  files: string[];
  metadata: PortableMetadata;
  /** Bytes in the weight shard. */
  weightBytes: number;
}

/** Writes the portable TF.js model of `source` into `outDir` (created if needed): `model.json` + the shard. */
export async function exportTfjsModel(source: ExportSource, outDir: string): Promise<TfjsExport> {
  const dir = outDir.replace(/\/+$/, "");
  const { modelJson, weights } = await tfjsArtifacts(source);
  await Deno.mkdir(dir, { recursive: true });
  // The shard first, so a model.json never names a missing or partial shard.
  await writeFileAtomic(`${dir}/${TFJS_SHARD}`, weights);
  await writeJsonAtomic(`${dir}/model.json`, modelJson);
  return {
    dir,
    files: [`${dir}/model.json`, `${dir}/${TFJS_SHARD}`],
    metadata: modelJson.userDefinedMetadata as unknown as PortableMetadata,
    weightBytes: weights.length,
  };
}

/**
 * Exports a run folder's kept weights (`<runDir>/model` unless `options.weights` names another folder) as a portable
 * TF.js model in `outDir`.
 *
 * ```ts
 * import { exportTfjs, setupBackend } from "ssdv2";
 * await setupBackend();
 * const out = await exportTfjs("results/ablation/branches-4-20261129-122037", "exports/ssdv2-tfjs");
 * console.log(out.files, out.weightBytes); // [ "exports/ssdv2-tfjs/model.json", ".../group1-shard1of1.bin" ] 4173144
 * // Standard layers only: plain tf.loadLayersModel reads it, without this repository's custom layer classes.
 * ```
 */
export async function exportTfjs(
  runDir: string,
  outDir: string,
  options: LoadRunSourceOptions = {},
): Promise<TfjsExport> {
  const source = await loadRunSource(runDir, options);
  try {
    return await exportTfjsModel(source, outDir);
  } finally {
    source.model.dispose();
  }
}
