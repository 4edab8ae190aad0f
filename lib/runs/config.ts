/**
 * Run configurations: the schema, its defaults (docs/design.md's schedule), validation with messages that name the
 * field and the file, and `extends` between config files.
 *
 * Every value a run depends on lives here so that `config.json` in a run folder is the complete recipe.
 * Choices marked "(ours)" in docs/design.md have a field of their own so that a reader can change them.
 * @module
 */

import { BACKEND_CHOICES, type BackendChoice } from "../backend/mod.ts";
import { type TrunkName, TRUNKS } from "../model/mod.ts";
import { PRIOR_READINGS, type PriorReading } from "../detect/priors.ts";
import { JsonFileError, readJson } from "./files.ts";

/**
 * The complete, resolved configuration of one run.
 *
 * ```ts
 * import { readRunConfig, type RunConfig, runExperiment } from "ssdv2";
 * const base: RunConfig = await readRunConfig("results/ablation/branches-4-20261129-122037");
 * const seed2: RunConfig = { ...base, name: "branches-4-seed2", seed: 2 }; // the same recipe, another seed
 * await runExperiment(seed2); // trains into results/ablation/branches-4-seed2-<UTC time>/
 * ```
 */
export interface RunConfig {
  /** Run name; the run folder is `results/<experiment>/<name>-<timestamp>`. */
  name: string;
  /** Group of runs this one belongs to (may contain `/`), e.g. `ablation/quick`. */
  experiment: string;
  /** Free text for humans. */
  description: string;
  /** Seed of every random choice (data order, augmentation, initial weights). */
  seed: number;
  backend: {
    /** tfjs backend to ask for; `auto` lets lib/backend choose the fastest that works. */
    name: BackendChoice;
    /** Worker threads for backends that use them; 0 = the backend's default. */
    threads: number;
  };
  data: {
    /** Data folder; `null` = `--data`, else FACEMASK_DATA, else data/aizoo-facemask, else generated data. */
    root: string | null;
    trainSplit: string;
    valSplit: string;
    /** Use only the first N training records (after a seeded shuffle); 0 = all. */
    limitTrain: number;
    /** Use only the first N validation records (in file order); 0 = all. */
    limitVal: number;
    /** Random crop, flip and photometric distortion on training images (the switch; details in `augmentation`). */
    augment: boolean;
    /** The augmentation's constants (docs/design.md, following the public SSDv2 code). */
    augmentation: {
      /** Random square crop of side u x the short side, u uniform in [minScale, maxScale]. */
      crop: boolean;
      minScale: number;
      maxScale: number;
      /** Crops drawn until one keeps a box centre; after that the whole image is used. */
      maxTries: number;
      /** Probability of a horizontal flip. */
      flipProbability: number;
      /** SSD's photometric distortion (brightness, contrast, saturation, hue; each with probability 0.5). */
      photometric: boolean;
    };
    /** Batches the loader prepares ahead of the trainer. */
    prefetch: number;
    /** Images generated when no real data is found (generated data only). */
    generatedTrain: number;
    generatedVal: number;
  };
  model: {
    trunk: TrunkName;
    /** Keep detection branches 1..k (Table 2's k-branch ablation). */
    branches: number;
    /** Base channel width c of the SSDv2 trunk. */
    width: number;
    /**
     * Priors of a k-branch model (k < 4): `own` = branches 1..k keep only their own anchor sizes; `carry` = the
     * sizes of every dropped branch move onto branch k. The two readings of Table 2's ablation; equal at k = 4.
     */
    priors: PriorReading;
  };
  train: {
    epochs: number;
    /** Images per optimizer step; reached by accumulating gradients over micro-batches. */
    batchSize: number;
    /** Images per forward/backward pass (memory bound); must divide batchSize. */
    microBatch: number;
    /**
     * Which images BatchNorm's training statistics are computed over. Only `microBatch` is implemented: with
     * batch 32 as 4 x 8, BatchNorm normalises over 8 images while the gradient is the mean over 32.
     */
    batchNormOver: "microBatch";
    /** Optimizer steps per epoch; 0 = one pass over the training records. */
    stepsPerEpoch: number;
    lr: number;
    momentum: number;
    nesterov: boolean;
    /** L2 weight decay added to the gradient (ours: the public code configures 5e-4 but never applies it). */
    weightDecay: number;
    /** Which weights decay (ours): conv/dense kernels only, or every trainable weight. */
    weightDecayOn: "kernels" | "all";
    /** Linear warm-up from lrFloor to lr over this many epochs. */
    warmupEpochs: number;
    /** Epochs at which the lr is multiplied by decayFactor. */
    decayEpochs: number[];
    decayFactor: number;
    /** Lower bound of the lr after warm-up. */
    lrFloor: number;
  };
  matching: {
    /** IoU above which a prior is positive (0.45 in the public code; SSD uses 0.5). */
    iouThreshold: number;
  };
  eval: {
    /** Validation mAP every N epochs (and always after the last); 0 = only after the last. */
    everyEpochs: number;
    /** Images per forward pass during evaluation. */
    batchSize: number;
    scoreThreshold: number;
    nmsIou: number;
    /** Detections kept per image after NMS, over both classes. */
    topK: number;
    /** Highest-scoring candidates per class that enter NMS. */
    preNmsTopK: number;
    /** IoU for a true positive in VOC AP. */
    iouThreshold: number;
  };
  checkpoint: {
    /**
     * Also keep the weights of the epoch with the best validation mAP (in `model_best/`, labelled as selected on
     * the validation split). The run's result is always its last epoch's weights (`model/`).
     */
    keepBest: boolean;
  };
}

