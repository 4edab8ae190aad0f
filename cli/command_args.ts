/**
 * The argument handling the data commands (`data:check`, `data:stats`) share: parse the options, answer `--help`
 * with the command's help text, and report a bad option as `<name>: <message>`, then the help, with exit code 2.
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** Where a command writes. */
export interface Io {
  log: (line: string) => void;
  error: (line: string) => void;
}

/** A command's name, help text and options (`-h, --help` is added). */
export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  name: string;
  help: string;
  options: O;
  /** Accept arguments that are not options (returned as `positionals`); default false. */
  allowPositionals?: boolean;
}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: O }>>["values"];

/**
 * Parses `args` for a command: `{ values }` to go on with, or `{ exit }` when the command is done (0 after printing
 * the help, 2 after reporting a bad option).
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
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { ...spec.options, help: { type: "boolean", short: "h", default: false } },
      allowPositionals: spec.allowPositionals ?? false,
    }));
  } catch (e) {
    io.error(`${spec.name}: ${(e as Error).message}\n\n${spec.help}`);
    return { exit: 2 };
  }
  if ((values as { help?: boolean }).help) {
    io.log(spec.help);
    return { exit: 0 };
  }
  return { values: values as Values<O>, positionals: positionals as string[] };
}
