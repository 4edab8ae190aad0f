/**
 * The inference API: load a trained detector once, then detect faces with and without masks on images, in the
 * spirit of tfjs-models' coco-ssd (`load()` then `detect()`) and mmdet's `init_detector` / `inference_detector`.
 *
 * ```ts
 * const detector = await loadDetector("results/ablation/branches-4-20261129-122037", { backend: "config" });
 * const dets = await detector.detect("photo.jpg", { minScore: 0.5 }); // [{ label, class, score, box }] in pixels
 * detector.dispose();
 * ```
 *
 * {@link predictDetections} is the one forward-pass-and-decode path of the repository: the detector uses it, and so
 * does lib/evaluation's `evaluateModel`, so what a run reports is what `deno task detect` draws. Decoding follows the
 * run's `eval` block (score threshold, NMS IoU, top-k, pre-NMS top-k); `minScore` only filters what is shown.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Box, CLASS_NAMES, type Detection, INPUT_HEIGHT, INPUT_WIDTH } from "../types.ts";
import { decodeDetections, toPixelDetections } from "../detect/mod.ts";
import { imageInfo, loadImage, normalize } from "../data/image.ts";
import { buildDetector } from "../model/mod.ts";
import { modelWeights, setModelWeights } from "../model/weights.ts";
import { exists, readJson, readWeights, writeWeights } from "../runs/files.ts";
import { readRunConfig, resolveConfig, type RunConfig, upgradeRunConfig } from "../runs/config.ts";
import { type BackendChoice, type BackendInfo, setupBackend } from "../backend/mod.ts";
import { disposeNativePlan, predictOutputs } from "./native_plan.ts";

/** A built detector: the model (outputs logits `[B,P,3]` and offsets `[B,P,4]`) and its priors. */
export interface DetectorBundle {
  model: tf.LayersModel;
  priors: Float32Array;
}

/** Builds the detector a config's `model` block describes. */
export type DetectorFactory = (model: RunConfig["model"], options: { seed: number }) => Promise<DetectorBundle>;

/** The detector factory of lib/model (`buildDetector`, seeded initialisers). */
export const defaultDetectorFactory: DetectorFactory = (model, options) => {
  const d = buildDetector({
    trunk: model.trunk,
    branches: model.branches as 1 | 2 | 3 | 4,
    width: model.width,
    priorReading: model.priors,
    seed: options.seed,
  });
  return Promise.resolve({ model: d.model, priors: d.priors });
};

/** How raw outputs become detections, and how many images go through the model at once. */
export interface InferenceSettings {
  /** Candidates need a class probability strictly above this (the run's `eval.scoreThreshold`). */
  scoreThreshold: number;
  /** Per-class NMS IoU. */
  nmsIou: number;
  /** Detections kept per image after NMS, over both classes. */
  topK: number;
  /** Highest-scoring candidates per class that enter NMS. */
  preNmsTopK: number;
  /** Images per forward pass. */
  batchSize: number;
}

/** The {@link InferenceSettings} of a run config: its `eval` block. */
export function inferenceSettingsOf(config: Pick<RunConfig, "eval">): InferenceSettings {
  const e = config.eval;
  return {
    scoreThreshold: e.scoreThreshold,
    nmsIou: e.nmsIou,
    topK: e.topK,
    preNmsTopK: e.preNmsTopK,
    batchSize: e.batchSize,
  };
}

/** What {@link predictDetections} returns. */
export interface PredictedBatch {
  /** Per image: normalised corner boxes clipped to [0, 1], class ids >= 1, by descending score. */
  detections: Detection[][];
  /** Time of the forward pass, from building the input tensor to reading the outputs back. */
  forwardSeconds: number;
  /** Time of decoding and NMS. */
  decodeSeconds: number;
}

/** Model input `[height, width, channels]` of a detector model. */
export function modelInputShape(model: tf.LayersModel): [number, number, number] {
  const shape = model.inputs[0]?.shape;
  if (!shape || shape.length !== 4 || shape.slice(1).some((d) => typeof d !== "number" || d <= 0)) {
    throw new Error(`lib/inference: the model's input shape ${JSON.stringify(shape)} is not [batch, h, w, c]`);
  }
  return shape.slice(1) as [number, number, number];
}