/** Augmentation constants of docs/design.md's recipe. */
const AUGMENTATION: RunConfig["data"]["augmentation"] = {
  crop: true,
  minScale: 0.3,
  maxScale: 1,
  maxTries: 50,
  flipProbability: 0.5,
  photometric: true,
};

/** docs/design.md's schedule and evaluation settings; a config file overrides what it names. */
export const DEFAULT_CONFIG: RunConfig = {
  name: "run",
  experiment: "default",
  description: "",
  seed: 1,
  backend: { name: "auto", threads: 0 },
  data: {
    root: null,
    trainSplit: "train",
    valSplit: "val",
    limitTrain: 0,
    limitVal: 0,
    augment: true,
    augmentation: AUGMENTATION,
    prefetch: 2,
    generatedTrain: 400,
    generatedVal: 100,
  },
  model: { trunk: "ssdv2", branches: 4, width: 16, priors: "own" },
  train: {
    epochs: 100,
    batchSize: 32,
    microBatch: 8,
    batchNormOver: "microBatch",
    stepsPerEpoch: 0,
    lr: 1e-2,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 5e-4,
    weightDecayOn: "kernels",
    warmupEpochs: 5,
    decayEpochs: [50, 70],
    decayFactor: 0.1,
    lrFloor: 1e-4,
  },
  matching: { iouThreshold: 0.45 },
  eval: {
    everyEpochs: 10,
    batchSize: 16,
    scoreThreshold: 0.02,
    nmsIou: 0.4,
    topK: 200,
    preNmsTopK: 1000,
    iouThreshold: 0.5,
  },
  checkpoint: { keepBest: false },
};

type Rule =
  | { kind: "string"; nullable?: boolean; nonEmpty?: boolean }
  | { kind: "number"; min: number; max: number; integer?: boolean; minExclusive?: boolean }
  | { kind: "boolean" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "numbers"; min: number; max: number; integer?: boolean }
  | { kind: "object"; fields: Record<string, Rule> };

const int = (min: number, max: number): Rule => ({ kind: "number", min, max, integer: true });
const num = (min: number, max: number, minExclusive = false): Rule => ({ kind: "number", min, max, minExclusive });

const SCHEMA: Rule & { kind: "object" } = {
  kind: "object",
  fields: {
    name: { kind: "string", nonEmpty: true },
    experiment: { kind: "string", nonEmpty: true },
    description: { kind: "string" },
    seed: int(0, 2 ** 32 - 1),
    backend: { kind: "object", fields: { name: { kind: "enum", values: BACKEND_CHOICES }, threads: int(0, 256) } },
    data: {
      kind: "object",
      fields: {
        root: { kind: "string", nullable: true },
        trainSplit: { kind: "string", nonEmpty: true },
        valSplit: { kind: "string", nonEmpty: true },
        limitTrain: int(0, 1e7),
        limitVal: int(0, 1e7),
        augment: { kind: "boolean" },
        augmentation: {
          kind: "object",
          fields: {
            crop: { kind: "boolean" },
            minScale: num(0, 1, true),
            maxScale: num(0, 1, true),
            maxTries: int(1, 10000),
            flipProbability: num(0, 1),
            photometric: { kind: "boolean" },
          },
        },
        prefetch: int(0, 64),
        generatedTrain: int(1, 1e5),
        generatedVal: int(1, 1e5),
      },
    },
    model: {
      kind: "object",
      fields: {
        trunk: { kind: "enum", values: TRUNKS },
        branches: int(1, 4),
        width: int(1, 256),
        priors: { kind: "enum", values: PRIOR_READINGS },
      },
    },
    train: {
      kind: "object",
      fields: {
        epochs: int(1, 10000),
        batchSize: int(1, 4096),
        microBatch: int(1, 4096),
        batchNormOver: { kind: "enum", values: ["microBatch"] },
        stepsPerEpoch: int(0, 1e7),
        lr: num(0, 10, true),
        momentum: num(0, 0.999999),
        nesterov: { kind: "boolean" },
        weightDecay: num(0, 1),
        weightDecayOn: { kind: "enum", values: ["kernels", "all"] },
        warmupEpochs: num(0, 10000),
        decayEpochs: { kind: "numbers", min: 0, max: 10000 },
        decayFactor: num(0, 1, true),
        lrFloor: num(0, 10),
      },
    },
    matching: { kind: "object", fields: { iouThreshold: num(0, 1, true) } },
    eval: {
      kind: "object",
      fields: {
        everyEpochs: int(0, 10000),
        batchSize: int(1, 4096),
        scoreThreshold: num(0, 1),
        nmsIou: num(0, 1, true),
        topK: int(1, 100000),
        preNmsTopK: int(1, 1000000),
        iouThreshold: num(0, 1, true),
      },
    },
    checkpoint: { kind: "object", fields: { keepBest: { kind: "boolean" } } },
  },
};

