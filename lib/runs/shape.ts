/**
 * Shapes of the JSON files of a run folder (metrics.json, provenance.json, the P-R files) and the check that a
 * parsed file has one: every error names the file and the dotted field. Readers of a run folder then use the typed
 * values and never probe paths. Keys a shape does not name are kept as they are (a newer writer may add fields), and
 * an optional field may get a fallback, so that readers see `null` rather than `undefined` for what an older file
 * lacks.
 * @module
 */

/** A run file whose content does not have the expected shape; `message` names the file and the field. */
export class RunFileError extends Error {
  /** Creates the error for `file` and `field` (dotted path, "" for the whole file). */
  constructor(readonly file: string, readonly field: string, problem: string) {
    super(`${file}: ${field ? `field "${field}"` : "file"}: ${problem}`);
    this.name = "RunFileError";
  }
}

/** What a JSON value must be. */
export type Shape =
  | { kind: "number"; integer?: boolean; min?: number }
  | { kind: "string" }
  | { kind: "boolean" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "array"; of: Shape }
  | { kind: "record"; of: Shape }
  | { kind: "object"; fields: Readonly<Record<string, Shape | Optional>> }
  | { kind: "nullable"; of: Shape }
  | { kind: "any" };

/** A field that may be absent; with `fallback` the checked value holds it instead. */
export interface Optional {
  kind: "optional";
  of: Shape;
  fallback?: { value: unknown };
}

/** Builders of {@link Shape}s. */
export const shape = {
  /** A finite number (at least `min` when given). */
  number: (min?: number): Shape => ({ kind: "number", min }),
  /** An integer (at least `min` when given). */
  integer: (min?: number): Shape => ({ kind: "number", integer: true, min }),
  string: (): Shape => ({ kind: "string" }),
  boolean: (): Shape => ({ kind: "boolean" }),
  /** One of the given strings. */
  oneOf: (...values: string[]): Shape => ({ kind: "enum", values }),
  /** An array whose items all have shape `of`. */
  array: (of: Shape): Shape => ({ kind: "array", of }),
  /** An object whose values all have shape `of` (any keys). */
  record: (of: Shape): Shape => ({ kind: "record", of }),
  /** An object with these fields (other keys are kept unchecked). */
  object: (fields: Record<string, Shape | Optional>): Shape => ({ kind: "object", fields }),
  /** `of` or `null`. */
  nullable: (of: Shape): Shape => ({ kind: "nullable", of }),
  /** A field that may be absent; the checked object holds a copy of `fallback` then, when one is given. */
  optional: (of: Shape, ...fallback: [unknown?]): Optional =>
    fallback.length ? { kind: "optional", of, fallback: { value: fallback[0] } } : { kind: "optional", of },
  /** Anything (kept as it is). */
  any: (): Shape => ({ kind: "any" }),
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") {
    return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)}`;
  }
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The names of a shape, for messages: "a number or null", "an object". */
function expected(s: Shape): string {
  switch (s.kind) {
    case "number":
      return `${s.integer ? "an integer" : "a number"}${s.min === undefined ? "" : ` >= ${s.min}`}`;
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${s.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "array":
      return "an array";
    case "record":
    case "object":
      return "an object";
    case "nullable":
      return `${expected(s.of)} or null`;
    case "any":
      return "anything";
  }
}

/**
 * Checks `value` against `s` and returns it with the fallbacks of absent optional fields filled in (objects are
 * copied, the input is not changed). Throws a {@link RunFileError} naming `file` and the first bad field.
 */
export function checkShape<T = unknown>(s: Shape, value: unknown, file: string, path = ""): T {
  const fail = (): never => {
    throw new RunFileError(file, path, `expected ${expected(s)}, got ${describe(value)}`);
  };
  const at = (key: string | number) => typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;
  switch (s.kind) {
    case "any":
      return value as T;
    case "nullable":
      if (value === null) return null as T;
      try {
        return checkShape(s.of, value, file, path);
      } catch (e) {
        // Said of this very field, the message must mention that null would do too.
        if (e instanceof RunFileError && e.field === path) fail();
        throw e;
      }
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value)) fail();
      if (s.integer && !Number.isInteger(value)) fail();
      if (s.min !== undefined && (value as number) < s.min) fail();
      return value as T;
    case "string":
      if (typeof value !== "string") fail();
      return value as T;
    case "boolean":
      if (typeof value !== "boolean") fail();
      return value as T;
    case "enum":
      if (typeof value !== "string" || !s.values.includes(value)) fail();
      return value as T;
    case "array":
      if (!Array.isArray(value)) fail();
      return (value as unknown[]).map((v, i) => checkShape(s.of, v, file, at(i))) as T;
    case "record": {
      if (!isObject(value)) fail();
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = checkShape(s.of, v, file, at(k));
      return out as T;
    }
    case "object": {
      if (!isObject(value)) fail();
      const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      for (const [key, field] of Object.entries(s.fields)) {
        const v = out[key];
        if (field.kind === "optional") {
          if (v === undefined) {
            if (field.fallback) out[key] = structuredClone(field.fallback.value);
            continue;
          }
          out[key] = checkShape(field.of, v, file, at(key));
        } else {
          if (v === undefined) throw new RunFileError(file, at(key), `missing (expected ${expected(field)})`);
          out[key] = checkShape(field, v, file, at(key));
        }
      }
      return out as T;
    }
  }
}
