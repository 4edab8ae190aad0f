import assert from "node:assert/strict";
import { type GridArgs, gridMain, parseGridArgs } from "./grid_command.ts";

Deno.test("parseGridArgs: defaults quick / results; --profile only where the command has profiles", () => {
  assert.deepEqual(parseGridArgs([], { profiles: true }), {
    profile: "quick",
    data: undefined,
    resultsDir: "results",
    fresh: false,
    help: false,
  });
  assert.deepEqual(
    parseGridArgs(["--profile", "paper", "--data", "/d", "--results", "/r", "--fresh", "-h"], { profiles: true }),
    {
      profile: "paper",
      data: "/d",
      resultsDir: "/r",
      fresh: true,
      help: true,
    },
  );
  assert.deepEqual(parseGridArgs(["--profile", "paper", "--data", "/d", "--results", "/r", "-h"], { profiles: true }), {
    profile: "paper",
    data: "/d",
    resultsDir: "/r",
    fresh: false,
    help: true,
  });
  assert.equal(parseGridArgs(["--data", "/d"], { profiles: false }).profile, "quick");
  assert.throws(() => parseGridArgs(["--profile", "paper"], { profiles: false }), /profile/);
  assert.throws(() => parseGridArgs(["--bogus"], { profiles: true }), /bogus/);
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

Deno.test("gridMain: --help prints the command's help and does not run it", async () => {
  const c = capture();
  let ran = false;
  const code = await gridMain(["--help"], {
    name: "ablation",
    help: "usage: ablation",
    profiles: true,
    run: () => {
      ran = true;
      return Promise.resolve();
    },
  }, c.io);
  assert.equal(code, 0);
  assert.equal(ran, false);
  assert.deepEqual(c.out, ["usage: ablation"]);
});

Deno.test("gridMain: runs with the parsed options; a failure is one '<name>: <message>' line and exit 1", async () => {
  const c = capture();
  const seen: GridArgs[] = [];
  const ok = await gridMain(["--profile", "short"], {
    name: "ablation",
    help: "",
    profiles: true,
    run: (a) => {
      seen.push(a);
      return Promise.resolve();
    },
  }, c.io);
  assert.equal(ok, 0);
  assert.deepEqual(seen, [{ profile: "short", data: undefined, resultsDir: "results", fresh: false }]);
  const bad = await gridMain([], {
    name: "backbones",
    help: "",
    profiles: true,
    run: () => Promise.reject(new Error("unknown profile 'x'")),
  }, c.io);
  assert.equal(bad, 1);
  assert.deepEqual(c.err, ["backbones: unknown profile 'x'"]);
});