/** A config that failed validation; `message` names the file and the field. */
export class ConfigError extends Error {
  /** Creates the error for `file` (or a description of the source) and `field` (dotted path). */
  constructor(readonly file: string, readonly field: string, problem: string) {
    super(`${file}: ${field ? `field "${field}"` : "config"}: ${problem}`);
    this.name = "ConfigError";
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function rangeText(rule: { min: number; max: number; minExclusive?: boolean }): string {
  return `${rule.minExclusive ? "(" : "["}${rule.min}, ${rule.max}]`;
}

function checkValue(rule: Rule, value: unknown, path: string, file: string): void {
  switch (rule.kind) {
    case "string":
      if (value === null && rule.nullable) return;
      if (typeof value !== "string") throw new ConfigError(file, path, `expected a string, got ${describe(value)}`);
      if (rule.nonEmpty && value.trim() === "") throw new ConfigError(file, path, "must not be empty");
      return;
    case "boolean":
      if (typeof value !== "boolean") {
        throw new ConfigError(file, path, `expected true or false, got ${describe(value)}`);
      }
      return;
    case "enum":
      if (typeof value !== "string" || !rule.values.includes(value)) {
        throw new ConfigError(file, path, `expected one of ${rule.values.join(", ")}, got ${describe(value)}`);
      }
      return;
    case "number": {
      const what = rule.integer ? "an integer" : "a number";
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new ConfigError(file, path, `expected ${what} in ${rangeText(rule)}, got ${describe(value)}`);
      }
      if (rule.integer && !Number.isInteger(value)) {
        throw new ConfigError(file, path, `expected an integer, got ${value}`);
      }
      const low = rule.minExclusive ? value <= rule.min : value < rule.min;
      if (low || value > rule.max) {
        throw new ConfigError(file, path, `${value} is out of range ${rangeText(rule)}`);
      }
      return;
    }
    case "numbers":
      if (!Array.isArray(value)) {
        throw new ConfigError(file, path, `expected an array of numbers, got ${describe(value)}`);
      }
      value.forEach((v, i) => checkValue({ kind: "number", min: rule.min, max: rule.max }, v, `${path}[${i}]`, file));
      return;
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new ConfigError(file, path, `expected an object, got ${describe(value)}`);
      }
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const sub = path ? `${path}.${key}` : key;
        if (!(key in rule.fields)) {
          const known = Object.keys(rule.fields).join(", ");
          throw new ConfigError(file, sub, `unknown key (known keys here: ${known})`);
        }
      }
      for (const [key, sub] of Object.entries(rule.fields)) {
        const subPath = path ? `${path}.${key}` : key;
        if (!(key in record)) throw new ConfigError(file, subPath, "missing");
        checkValue(sub, record[key], subPath, file);
      }
      return;
    }
  }
}

