/**
 * What the exporters (TF.js in ./tfjs.ts, ONNX in ./onnx.ts) start from: a detector model as lib/model builds it,
 * and everything a runtime outside this repository needs to turn its raw outputs into boxes, gathered into one
 * JSON-safe {@link PortableMetadata} (priors config, offset variances, class names, preprocessing, eval settings).
 *
 * A run folder is loaded the way lib/experiments/pipeline.ts `loadRunModel` does it (readRunConfig, buildDetector with the
 * config's model block and seed, the kept weights set by position), repeated here so that lib/experiments can call the
 * exporters without an import cycle; the rebuilt priors are checked against the config's prior layout.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { DEFAULT_VARIANCES } from "../detect/boxes.ts";
import { generatePriors, type PriorConfig, type PriorReading } from "../detect/priors.ts";
import { buildDetector, type Detector, type TrunkName } from "../model/detector.ts";
import { DEFAULT_CONFIG, readRunConfig, type RunConfig } from "../runs/config.ts";
import { readWeights } from "../runs/files.ts";
import { setModelWeights } from "../model/weights.ts";
import { CLASS_NAMES } from "../types.ts";

/** The decoding settings of the run's evaluation (lib/detect decodeDetections' options). */
export interface EvalSettings {
  /** Keep candidates with class probability strictly above this. */
  scoreThreshold: number;
  /** Per-class greedy NMS IoU. */
  nmsIou: number;
  /** Detections kept per image after NMS, over all classes. */
  topK: number;
  /** Highest-scoring candidates per class entering NMS. */
  preNmsTopK: number;
}

/** A detector to export: the model (custom blocks allowed), its priors and what a runtime needs to decode. */
export interface ExportSource {
  /** Outputs logits `[B, P, C]` then offsets `[B, P, 4]`; input `[B, H, W, 3]`. */
  model: tf.LayersModel;
  priorConfig: PriorConfig;
  /** Flat `P * 4`, normalised centre form, in the order of the model's outputs. */
  priors: Float32Array;
  /** Class names by class id; id 0 is the background. */
  classNames: readonly string[];
  eval: EvalSettings;
  /** What the model is: trunk, branches, width, prior reading. */
  architecture: { trunk: TrunkName | string; branches: number; width: number | null; priorReading: PriorReading };
  /** Where the weights came from (run folder, epoch, ...); informative. */
  origin: Record<string, unknown>;
}

/** Everything a runtime outside this repository needs to decode the model's outputs; JSON-safe. */
export interface PortableMetadata {
  format: "ssdv2-ts detector";
  version: 1;
  input: {
    name: string;
    layout: "NHWC";
    /** `[null, H, W, 3]`: any batch size. */
    shape: [null, number, number, 3];
    dtype: "float32";
    preprocessing: string;
  };
  outputs: { logits: string; offsets: string };
  classNames: string[];
  priors: {
    inputSize: [number, number];
    steps: number[];
    sizes: number[][];
    clip: boolean;
    count: number;
    form: string;
    order: string;
  };
  variances: [number, number];
  decoding: string;
  eval: EvalSettings;
  architecture: ExportSource["architecture"];
  origin: Record<string, unknown>;
}

function evalOf(config: Pick<RunConfig, "eval">): EvalSettings {
  const e = config.eval;
  return { scoreThreshold: e.scoreThreshold, nmsIou: e.nmsIou, topK: e.topK, preNmsTopK: e.preNmsTopK };
}

/** An {@link ExportSource} for a detector built in this process (eval settings default to DEFAULT_CONFIG's). */
export function detectorSource(
  d: Detector,
  options: { width?: number; eval?: EvalSettings; origin?: Record<string, unknown> } = {},
): ExportSource {
  return {
    model: d.model,
    priorConfig: d.priorConfig,
    priors: d.priors,
    classNames: CLASS_NAMES,
    eval: options.eval ?? evalOf(DEFAULT_CONFIG),
    architecture: { trunk: d.trunk, branches: d.branches, width: options.width ?? null, priorReading: d.priorReading },
    origin: options.origin ?? {},
  };
}

/** Options of {@link loadRunSource}. */
export interface LoadRunSourceOptions {
  /** Weights folder inside the run: `model` (the run's result, default) or `model_best`. */
  weights?: string;
}

/**
 * Loads a run folder's config and kept weights into a freshly built detector; the caller disposes `model`.
 * Errors name the run folder and the file.
 */
