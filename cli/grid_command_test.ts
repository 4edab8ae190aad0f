import assert from "node:assert/strict";
import { type GridArgs, gridMain, parseGridArgs } from "./grid_command.ts";

// evalData defaults to FACEMASK_EVAL_DATA, so these defaults hold whatever the environment the tests run in.
const DEFAULTS = {
  data: undefined,
  evalData: Deno.env.get("FACEMASK_EVAL_DATA") || undefined,
  resultsDir: "results",
  fresh: false,
  set: [],
  print: false,
  tableOnly: false,
};

/** Runs `f` with FACEMASK_EVAL_DATA set to `value` (unset for undefined), then restores it. */
async function withEvalDataEnv<T>(value: string | undefined, f: () => T | Promise<T>): Promise<T> {
  const saved = Deno.env.get("FACEMASK_EVAL_DATA");
  try {
    if (value === undefined) Deno.env.delete("FACEMASK_EVAL_DATA");
    else Deno.env.set("FACEMASK_EVAL_DATA", value);
    return await f();
  } finally {
    if (saved === undefined) Deno.env.delete("FACEMASK_EVAL_DATA");
    else Deno.env.set("FACEMASK_EVAL_DATA", saved);
  }
}

Deno.test("parseGridArgs: defaults quick / results; --profile only where the command has profiles", () => {
  assert.deepEqual(parseGridArgs([], { profiles: true }), { ...DEFAULTS, profile: "quick", help: false });
  assert.deepEqual(
    parseGridArgs(["--profile", "paper", "--data", "/d", "--results", "/r", "--fresh", "-h"], { profiles: true }),
    { ...DEFAULTS, profile: "paper", data: "/d", resultsDir: "/r", fresh: true, help: true },
  );
  assert.equal(parseGridArgs(["--data", "/d"], { profiles: false }).profile, "quick");
  assert.throws(() => parseGridArgs(["--profile", "paper"], { profiles: false }), /profile/);
  assert.throws(() => parseGridArgs(["--bogus"], { profiles: true }), /bogus/);
});

Deno.test("parseGridArgs: --set in order, --backend last as backend.name; --print, --table-only", () => {
  assert.deepEqual(
    parseGridArgs(["--set", "train.epochs=5", "--backend", "wasm", "--set", "seed=2", "--print"], { profiles: true }),
    { ...DEFAULTS, profile: "quick", set: ["train.epochs=5", "seed=2", "backend.name=wasm"], print: true, help: false },
  );
  assert.equal(parseGridArgs(["--table-only"], { profiles: true }).tableOnly, true);
  assert.throws(() => parseGridArgs(["--backend", "gpu"], { profiles: true }), /--backend must be one of auto, /);
  assert.throws(() => parseGridArgs(["--print", "--table-only"], { profiles: true }), /exclude each other/);
  assert.throws(() => parseGridArgs(["--fresh", "--table-only"], { profiles: true }), /exclude each other/);
});

Deno.test("parseGridArgs: --eval-data DIR gives evalData DIR, also over FACEMASK_EVAL_DATA", async () => {
  await withEvalDataEnv(undefined, () => {
    assert.equal(
      parseGridArgs(["--eval-data", "/data/aizoo-val1497"], { profiles: true }).evalData,
      "/data/aizoo-val1497",
    );
  });
  await withEvalDataEnv("/env/eval", () => {
    assert.equal(parseGridArgs(["--eval-data", "/flag/eval"], { profiles: false }).evalData, "/flag/eval");
  });
});

Deno.test("parseGridArgs: without --eval-data, evalData is FACEMASK_EVAL_DATA when set and non-empty", async () => {
  await withEvalDataEnv("/env/aizoo-val1497", () => {
    assert.equal(parseGridArgs([], { profiles: true }).evalData, "/env/aizoo-val1497");
    assert.equal(parseGridArgs(["--data", "/d"], { profiles: false }).evalData, "/env/aizoo-val1497");
  });
});

