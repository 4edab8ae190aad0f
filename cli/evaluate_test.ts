import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../lib/runs/config.ts";
import { main } from "./evaluate.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

Deno.test("evaluate: one run folder; --backend is checked against the run's config; one line and exit 2", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "cli_evaluate_" });
  const saved = Deno.env.get("FACEMASK_BACKEND");
  try {
    await Deno.writeTextFile(
      `${tmp}/config.json`,
      JSON.stringify({ ...DEFAULT_CONFIG, backend: { name: "cpu", threads: 0 } }),
    );
    const cases: [string[], string][] = [
      [[], "evaluate: give a run folder (deno task evaluate --help lists the options)"],
      [["a", "b"], "evaluate: give one run folder, got 2: a b (deno task evaluate --help lists the options)"],
      [
        [tmp, "--split"],
        "evaluate: option '--split <value>' argument missing (deno task evaluate --help lists the options)",
      ],
      [
        [tmp, "--backend", "gpu"],
        "evaluate: --backend must be one of auto, tensorflow, native, wasm, cpu, got 'gpu' " +
        "(deno task evaluate --help lists the options)",
      ],
      [
        [tmp, "--backend", "wasm"],
        `evaluate: --backend wasm: ${tmp}/config.json asks for backend.name "cpu" (only a ` +
        'run with "auto" can run on another backend) (deno task evaluate --help lists the options)',
      ],
    ];
    for (const [args, line] of cases) {
      const c = capture();
      assert.equal(await main(args, c.io), 2, args.join(" "));
      assert.deepEqual([c.err, c.out], [[line], []]);
    }
    assert.equal(Deno.env.get("FACEMASK_BACKEND"), saved, "a refused --backend sets nothing");
  } finally {
    if (saved === undefined) Deno.env.delete("FACEMASK_BACKEND");
    else Deno.env.set("FACEMASK_BACKEND", saved);
    await Deno.remove(tmp, { recursive: true });
  }
});