/**
 * The forward pass and decoding of a batch of model inputs (`images`: float32, `B x h x w x c` values as
 * lib/data's `normalize` makes them): one forward pass at batch size B (lib/inference/native_plan.ts
 * `predictOutputs`: the native plan on the native backend, else `predict`), then lib/detect's `decodeDetections`
 * with `settings`. Every detection in the repository goes through here.
 */
export async function predictDetections(
  model: tf.LayersModel,
  images: Float32Array,
  priors: Float32Array,
  settings: Omit<InferenceSettings, "batchSize">,
): Promise<PredictedBatch> {
  const inputShape = modelInputShape(model);
  const perImage = inputShape[0] * inputShape[1] * inputShape[2];
  const b = images.length / perImage;
  if (!Number.isInteger(b) || b < 1) {
    throw new Error(`lib/inference: ${images.length} input values are not a whole number of ${inputShape} images`);
  }
  const t0 = performance.now();
  // The native plan when the backend is native and the model compiles (rebuilt whenever the weights changed, so it
  // is never stale), else model.predict.
  const { logits: logitData, offsets: offsetData } = await predictOutputs(model, images, b);
  const t1 = performance.now();
  const detections = decodeDetections({ logits: logitData, offsets: offsetData }, {
    priors,
    scoreThreshold: settings.scoreThreshold,
    nmsIou: settings.nmsIou,
    topK: settings.topK,
    preNmsTopK: settings.preNmsTopK,
  });
  return { detections, forwardSeconds: (t1 - t0) / 1000, decodeSeconds: (performance.now() - t1) / 1000 };
}

/**
 * An image to detect on: a file path, encoded bytes (JPEG, PNG, ...), or model input already made.
 *
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { type ImageInput, loadDetector } from "ssdv2";
 * const detector = await loadDetector("results/ablation/branches-4-20261129-122037", { backend: "config" });
 * const grey = tf.fill<tf.Rank.R3>([240, 320, 3], 0); // a model input already made: no resize, no scaling
 * const images: ImageInput[] = ["photo.jpg", await Deno.readFile("photo.png"), grey]; // a path, bytes, a tensor
 * console.log((await detector.detectBatch(images)).map((dets) => dets.length)); // detections per image, in order
 * grey.dispose();
 * detector.dispose();
 * ```
 */
export type ImageInput = string | Uint8Array | tf.Tensor3D | tf.Tensor4D;

/** One image ready for the model, with the size its boxes are reported in. */
export interface PreparedImage {
  /** The file path, `<bytes>`, or `<tensor>` / `<tensor[i]>`: names the image in messages. */
  source: string;
  /** Width of the original image in pixels (of a tensor input: the tensor's width). */
  width: number;
  height: number;
  /** The model input, float32 HWC in [-0.5, 0.5]. */
  pixels: Float32Array;
}

/** Tolerance on the range of a tensor input ([-0.5, 0.5] as `normalize` makes it). */
const RANGE_SLACK = 1e-3;

/**
 * Turns an {@link ImageInput} into model inputs: files and bytes are decoded and resized as in evaluation (lib/data's
 * `loadImage` + `normalize`); a tensor must already have the model's input size (a 4D tensor gives one image per
 * row). Errors name the image and the problem.
 */
export async function prepareImage(
  image: ImageInput,
  inputShape: readonly [number, number, number] = [INPUT_HEIGHT, INPUT_WIDTH, 3],
): Promise<PreparedImage[]> {
  const [h, w, c] = inputShape;
  if (typeof image === "string" || image instanceof Uint8Array) {
    const source = typeof image === "string" ? image : "<bytes>";
    const info = await imageInfo(image);
    const pixels = normalize(await loadImage(image, { width: w, height: h }));
    return [{ source, width: info.width, height: info.height, pixels }];
  }
  if (!(image instanceof tf.Tensor)) {
    throw new Error(`lib/inference: an image must be a path, bytes or a tf.Tensor, got ${describe(image)}`);
  }
  const shape = image.shape;
  const batched = shape.length === 4;
  if (!(shape.length === 3 || batched) || shape.slice(batched ? 1 : 0).join() !== [h, w, c].join()) {
    throw new Error(
      `lib/inference: a tensor input must be [${h}, ${w}, ${c}] or [B, ${h}, ${w}, ${c}], got [${shape}]`,
    );
  }
  if (image.dtype !== "float32") throw new Error(`lib/inference: a tensor input must be float32, got ${image.dtype}`);
  const data = await image.data() as Float32Array;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (data.length > 0 && (lo < -0.5 - RANGE_SLACK || hi > 0.5 + RANGE_SLACK || Number.isNaN(lo + hi))) {
    throw new Error(
      `lib/inference: tensor values lie in [${lo}, ${hi}], not in [-0.5, 0.5] ` +
        "(model input is x / 255 - 0.5, as lib/data/image.ts normalize makes it)",
    );
  }
  const n = batched ? shape[0] : 1;
  const per = h * w * c;
  return Array.from({ length: n }, (_, i) => ({
    source: batched ? `<tensor[${i}]>` : "<tensor>",
    width: w,
    height: h,
    pixels: data.slice(i * per, (i + 1) * per),
  }));
}

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