Deno.test("parseGridArgs: neither --eval-data nor FACEMASK_EVAL_DATA (unset or empty) gives no evalData", async () => {
  await withEvalDataEnv(undefined, () => {
    const parsed = parseGridArgs(["--profile", "short"], { profiles: true });
    assert.equal(parsed.evalData, undefined);
    assert.deepEqual(parsed, { ...DEFAULTS, evalData: undefined, profile: "short", help: false });
  });
  await withEvalDataEnv("", () => {
    assert.equal(parseGridArgs([], { profiles: true }).evalData, undefined);
  });
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
  assert.deepEqual(seen, [{ ...DEFAULTS, profile: "short" }]);
  const bad = await gridMain([], {
    name: "backbones",
    help: "",
    profiles: true,
    run: () => Promise.reject(new Error("unknown profile 'x'")),
  }, c.io);
  assert.equal(bad, 1);
  assert.deepEqual(c.err, ["backbones: unknown profile 'x'"]);
});

Deno.test("gridMain: --eval-data reaches the run as evalData with one line naming it; not printed with --print", async () => {
  await withEvalDataEnv(undefined, async () => {
    const c = capture();
    const seen: GridArgs[] = [];
    const command = {
      name: "ablation",
      help: "",
      profiles: true,
      run: (a: GridArgs) => {
        seen.push(a);
        return Promise.resolve();
      },
    };
    assert.equal(await gridMain(["--eval-data", "/data/aizoo-val1497"], command, c.io), 0);
    assert.deepEqual(seen, [{ ...DEFAULTS, evalData: "/data/aizoo-val1497", profile: "quick" }]);
    assert.deepEqual(c.out, ["ablation: evaluation-only data: /data/aizoo-val1497"]);
    // --print's output is the list of commands (docs/slurm/ablation_array.sh runs line i of it): no extra line.
    const p = capture();
    assert.equal(await gridMain(["--print", "--eval-data", "/data/aizoo-val1497"], command, p.io), 0);
    assert.deepEqual(p.out, []);
    // Without either, no line.
    const n = capture();
    assert.equal(await gridMain([], command, n.io), 0);
    assert.deepEqual([n.out, seen[2].evalData], [[], undefined]);
  });
});

Deno.test("gridMain: a bad command line or a bad --set is one line and exit 2; nothing runs", async () => {
  const cases: [string[], string][] = [
    [["--epochs", "5"], "ablation: unknown option '--epochs' (deno task ablation --help lists the options)"],
    [
      ["--backend", "gpu"],
      "ablation: --backend must be one of auto, tensorflow, native, wasm, cpu, got 'gpu' " +
      "(deno task ablation --help lists the options)",
    ],
    [
      ["--print", "--table-only"],
      "ablation: --print and --table-only exclude each other " +
      "(deno task ablation --help lists the options)",
    ],
    [["extra"], "ablation: unexpected argument 'extra' (deno task ablation --help lists the options)"],
  ];
  for (const [args, line] of cases) {
    const c = capture();
    let ran = false;
    const code = await gridMain(args, {
      name: "ablation",
      help: "",
      profiles: true,
      run: () => {
        ran = true;
        return Promise.resolve();
      },
    }, c.io);
    assert.deepEqual([code, ran, c.err, c.out], [2, false, [line], []], args.join(" "));
  }
  // A ConfigError naming a --set (as lib/runs/config's applyOverrides throws it inside runGrid) is a usage error too.
  const c = capture();
  const code = await gridMain(["--set", "train.epoch=1"], {
    name: "ablation",
    help: "",
    profiles: true,
    run: async (a) => {
      const { applyOverrides, DEFAULT_CONFIG } = await import("../lib/runs/config.ts");
      applyOverrides(DEFAULT_CONFIG, a.set);
    },
  }, c.io);
  assert.equal(code, 2);
  assert.equal(c.err.length, 1);
  assert.match(c.err[0], /^ablation: --set train\.epoch=1: field "train\.epoch": unknown key/);
});

const SLURM_SCRIPT = new URL("../docs/slurm/ablation_array.sh", import.meta.url).pathname;

