import assert from "node:assert/strict";

// Every command a user runs answers --help with its usage and exits 0, without touching data or the backend.
const COMMANDS = [
  "train",
  "evaluate",
  "detect",
  "ablation",
  "backbones",
  "reproduce",
  "metrics",
  "report",
  "bench",
  "bench_kernels",
  "data_check",
  "data_generate",
  "data_stats",
];

for (const name of COMMANDS) {
  Deno.test(`cli/${name}.ts --help prints its usage and exits 0`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(`./${name}.ts`, import.meta.url).pathname, "--help"],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /usage: deno task /i, text);
  });
}

Deno.test("cli: a command given an unknown option fails with a message naming it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./train.ts", import.meta.url).pathname, "--no-such-option"],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.notEqual(out.code, 0);
  assert.match(new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout), /no-such-option/);
});
