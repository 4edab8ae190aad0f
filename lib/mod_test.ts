import assert from "node:assert/strict";
import * as api from "./mod.ts";

Deno.test("lib/mod.ts: a small public surface (at most 40 runtime names), each one defined", () => {
  const names = Object.keys(api).sort();
  assert.ok(names.length <= 40, `${names.length} names: ${names.join(", ")}`);
  for (const n of names) assert.notEqual((api as Record<string, unknown>)[n], undefined, n);
  // The entry points a user reaches for first.
  for (const n of ["loadDetector", "runExperiment", "evaluateRunOn", "readRunConfig", "reproduceTable2"]) {
    assert.equal(typeof (api as Record<string, unknown>)[n], "function", n);
  }
});

/**
 * The packages in the order of the pipeline: a module may import its own package and the ones before it, never a
 * later one, so that the engine knows nothing of experiments and experiments nothing of reporting. Tests and
 * `testing.ts` helpers are exempt (an integration test may drive a higher layer).
 */
const LAYERS: readonly (readonly string[])[] = [
  ["types.ts", "util"],
  ["data", "detect", "metrics"],
  ["model", "loss"],
  ["backend"],
  ["runs"],
  ["inference", "export"],
  ["evaluation"],
  ["train"],
  ["experiments"],
  ["reporting", "bench"],
  ["notebooks"],
  ["mod.ts"],
];

Deno.test("lib: packages import only their own layer and the layers below it", async () => {
  const rank = new Map<string, number>();
  LAYERS.forEach((names, i) => names.forEach((n) => rank.set(n, i)));
  const lib = new URL(".", import.meta.url).pathname;
  const packageOf = (path: string) => path.slice(lib.length).split("/")[0];
  const violations: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}${e.name}`;
      if (e.isDirectory) await walk(`${path}/`);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts") && !e.name.includes("testing")) {
        const from = packageOf(path);
        if (!rank.has(from)) violations.push(`${path}: package "${from}" has no layer in LAYERS`);
        const text = await Deno.readTextFile(path);
        for (const m of text.matchAll(/from\s+"(\.[^"]+)"/g)) {
          const to = packageOf(new URL(m[1], `file://${path}`).pathname);
          if ((rank.get(to) ?? -1) > (rank.get(from) ?? -1)) {
            violations.push(`${path.slice(lib.length)} imports ${m[1]}`);
          }
        }
      }
    }
  };
  await walk(lib);
  assert.deepEqual(violations, []);
});

Deno.test("lib/mod.ts: every exported name has an example (a fenced ts code block) in its JSDoc", async () => {
  const lib = new URL(".", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "lib/mod.ts"],
    cwd: new URL("..", lib).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `deno doc --json lib/mod.ts failed:\n${stderr}`);
  type JsDoc = { doc?: string; tags?: { kind: string; doc?: string }[] };
  type DocSymbol = { name: string; declarations: { jsDoc?: JsDoc; location: { filename: string; line: number } }[] };
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as { nodes: Record<string, { symbols: DocSymbol[] }> };
  const symbols = doc.nodes[new URL("mod.ts", lib).href]?.symbols ?? [];
  // Guards against a change of the JSON layout, under which every symbol would look documented or none would exist.
  assert.ok(symbols.length >= 30, `deno doc lists ${symbols.length} symbols of lib/mod.ts`);
  // `deno check --doc` (the check:doc task) type-checks ts blocks; a block in an @example tag counts too.
  const hasExample = (js: JsDoc | undefined) =>
    [js?.doc ?? "", ...(js?.tags ?? []).filter((t) => t.kind === "example").map((t) => t.doc ?? "")]
      .some((text) => /^```(ts|typescript)\s*$/m.test(text));
  const missing = symbols
    .filter((s) => !s.declarations.some((d) => hasExample(d.jsDoc)))
    .map((s) => {
      const { filename, line } = s.declarations[0].location;
      return `${s.name} (${filename.slice(new URL("..", lib).href.length)}:${line + 1})`;
    });
  assert.deepEqual(missing, [], `exported names without an example in their JSDoc: ${missing.join(", ")}`);
});
