/**
 * The shared `main` of the grid commands (`ablation`, `backbones`): their common options (`--data`, `--eval-data`,
 * `--results`, `--fresh`, `--set`, `--backend`, `--print`, `--table-only`, `--help`, and `--profile` where the
 * command has profiles), the help text, one-line usage errors with exit code 2 (cli/command_args.ts), and the
 * `<command>: <message>` error line with exit code 1 when the work fails. Each command keeps its own help text and
 * its own work.
 * @module
 */
import { parseArgs } from "node:util";
import { type Io, parseCommandArgs, usageError } from "./command_args.ts";
import { backendProblem } from "./backend_option.ts";

/** The parsed options a grid command works with. */
export interface GridArgs {
  /** `--profile` (default `quick`); always `quick` for a command without profiles. */
  profile: string;
  /** `--data`, when given. */
  data?: string;
  /**
   * `--eval-data`, else `FACEMASK_EVAL_DATA` when set and non-empty: evaluation-only data with a `val/` split; every
   * finished run of the grid is evaluated on it once (lib/experiments/grid's `evalData`), never to pick weights.
   */
  evalData?: string;
  /** `--results` (default `results`). */
  resultsDir: string;
  /** `--fresh`: train every config anew instead of reusing or resuming matching run folders. */
  fresh: boolean;
  /** `--set key.path=value` overrides of every config, in order; `--backend NAME` comes last as `backend.name`. */
  set: string[];
  /** `--print`: print one shell command per run instead of training. */
  print: boolean;
  /** `--table-only`: write the table from the run folders there, training nothing. */
  tableOnly: boolean;
}

/** What one grid command is. */
export interface GridCommand {
  /** Command name, the prefix of its error lines. */
  name: string;
  /** Its help text, printed by `--help`. */
  help: string;
  /** Whether it takes `--profile` (without it, `--profile` is an unknown option). */
  profiles: boolean;
  /** Its work. */
  run: (args: GridArgs) => Promise<void>;
}

/** Where a grid command writes. */
export type GridIo = Io;

/** The options of the grid commands, as node:util parseArgs takes them. */
function gridOptions(profiles: boolean) {
  return {
    ...(profiles ? { profile: { type: "string" as const, default: "quick" } } : {}),
    data: { type: "string" as const },
    "eval-data": { type: "string" as const },
    results: { type: "string" as const, default: "results" },
    fresh: { type: "boolean" as const, default: false },
    set: { type: "string" as const, multiple: true as const },
    backend: { type: "string" as const },
    print: { type: "boolean" as const, default: false },
    "table-only": { type: "boolean" as const, default: false },
  };
}

type GridValues = ReturnType<typeof parseArgs<{ args: string[]; options: ReturnType<typeof gridOptions> }>>["values"];

/** {@link GridArgs} of parsed values; a message when they do not go together. */
function toGridArgs(values: GridValues): GridArgs | string {
  const v = values as GridValues & { profile?: string };
  if (v.backend !== undefined) {
    const problem = backendProblem(v.backend);
    if (problem) return problem;
  }
  if (v.print && v["table-only"]) return "--print and --table-only exclude each other";
  if (v.fresh && v["table-only"]) return "--fresh and --table-only exclude each other (--table-only trains nothing)";
  return {
    profile: v.profile ?? "quick",
    data: v.data,
    evalData: v["eval-data"] ?? (Deno.env.get("FACEMASK_EVAL_DATA") || undefined),
    resultsDir: v.results!,
    fresh: v.fresh!,
    set: [...(v.set ?? []), ...(v.backend ? [`backend.name=${v.backend}`] : [])],
    print: v.print!,
    tableOnly: v["table-only"]!,
  };
}

/** Parses a grid command's arguments; throws on an unknown option (as `node:util` parseArgs does) or a bad value. */
export function parseGridArgs(args: string[], options: { profiles: boolean }): GridArgs & { help: boolean } {
  const { values } = parseArgs({
    args,
    options: { ...gridOptions(options.profiles), help: { type: "boolean", short: "h", default: false } },
  });
  const parsed = toGridArgs(values);
  if (typeof parsed === "string") throw new Error(parsed);
  return { ...parsed, help: values.help! };
}

/**
 * Runs a grid command on `args`: prints its help for `--help`, else runs it. Returns the exit code: 0; 2 after one
 * line naming a bad option or value; 1 after printing `<name>: <message>` when the work fails.
 */
export async function gridMain(
  args: string[],
  command: GridCommand,
  io: GridIo = { log: console.log, error: console.error },
): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: command.name,
    help: command.help,
    options: gridOptions(command.profiles),
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const gridArgs = toGridArgs(parsed.values as GridValues);
  if (typeof gridArgs === "string") return usageError(io, command.name, gridArgs);
  // Not with --print: its output is the list of commands (docs/slurm/ablation_array.sh takes line i), and nothing is
  // evaluated then.
  if (gridArgs.evalData && !gridArgs.print) io.log(`${command.name}: evaluation-only data: ${gridArgs.evalData}`);
  try {
    await command.run(gridArgs);
    return 0;
  } catch (err) {
    io.error(`${command.name}: ${(err as Error).message}`);
    // A bad --set is a usage error too: the config it names is fine, the command line is not.
    return (err as Error).name === "ConfigError" && /^--set |with --set /.test((err as Error).message) ? 2 : 1;
  }
}
