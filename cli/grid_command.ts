/**
 * The shared `main` of the grid commands (`ablation`, `backbones`, `reproduce`): their common options
 * (`--data`, `--results`, `--help`, and `--profile` where the command has profiles), the help text, and the
 * `<command>: <message>` error line with exit code 1. Each command keeps its own help text and its own work.
 * @module
 */
import { parseArgs } from "node:util";

/** The parsed options a grid command works with. */
export interface GridArgs {
  /** `--profile` (default `quick`); always `quick` for a command without profiles. */
  profile: string;
  /** `--data`, when given. */
  data?: string;
  /** `--results` (default `results`). */
  resultsDir: string;
  /** `--fresh`: train every config anew instead of reusing or resuming matching run folders. */
  fresh: boolean;
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
export interface GridIo {
  log: (line: string) => void;
  error: (line: string) => void;
}

/** Parses a grid command's arguments; throws on an unknown option, as `node:util` parseArgs does. */
export function parseGridArgs(args: string[], options: { profiles: boolean }): GridArgs & { help: boolean } {
  const { values } = parseArgs({
    args,
    options: {
      ...(options.profiles ? { profile: { type: "string" as const, default: "quick" } } : {}),
      data: { type: "string" },
      results: { type: "string", default: "results" },
      fresh: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  return {
    profile: (values as { profile?: string }).profile ?? "quick",
    data: values.data,
    resultsDir: values.results!,
    fresh: values.fresh!,
    help: values.help!,
  };
}

/**
 * Runs a grid command on `args`: prints its help for `--help`, else runs it. Returns the exit code: 0, or 1 after
 * printing `<name>: <message>` when the work fails. Bad options throw (as they did before the commands shared this).
 */
export async function gridMain(
  args: string[],
  command: GridCommand,
  io: GridIo = { log: console.log, error: console.error },
): Promise<number> {
  const { help, ...parsed } = parseGridArgs(args, { profiles: command.profiles });
  if (help) {
    io.log(command.help);
    return 0;
  }
  try {
    await command.run(parsed);
    return 0;
  } catch (err) {
    io.error(`${command.name}: ${(err as Error).message}`);
    return 1;
  }
}
