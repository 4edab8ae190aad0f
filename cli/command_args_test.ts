import assert from "node:assert/strict";
import { parseCommandArgs } from "./command_args.ts";

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

Deno.test("parseCommandArgs: an unknown option is '<name>: <message>' then the help, exit 2", () => {
  const c = capture();
  assert.deepEqual(parseCommandArgs(["--nope"], SPEC, c.io), { exit: 2 });
  assert.equal(c.err.length, 1);
  assert.match(c.err[0], /^data:x: .*nope/);
  assert.ok(c.err[0].endsWith("\n\nUsage: x"));
});

Deno.test("parseCommandArgs: positionals only where the spec allows them", () => {
  const c = capture();
  const r = parseCommandArgs(["run", "--data", "/d", "a.jpg"], { ...SPEC, allowPositionals: true }, c.io);
  assert.deepEqual(r.positionals, ["run", "a.jpg"]);
  assert.equal(r.values?.data, "/d");
  assert.deepEqual(parseCommandArgs(["run"], SPEC, c.io), { exit: 2 });
  assert.match(c.err[0], /^data:x: .*run/);
});