export async function loadRunSource(runDir: string, options: LoadRunSourceOptions = {}): Promise<ExportSource> {
  const dir = runDir.replace(/\/+$/, "");
  const config = await readRunConfig(dir);
  const weightsDir = `${dir}/${options.weights ?? "model"}`;
  const saved = await readWeights(weightsDir);
  const d = buildDetector({
    trunk: config.model.trunk,
    branches: config.model.branches as 1 | 2 | 3 | 4,
    width: config.model.width,
    priorReading: config.model.priors,
    seed: config.seed,
  });
  try {
    setModelWeights(d.model, saved.weights, { source: `${weightsDir}/model.json` });
  } catch (e) {
    d.model.dispose();
    throw e;
  }
  const meta = saved.metadata;
  const pick = (k: string) => (k in meta ? { [k]: meta[k] } : {});
  return detectorSource(d, {
    width: config.model.width,
    eval: evalOf(config),
    origin: {
      run: dir,
      name: config.name,
      experiment: config.experiment,
      weights: options.weights ?? "model",
      ...pick("epoch"),
      ...pick("which"),
      ...pick("valMap"),
      ...pick("data"),
    },
  });
}

/** The {@link PortableMetadata} of a source; checks that its priors follow its prior config. */
export function portableMetadata(source: ExportSource): PortableMetadata {
  const where = "lib/export/source.ts";
  const { model, priorConfig, priors } = source;
  const expected = generatePriors(priorConfig);
  if (expected.length !== priors.length || expected.some((v, i) => v !== priors[i])) {
    throw new Error(`${where}: the model's priors do not follow its prior config (${JSON.stringify(priorConfig)})`);
  }
  const P = priors.length / 4;
  const inShape = model.inputs[0]?.shape;
  if (model.inputs.length !== 1 || inShape.length !== 4 || inShape[3] !== 3) {
    throw new Error(
      `${where}: expected one [B, H, W, 3] input, got ${JSON.stringify(model.inputs.map((i) => i.shape))}`,
    );
  }
  const [h, w] = [inShape[1], inShape[2]];
  if (h !== priorConfig.inputSize[0] || w !== priorConfig.inputSize[1]) {
    throw new Error(`${where}: the model's input is ${h}x${w}, its priors are laid out for ${priorConfig.inputSize}`);
  }
  const outShapes = model.outputs.map((o) => o.shape);
  const C = outShapes[0]?.[2];
  if (outShapes.length !== 2 || outShapes[0][1] !== P || outShapes[1][1] !== P || outShapes[1][2] !== 4) {
    throw new Error(`${where}: expected outputs [B, ${P}, C] and [B, ${P}, 4], got ${JSON.stringify(outShapes)}`);
  }
  if (C !== source.classNames.length) {
    throw new Error(`${where}: the model scores ${C} classes, ${source.classNames.length} class names were given`);
  }
  const [v0, v1] = DEFAULT_VARIANCES;
  return {
    format: "ssdv2-ts detector",
    version: 1,
    input: {
      name: model.inputs[0].name,
      layout: "NHWC",
      shape: [null, h as number, w as number, 3],
      dtype: "float32",
      preprocessing: `RGB resized to ${w}x${h} without keeping the aspect ratio (fill), value = pixel / 255 - 0.5`,
    },
    outputs: {
      logits: `[N, ${P}, ${C}] class scores before softmax (softmax over the last axis; class 0 = background)`,
      offsets: `[N, ${P}, 4] box offsets (dcx, dcy, dw, dh) relative to the priors, see decoding`,
    },
    classNames: [...source.classNames],
    priors: {
      inputSize: [priorConfig.inputSize[0], priorConfig.inputSize[1]],
      steps: [...priorConfig.steps],
      sizes: priorConfig.sizes.map((s) => [...s]),
      clip: priorConfig.clip ?? false,
      count: P,
      form: "normalised centre boxes [cx, cy, w, h]",
      order: "for each feature map k (stride steps[k], ceil(H / step) rows x ceil(W / step) cols), row i, column " +
        "j, anchor size s in sizes[k]: cx = (j + 0.5) * step / W, cy = (i + 0.5) * step / H, w = s / W, h = s / H",
    },
    variances: [v0, v1],
    decoding: "cx = pcx + dcx * v0 * pw, cy = pcy + dcy * v0 * ph, w = pw * exp(dw * v1), h = ph * exp(dh * v1); " +
      "corners (cx -+ w / 2, cy -+ h / 2) clipped to [0, 1] are fractions of the input width and height; then per " +
      "class: score > eval.scoreThreshold, the eval.preNmsTopK best, greedy NMS at eval.nmsIou, eval.topK over " +
      "classes",
    eval: { ...source.eval },
    architecture: { ...source.architecture },
    origin: { ...source.origin },
  };
}
