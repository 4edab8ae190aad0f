import assert from "node:assert/strict";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs `deno run -A cli/<name>.ts ...args` in a fresh process. */
async function runCli(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`./${name}.ts`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

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
  "notebooks",
  "bench",
  "bench_kernels",
  "build_native",
  "data_check",
  "data_generate",
  "data_stats",
];

for (const name of COMMANDS) {
  Deno.test(`cli/${name}.ts --help prints its usage and exits 0`, async () => {
    const r = await runCli(name, ["--help"]);
    const text = r.stdout + r.stderr;
    assert.equal(r.code, 0, text);
    assert.match(r.stdout, /usage: deno task /i, text);
  });
}

// The `deno task` name of each command file with the shared one-line usage errors (cli/command_args.ts).
const TASKS: Record<string, string> = {
  train: "train",
  evaluate: "evaluate",
  ablation: "ablation",
  backbones: "backbones",
  report: "report",
  notebooks: "notebooks",
  bench: "bench",
  bench_kernels: "bench:kernels",
  build_native: "build:native",
  data_check: "data:check",
  data_stats: "data:stats",
  data_generate: "data:generate",
};

for (const [file, task] of Object.entries(TASKS)) {
  Deno.test(`cli/${file}.ts --no-such-option: exit 2 and one stderr line naming it`, async () => {
    const r = await runCli(file, ["--no-such-option"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `${task}: unknown option '--no-such-option' (deno task ${task} --help lists the options)\n`);
  });
}

Deno.test("cli: a wrong number of arguments or a bad --set / --backend is one line and exit 2", async () => {
  const cases: [string, string[], RegExp][] = [
    ["train", [], /^train: give a config file .* or --resume RUN_DIR \(deno task train --help lists the options\)\n$/],
    ["train", ["a.json", "b.json"], /^train: give one config file, got 2: a\.json b\.json \(/],
    ["train", ["cfg.json", "--epochs", "5"], /^train: unknown option '--epochs' \(/],
    ["train", ["--resume", "r", "--set", "seed=2"], /^train: --set cannot change a run being resumed/],
    ["train", ["experiments/test/tiny.json", "--backend", "gpu"], /^train: --backend must be one of auto, .*got 'gpu'/],
    [
      "train",
      ["experiments/test/tiny.json", "--set", "train.epochs=0"],
      /^train: --set train\.epochs=0: field "train\.epochs": 0 is out of range \[1, 10000\]\n$/,
    ],
    ["evaluate", [], /^evaluate: give a run folder \(/],
    ["evaluate", ["a", "b"], /^evaluate: give one run folder, got 2: a b \(/],
    [
      "ablation",
      ["--set", "model.branch=2", "--print"],
      /^ablation: --set model\.branch=2: field "model\.branch": unknown/,
    ],
    ["backbones", ["--backend", "tpu"], /^backbones: --backend must be one of/],
  ];
  for (const [name, args, want] of cases) {
    const r = await runCli(name, args);
    assert.equal(r.code, 2, `${name} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  }
});

Deno.test("cli: --help of train, detect, reproduce loads no danfo (no punycode warning, empty stderr)", async () => {
  for (const name of ["train", "detect", "reproduce"]) {
    const r = await runCli(name, ["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /punycode|DeprecationWarning/);
    assert.equal(r.stderr, "", `${name} --help wrote to stderr`);
  }
});

Deno.test("cli: importing the commands and lib/reporting, lib/notebooks, lib/experiments does not load danfo", async () => {
  const modules = ["cli/train.ts", "cli/evaluate.ts", "cli/detect.ts", "cli/reproduce.ts", "cli/ablation.ts"]
    .concat(["cli/report.ts", "lib/reporting/mod.ts", "lib/notebooks/mod.ts", "lib/experiments/mod.ts"]);
  const code = modules.map((m) => `import "./${m}";`).join("\n") +
    `\nimport { danfoLoaded } from "./lib/util/danfo.ts";\nconsole.log(JSON.stringify(danfoLoaded()));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--ext=ts", code],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, decode(out.stderr));
  assert.equal(decode(out.stdout).trim(), "false");
  assert.doesNotMatch(decode(out.stderr), /punycode/);
});
