/**
 * The argument handling every command shares: parse the options, answer `--help` with the command's help text
 * (stdout, exit 0), and report a bad command line as ONE line on stderr with exit code 2, e.g.
 * `train: unknown option '--epochs' (deno task train --help lists the options)`, so a typo never ends in a stack
 * trace and a script that runs the command sees one readable line.
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Where a command writes. */
export interface Io {
  log: (line: string) => void;
  error: (line: string) => void;
}

/** A command's name (its `deno task` name), help text and options (`-h, --help` is added). */
export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  name: string;
  help: string;
  options: O;
  /** Accept arguments that are not options (returned as `positionals`); default false. */
  allowPositionals?: boolean;
}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>["values"];

/**
 * node:util's parseArgs message made into our one line: its first sentence (the rest of "Unknown option '--x'. To
 * specify a positional argument starting with a '-', ..." is about a case our commands do not have), lower case.
 */
export function parseErrorText(message: string): string {
  const first = message.split(/\.\s/)[0].replace(/\.$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** Reports a usage problem of command `name` as one line on `io.error`; returns the exit code 2. */
export function usageError(io: Io, name: string, problem: string): number {
  io.error(`${name}: ${problem} (deno task ${name} --help lists the options)`);
  return 2;
}

/**
 * Parses `args` for a command: `{ values, positionals }` to go on with, or `{ exit }` when the command is done (0
 * after printing the help, 2 after reporting a bad option in one line, see {@link usageError}).
 */
export function parseCommandArgs<O extends ParseArgsOptionsConfig>(
  args: string[],
  spec: CommandSpec<O>,
  io: Io,
): { values: Values<O>; positionals: string[]; exit?: undefined } | {
  exit: number;
  values?: undefined;
  positionals?: undefined;
} {
  // --help wins over any other problem on the line (up to a `--` terminator): whoever asks for help gets it.
  const end = args.indexOf("--");
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h")) {
    io.log(spec.help);
    return { exit: 0 };
  }
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { ...spec.options, help: { type: "boolean", short: "h", default: false } },
      allowPositionals: spec.allowPositionals ?? false,
    }));
  } catch (e) {
    return { exit: usageError(io, spec.name, parseErrorText((e as Error).message)) };
  }
  if ((values as { help?: boolean }).help) {
    io.log(spec.help);
    return { exit: 0 };
  }
  return { values: values as Values<O>, positionals: positionals as string[] };
}