/** A detection in the pixels of its image. */
export interface PixelDetection {
  /** Class id: 1 face_mask, 2 face. */
  label: number;
  /** Class name (`face_mask` or `face`). */
  class: string;
  score: number;
  /** `[x1, y1, x2, y2]` in pixels of the original image (of a tensor input: of the tensor). */
  box: Box;
}

/** Everything the detector found on one image. */
export interface ImageResult {
  source: string;
  width: number;
  height: number;
  /** Detections scoring at least `minScore`, in pixels, by descending score. */
  detections: PixelDetection[];
  /** The same detections with normalised boxes (what lib/metrics evaluates). */
  normalised: Detection[];
}

/** Options of a detect call. */
export interface DetectOptions {
  /** Detections scoring below this are not returned (the display threshold); default 0.5. */
  minScore?: number;
}

/** Options of {@link InferenceDetector.run}. */
export interface RunImagesOptions extends DetectOptions {
  /** Called once per image, in input order, as soon as its batch is decoded. */
  onResult?: (result: ImageResult, index: number) => void;
}

/** A loaded detector. */
export interface InferenceDetector {
  /** The run's config (null when wrapped around a model with {@link detectorFromModel}). */
  readonly config: RunConfig | null;
  readonly priors: Float32Array;
  readonly model: tf.LayersModel;
  readonly settings: InferenceSettings;
  /** Detections on one image; a 4D tensor input must hold exactly one image. */
  detect(image: ImageInput, options?: DetectOptions): Promise<PixelDetection[]>;
  /** Detections per image (a 4D tensor counts as its B images), in input order. */
  detectBatch(images: readonly ImageInput[] | tf.Tensor4D, options?: DetectOptions): Promise<PixelDetection[][]>;
  /** Detections on prepared images ({@link prepareImage}), with sizes and normalised boxes. */
  run(images: readonly PreparedImage[], options?: RunImagesOptions): Promise<ImageResult[]>;
  /** Frees the model's weights; the detector cannot be used afterwards. */
  dispose(): void;
}

/** Default display threshold (docs/design.md). */
export const DEFAULT_MIN_SCORE = 0.5;

function minScoreOf(options: DetectOptions | undefined): number {
  const s = options?.minScore ?? DEFAULT_MIN_SCORE;
  if (typeof s !== "number" || !(s >= 0 && s <= 1)) {
    throw new Error(`lib/inference: minScore must be a number in [0, 1], got ${s}`);
  }
  return s;
}

/**
 * Wraps a built model and its priors as an {@link InferenceDetector} that decodes with `settings` (batch size 8
 * unless given). `dispose()` disposes the model: leave it uncalled for a model someone else owns (one in training).
 */