/** Checks the rules that tie fields together (after each field passed its own check). */
function checkRelations(config: RunConfig, file: string): void {
  const t = config.train;
  if (t.batchSize % t.microBatch !== 0) {
    throw new ConfigError(file, "train.microBatch", `${t.microBatch} does not divide train.batchSize ${t.batchSize}`);
  }
  for (let i = 1; i < t.decayEpochs.length; i++) {
    if (t.decayEpochs[i] <= t.decayEpochs[i - 1]) {
      throw new ConfigError(file, `train.decayEpochs[${i}]`, "decay epochs must be strictly increasing");
    }
  }
  const a = config.data.augmentation;
  if (a.minScale > a.maxScale) {
    throw new ConfigError(file, "data.augmentation.minScale", `${a.minScale} is above maxScale ${a.maxScale}`);
  }
  if (t.lrFloor > t.lr) {
    throw new ConfigError(file, "train.lrFloor", `${t.lrFloor} is above train.lr ${t.lr}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge: objects merge key by key, anything else (arrays included) is replaced by `over`. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(over)) out[key] = key in out ? mergeConfig(out[key], value) : value;
  return out;
}

/**
 * Validates a complete config object (defaults already merged in). Throws a {@link ConfigError} naming `file` and
 * the first bad field.
 */
export function validateConfig(value: unknown, options: { file?: string } = {}): RunConfig {
  const file = options.file ?? "<config>";
  checkValue(SCHEMA, value, "", file);
  const config = value as RunConfig;
  checkRelations(config, file);
  return config;
}

/**
 * Merges a partial config over {@link DEFAULT_CONFIG} and validates the result. Unknown keys in `partial` are
 * reported (they would otherwise be silently ignored).
 *
 * ```ts
 * import { resolveConfig } from "ssdv2";
 * const config = resolveConfig({ name: "tiny", experiment: "scratch", train: { epochs: 2 } }); // the rest: defaults
 * console.log(config.train.epochs, config.train.batchSize); // 2 32
 * try {
 *   resolveConfig({ train: { epoch: 2 } });
 * } catch (err) {
 *   console.log((err as Error).message); // <config>: field "train.epoch": unknown key (known keys here: epochs, ...)
 * }
 * ```
 */
export function resolveConfig(partial: unknown, options: { file?: string } = {}): RunConfig {
  const file = options.file ?? "<config>";
  if (!isPlainObject(partial)) throw new ConfigError(file, "", `expected a JSON object, got ${describe(partial)}`);
  return validateConfig(mergeConfig(DEFAULT_CONFIG, partial), { file });
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function joinPath(dir: string, rel: string): string {
  if (rel.startsWith("/")) return rel;
  const parts = `${dir}/${rel}`.split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else out.push("..");
    } else if (p !== "." && p !== "") out.push(p);
  }
  return (dir.startsWith("/") ? "/" : "") + out.join("/");
}

/** Reads one file's raw JSON and follows its `extends` chain; returns the merged partial config. */
async function readChain(path: string, seen: string[]): Promise<Record<string, unknown>> {
  if (seen.includes(path)) throw new ConfigError(path, "extends", `cycle: ${[...seen, path].join(" -> ")}`);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "file not found" : (err as Error).message;
    const from = seen.length ? ` (extended by ${seen[seen.length - 1]})` : "";
    throw new ConfigError(path, "", `cannot read config${from}: ${why}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, "", `not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(raw)) throw new ConfigError(path, "", `expected a JSON object, got ${describe(raw)}`);
  const { extends: parent, ...own } = raw;
  // Check the file's own keys here so that an error names the file that holds the bad value, not the child.
  checkPartial(own, SCHEMA, "", path);
  if (parent === undefined) return own;
  if (typeof parent !== "string") throw new ConfigError(path, "extends", `expected a path, got ${describe(parent)}`);
  const base = await readChain(joinPath(dirname(path), parent), [...seen, path]);
  return mergeConfig(base, own) as Record<string, unknown>;
}

/** Validates the keys a partial config names (types, ranges, unknown keys) without requiring the others. */
function checkPartial(value: Record<string, unknown>, rule: Rule & { kind: "object" }, path: string, file: string) {
  for (const [key, v] of Object.entries(value)) {
    const sub = path ? `${path}.${key}` : key;
    const r = rule.fields[key];
    if (!r) {
      throw new ConfigError(file, sub, `unknown key (known keys here: ${Object.keys(rule.fields).join(", ")})`);
    }
    if (r.kind === "object" && isPlainObject(v)) checkPartial(v, r, sub, file);
    else checkValue(r, v, sub, file);
  }
}

/** Path pieces of a config file used as defaults: `experiments/ablation/branches-4.json` -> ablation, branches-4. */
function namesFromPath(path: string): { experiment: string; name: string } {
  const parts = path.split("/");
  const name = (parts.pop() ?? "run").replace(/\.json$/, "");
  const i = parts.lastIndexOf("experiments");
  const group = i >= 0 ? parts.slice(i + 1).join("/") : parts.pop() ?? "";
  return { experiment: group || "default", name };
}

/**
 * Loads a config file: follows `extends` (paths relative to the file), merges over the defaults and validates.
 * `name` and `experiment` default to the file name and its folder under `experiments/`.
 *
 * ```ts
 * import { loadConfig } from "ssdv2";
 * const config = await loadConfig("experiments/ablation/carry-1.json"); // its fields over the defaults, validated
 * console.log(config.name, config.experiment, config.train.epochs); // carry-1 ablation 100
 * console.log(config.model); // { trunk: "ssdv2", branches: 1, width: 16, priors: "carry" }
 * ```
 */
export async function loadConfig(path: string): Promise<RunConfig> {
  const merged = await readChain(path, []);
  const names = namesFromPath(path);
  const withNames = mergeConfig({ name: names.name, experiment: names.experiment }, merged);
  return resolveConfig(withNames, { file: path });
}

/**
 * Fields added to the schema after run folders in `results/` were written, with the values that reproduce what the
 * code did before each existed; {@link upgradeRunConfig} fills them in where a stored config lacks them.
 */
const ADDED_FIELDS = {
  data: { augmentation: AUGMENTATION },
  model: { priors: "own" },
  train: { batchNormOver: "microBatch" },
  eval: { preNmsTopK: 1000 },
};

/** A stored config.json brought to the current schema (missing later fields get their historical values). */
export function upgradeRunConfig(raw: unknown): unknown {
  return isPlainObject(raw) ? mergeConfig(ADDED_FIELDS, raw) : raw;
}

/**
 * Reads and validates a run folder's `config.json` (older folders are upgraded, see {@link upgradeRunConfig}).
 *
 * ```ts
 * import { readRunConfig } from "ssdv2";
 * const config = await readRunConfig("results/ablation/branches-4-20261129-122037"); // written before `model.priors`
 * console.log(config.model.priors, config.eval.preNmsTopK); // "own" 1000: filled in with what the code then did
 * ```
 */
export async function readRunConfig(runDir: string): Promise<RunConfig> {
  const file = `${runDir}/config.json`;
  let raw: unknown;
  try {
    raw = await readJson(file);
  } catch (err) {
    if (!(err instanceof JsonFileError)) throw err;
    throw new ConfigError(file, "", err.notFound ? "cannot read the run's config: file not found" : err.problem);
  }
  return validateConfig(upgradeRunConfig(raw), { file });
}

/** One `--set key.path=value` split into its path and its value (JSON when it parses, else the text). */
export interface ConfigOverride {
  /** The argument as given, for messages. */
  arg: string;
  /** Dotted path, e.g. `train.epochs`. */
  path: string;
  value: unknown;
}

/**
 * Parses `key.path=value`. The value is JSON when it parses (`5`, `true`, `null`, `[30,60]`, `"text"`) and the text
 * otherwise (`/data/aizoo`, `wasm`), so a string that looks like JSON needs its quotes: `name='"123"'`.
 */
export function parseOverride(arg: string): ConfigOverride {
  const eq = arg.indexOf("=");
  const path = eq < 0 ? "" : arg.slice(0, eq).trim();
  if (eq < 0 || path === "" || path.split(".").some((p) => p === "")) {
    throw new ConfigError(`--set ${arg}`, "", "expected key.path=value, e.g. --set train.epochs=5");
  }
  const text = arg.slice(eq + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: the text itself (paths, backend names) is the value.
  }
  return { arg, path, value };
}

/**
 * Applies `--set key.path=value` overrides (see {@link parseOverride}) to a loaded config, in order (a later one wins
 * over an earlier one on the same key), and validates the result like a config file: an unknown key or a bad value
 * is a {@link ConfigError} naming `--set key.path=value`; a rule between fields that the overrides break (e.g.
 * `train.microBatch` must divide `train.batchSize`) names `source` and every `--set`. Returns a new config; `config`
 * is not modified.
 */
export function applyOverrides(
  config: RunConfig,
  overrides: readonly string[],
  options: { source?: string } = {},
): RunConfig {
  if (overrides.length === 0) return config;
  let merged: unknown = config;
  for (const arg of overrides) {
    const o = parseOverride(arg);
    const partial: Record<string, unknown> = {};
    const keys = o.path.split(".");
    let at = partial;
    for (const k of keys.slice(0, -1)) at = (at[k] = {}) as Record<string, unknown>;
    at[keys[keys.length - 1]] = o.value;
    checkPartial(partial, SCHEMA, "", `--set ${arg}`);
    merged = mergeConfig(merged, partial);
  }
  const file = `${options.source ?? "<config>"} with --set ${overrides.join(" --set ")}`;
  return validateConfig(merged, { file });
}