/**
 * Runs docs/slurm/ablation_array.sh as array task `task` with a fake `deno` first on PATH: it answers the grid's
 * `--print` with `listing` and records every call (one argument a line, calls ended by `--end--`). With
 * `DENO: "FAKE"` in `extraEnv` the fake is given as DENO instead.
 */
async function slurmTask(task: string | null, listing: string, extraEnv: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "slurm_array_" });
  try {
    await Deno.writeTextFile(`${dir}/listing.txt`, listing);
    await Deno.writeTextFile(
      `${dir}/deno`,
      `#!/usr/bin/env bash
for a in "$@"; do printf '%s\\n' "$a" >> "${dir}/calls.txt"; done
echo --end-- >> "${dir}/calls.txt"
if [[ " $* " == *" --print "* ]]; then cat "${dir}/listing.txt"; fi
`,
    );
    await Deno.chmod(`${dir}/deno`, 0o755);
    // DENO=FAKE: the fake is named by DENO and is not on PATH (a real deno may be there: it must not run).
    const viaDeno = extraEnv.DENO === "FAKE";
    const env: Record<string, string> = {
      PATH: viaDeno ? `${Deno.env.get("PATH")}` : `${dir}:${Deno.env.get("PATH")}`,
      FACEMASK_REPO: dir,
      ...extraEnv,
      ...(viaDeno ? { DENO: `${dir}/deno` } : {}),
    };
    if (task !== null) env.SLURM_ARRAY_TASK_ID = task;
    const out = await new Deno.Command("bash", {
      args: [SLURM_SCRIPT],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const calls = (await Deno.readTextFile(`${dir}/calls.txt`).catch(() => "")).split("--end--\n").filter((c) => c)
      .map((c) => c.replace(/\n$/, "").split("\n"));
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
      calls,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LISTING = [
  "deno task train experiments/ablation/carry-1.json --data '/data/my faces' --set train.epochs=5",
  "# done: results/ablation/carry-2-20261201-000000",
  "",
  "deno task train --resume results/ablation/carry-3-20261201-000000",
].join("\n") + "\n";

Deno.test("docs/slurm/ablation_array.sh: task 0 runs exactly the first printed command", async () => {
  const r = await slurmTask("0", LISTING);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, [
    ["task", "ablation", "--profile", "paper", "--print"],
    ["task", "train", "experiments/ablation/carry-1.json", "--data", "/data/my faces", "--set", "train.epochs=5"],
  ]);
});

Deno.test("docs/slurm/ablation_array.sh: a done line keeps its place; PROFILE, GRID_ARGS, GRID, DENO", async () => {
  const done = await slurmTask("1", LISTING);
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.calls.length, 1, "only the --print call");
  assert.match(done.stdout, /carry-2-20261201-000000 is finished already; nothing to do/);

  const resume = await slurmTask("2", LISTING, {
    PROFILE: "short",
    GRID: "backbones",
    GRID_ARGS: "--data /d",
    DENO: "FAKE",
  });
  assert.equal(resume.code, 0, resume.stderr);
  assert.deepEqual(resume.calls, [
    ["task", "backbones", "--profile", "short", "--print", "--data", "/d"],
    ["task", "train", "--resume", "results/ablation/carry-3-20261201-000000"],
  ]);

  const past = await slurmTask("3", LISTING);
  assert.equal(past.code, 0, past.stderr);
  assert.equal(past.calls.length, 1);
  assert.match(past.stdout, /task 3: the ablation grid has 3 line\(s\) \(0-2\); nothing to do/);
});

Deno.test("docs/slurm/ablation_array.sh: COMMANDS=FILE instead of printing; no task id is an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/list.txt`, "deno task train experiments/quick/own-1.json\n");
    const r = await slurmTask("0", "", { COMMANDS: `${dir}/list.txt` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.calls, [["task", "train", "experiments/quick/own-1.json"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const none = await slurmTask(null, LISTING);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /SLURM_ARRAY_TASK_ID is not set/);
  assert.deepEqual(none.calls, []);
  const bad = await slurmTask("x", LISTING);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /must be a whole number, got 'x'/);
});