export function detectorFromModel(
  model: tf.LayersModel,
  priors: Float32Array,
  settings: Omit<InferenceSettings, "batchSize"> & { batchSize?: number },
  config: RunConfig | null = null,
): InferenceDetector {
  const full: InferenceSettings = { ...settings, batchSize: settings.batchSize ?? 8 };
  if (!Number.isInteger(full.batchSize) || full.batchSize < 1) {
    throw new Error(`lib/inference: batchSize must be a whole number >= 1, got ${full.batchSize}`);
  }
  const inputShape = modelInputShape(model);
  let disposed = false;
  const alive = () => {
    if (disposed) throw new Error("lib/inference: the detector was disposed");
  };

  const run = async (images: readonly PreparedImage[], options?: RunImagesOptions): Promise<ImageResult[]> => {
    alive();
    const minScore = minScoreOf(options);
    const per = inputShape[0] * inputShape[1] * inputShape[2];
    const out: ImageResult[] = [];
    for (let start = 0; start < images.length; start += full.batchSize) {
      const chunk = images.slice(start, start + full.batchSize);
      const input = new Float32Array(chunk.length * per);
      chunk.forEach((im, k) => {
        if (im.pixels.length !== per) {
          throw new Error(`lib/inference: ${im.source}: ${im.pixels.length} input values, the model takes ${per}`);
        }
        input.set(im.pixels, k * per);
      });
      const { detections } = await predictDetections(model, input, priors, full);
      chunk.forEach((im, k) => {
        const normalised = detections[k].filter((d) => d.score >= minScore);
        const px = toPixelDetections(normalised, im);
        const result: ImageResult = {
          source: im.source,
          width: im.width,
          height: im.height,
          normalised,
          detections: px.map((d) => ({ label: d.label, class: CLASS_NAMES[d.label], score: d.score, box: d.box })),
        };
        out.push(result);
        options?.onResult?.(result, start + k);
      });
    }
    return out;
  };

  const prepareAll = async (images: readonly ImageInput[]): Promise<PreparedImage[]> =>
    (await Promise.all(images.map((im) => prepareImage(im, inputShape)))).flat();

  return {
    config,
    priors,
    model,
    settings: full,
    run,
    async detect(image, options) {
      alive();
      const prepared = await prepareImage(image, inputShape);
      if (prepared.length !== 1) {
        throw new Error(`lib/inference: detect takes one image, the tensor holds ${prepared.length}; use detectBatch`);
      }
      return (await run(prepared, options))[0].detections;
    },
    async detectBatch(images, options) {
      alive();
      const list = images instanceof tf.Tensor ? [images] : images;
      if (!Array.isArray(list)) throw new Error("lib/inference: detectBatch takes an array of images or a 4D tensor");
      return (await run(await prepareAll(list), options)).map((r) => r.detections);
    },
    dispose() {
      if (!disposed) {
        disposeNativePlan(model);
        model.dispose();
      }
      disposed = true;
    },
  };
}

/** Builds the model `config.model` describes and loads the weights of the folder `weightsDir` into it. */
async function buildWithWeights(
  config: RunConfig,
  weightsDir: string,
  buildDetector: DetectorFactory,
): Promise<DetectorBundle> {
  const weights = await readWeights(weightsDir);
  const bundle = await buildDetector(config.model, { seed: config.seed });
  try {
    setModelWeights(bundle.model, weights.weights, { source: `${weightsDir}/model.json` });
  } catch (e) {
    bundle.model.dispose();
    throw e;
  }
  return bundle;
}

/** Loads a run's config and kept weights (`model/`) into a freshly built detector. */
export async function loadRunModel(
  runDir: string,
  options: { buildDetector?: DetectorFactory } = {},
): Promise<DetectorBundle & { config: RunConfig }> {
  const config = await readRunConfig(runDir);
  const bundle = await buildWithWeights(config, `${runDir}/model`, options.buildDetector ?? defaultDetectorFactory);
  return { ...bundle, config };
}

/**
 * Saves a model as a model folder that {@link loadDetector} reads: `model.json` (topology where tfjs can serialise
 * it, the weights manifest, and `userDefinedMetadata` with the `model` block, as lib/experiments writes `model/`) and
 * `model.weights.bin`.
 */
export async function saveModelFolder(
  dir: string,
  model: tf.LayersModel,
  metadata: { model: RunConfig["model"] } & Record<string, unknown>,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const weights = modelWeights(model);
  let topology: unknown = null;
  try {
    topology = model.toJSON(undefined, false);
  } catch {
    // Custom layers may not serialise; the weights and the model block are enough to rebuild the network.
  }
  await writeWeights(dir, weights, { stem: "model", topology, metadata });
}

/** Options of {@link loadDetector}. */
export interface LoadDetectorOptions {
  /**
   * Sets up this tfjs backend before the weights are made (lib/backend `setupBackend`); `config` asks for the run's
   * `backend` block. Without it the backend active now is used.
   */
  backend?: BackendChoice | "config";
  /** Threads for the backend (overrides the config's). */
  threads?: number;
  /** Receives the backend's one-line report; default `console.log`. */
  log?: (line: string) => void;
  /** Weights folder inside a run folder; default `model` (the run's result; `model_best` where kept). */
  weights?: string;
  /** Overrides of the run's decoding settings. */
  settings?: Partial<InferenceSettings>;
  /** Builds the network in place of lib/model's (tests). */
  buildDetector?: DetectorFactory;
}

