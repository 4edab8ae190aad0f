import assert from "node:assert/strict";
import { parseCommandArgs, parseErrorText, usageError } from "./command_args.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

const SPEC = {
  name: "data:x",
  help: "Usage: x",
  options: { data: { type: "string" as const }, quick: { type: "boolean" as const, default: false } },
};

Deno.test("parseCommandArgs: values with defaults; nothing printed", () => {
  const c = capture();
  const r = parseCommandArgs(["--data", "/d"], SPEC, c.io);
  assert.equal(r.exit, undefined);
  assert.equal(r.values?.data, "/d");
  assert.equal(r.values?.quick, false);
  assert.deepEqual([c.out, c.err], [[], []]);
});

Deno.test("parseCommandArgs: -h prints the help, exit 0", () => {
  const c = capture();
  assert.deepEqual(parseCommandArgs(["-h"], SPEC, c.io), { exit: 0 });
  assert.deepEqual(c.out, ["Usage: x"]);
});

Deno.test("parseCommandArgs: an unknown option is one line naming it and the help command, exit 2", () => {
  const c = capture();
  assert.deepEqual(parseCommandArgs(["--nope"], SPEC, c.io), { exit: 2 });
  assert.deepEqual(c.err, ["data:x: unknown option '--nope' (deno task data:x --help lists the options)"]);
  assert.deepEqual(c.out, []);
  // With positionals allowed, node:util adds a sentence about '--' that is not ours to say.
  const p = capture();
  assert.deepEqual(parseCommandArgs(["a", "--epochs", "5"], { ...SPEC, allowPositionals: true }, p.io), { exit: 2 });
  assert.deepEqual(p.err, ["data:x: unknown option '--epochs' (deno task data:x --help lists the options)"]);
});

Deno.test("parseCommandArgs: a missing option value or a value given to a flag is one line, exit 2", () => {
  const c = capture();
  assert.deepEqual(parseCommandArgs(["--data"], SPEC, c.io), { exit: 2 });
  assert.deepEqual(parseCommandArgs(["--quick=yes"], SPEC, c.io), { exit: 2 });
  assert.deepEqual(c.err, [
    "data:x: option '--data <value>' argument missing (deno task data:x --help lists the options)",
    "data:x: option '--quick' does not take an argument (deno task data:x --help lists the options)",
  ]);
});

Deno.test("parseCommandArgs: --help wins over a bad option; after '--' it is an argument", () => {
  const c = capture();
  assert.deepEqual(parseCommandArgs(["--nope", "--help"], SPEC, c.io), { exit: 0 });
  assert.deepEqual([c.out, c.err], [["Usage: x"], []]);
  const r = parseCommandArgs(["--", "--help"], { ...SPEC, allowPositionals: true }, c.io);
  assert.deepEqual(r.positionals, ["--help"]);
});

Deno.test("parseCommandArgs: positionals only where the spec allows them", () => {
  const c = capture();
  const r = parseCommandArgs(["run", "--data", "/d", "a.jpg"], { ...SPEC, allowPositionals: true }, c.io);
  assert.deepEqual(r.positionals, ["run", "a.jpg"]);
  assert.equal(r.values?.data, "/d");
  assert.deepEqual(parseCommandArgs(["run"], SPEC, c.io), { exit: 2 });
  assert.deepEqual(c.err, ["data:x: unexpected argument 'run' (deno task data:x --help lists the options)"]);
});

Deno.test("usageError and parseErrorText: one line, exit code 2", () => {
  const c = capture();
  assert.equal(usageError(c.io, "train", "give one config file"), 2);
  assert.deepEqual(c.err, ["train: give one config file (deno task train --help lists the options)"]);
  assert.equal(parseErrorText("Unknown option '-z'"), "unknown option '-z'");
  assert.equal(
    parseErrorText("Unexpected argument 'pos'. This command does not take positional arguments"),
    "unexpected argument 'pos'",
  );
});