/**
 * A detector loaded from disk, with the config it was built from and the backend it runs on.
 *
 * ```ts
 * import { loadDetector, type LoadedDetector } from "ssdv2";
 * const run = "results/ablation/branches-4-20261129-122037";
 * const detector: LoadedDetector = await loadDetector(run, { backend: "config" });
 * console.log(detector.config.model, detector.backend?.name); // { priors: "own", trunk: "ssdv2", ... } native
 * console.log(detector.settings); // { scoreThreshold: 0.02, nmsIou: 0.4, topK: 200, preNmsTopK: 1000, batchSize: 16 }
 * detector.dispose(); // frees the weights (and the native plan)
 * ```
 */
export interface LoadedDetector extends InferenceDetector {
  readonly config: RunConfig;
  /** The backend set up for it (null when `backend` was not asked for). */
  readonly backend: BackendInfo | null;
  /** The weights folder read. */
  readonly weightsDir: string;
}

/**
 * The run config of a model folder (`model.json` whose `userDefinedMetadata` holds the `model` block that
 * lib/experiments writes beside the weights): the model block over the defaults, so decoding uses docs/design.md's settings.
 */
async function configOfModelFolder(dir: string): Promise<RunConfig> {
  const file = `${dir}/model.json`;
  const manifest = await readJson<{ userDefinedMetadata?: Record<string, unknown> } | null>(file);
  const metadata = manifest?.userDefinedMetadata ?? {};
  const model = metadata.model;
  if (typeof model !== "object" || model === null || Array.isArray(model)) {
    throw new Error(`${file}: userDefinedMetadata has no "model" block; load the run folder (with config.json)`);
  }
  const partial: Record<string, unknown> = { model };
  if (typeof metadata.name === "string") partial.name = metadata.name;
  if (typeof metadata.experiment === "string") partial.experiment = metadata.experiment;
  return resolveConfig(upgradeRunConfig(partial), { file: `${file} (userDefinedMetadata)` });
}

/**
 * Loads a detector from a run folder (`config.json` + `model/`) or from a model folder (`model.json` +
 * weights, the model block in its metadata). Decoding follows the run's `eval` block (or the defaults for a bare
 * model folder), overridable with `options.settings`.
 *
 * ```ts
 * import { loadDetector } from "ssdv2";
 * const detector = await loadDetector("results/ablation/branches-4-20261129-122037", { backend: "config" });
 * const image = `${Deno.env.get("FACEMASK_DATA")}/val/13_Interview_Interview_2_People_Visible_13_107.jpg`;
 * console.log(await detector.detect(image, { minScore: 0.5 }));
 * // [ { label: 2, class: "face", score: 0.97, box: [ 207.0, 32.2, 258.3, 123.4 ] } ]: pixels of the 640x480 photo
 * detector.dispose();
 * ```
 */
export async function loadDetector(dir: string, options: LoadDetectorOptions = {}): Promise<LoadedDetector> {
  const root = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  let config: RunConfig;
  let weightsDir: string;
  if (await exists(`${root}/config.json`)) {
    config = await readRunConfig(root);
    weightsDir = `${root}/${options.weights ?? "model"}`;
    if (!(await exists(`${weightsDir}/model.json`))) {
      throw new Error(`${root}: run folder without ${options.weights ?? "model"}/model.json (not trained to the end?)`);
    }
  } else if (await exists(`${root}/model.json`)) {
    config = await configOfModelFolder(root);
    weightsDir = root;
  } else {
    throw new Error(`${root}: neither a run folder (config.json + model/) nor a model folder (model.json)`);
  }
  let backend: BackendInfo | null = null;
  if (options.backend) {
    // Before any weight exists: a variable lives on the backend that is active when it is made.
    const fromConfig = options.backend === "config";
    backend = await setupBackend({
      backend: fromConfig ? config.backend.name : options.backend as BackendChoice,
      threads: options.threads ?? (fromConfig && config.backend.threads > 0 ? config.backend.threads : undefined),
      log: options.log,
    });
  }
  const { model, priors } = await buildWithWeights(config, weightsDir, options.buildDetector ?? defaultDetectorFactory);
  const settings = { ...inferenceSettingsOf(config), ...options.settings };
  return { ...detectorFromModel(model, priors, settings, config), config, backend, weightsDir };
}
