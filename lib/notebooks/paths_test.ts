import assert from "node:assert/strict";
import { displayPath, REPO_ROOT } from "./paths.ts";

Deno.test("displayPath: repository-relative, $TMPDIR, else the last name; relative paths unchanged", () => {
  const options = { root: "/work/main", env: { TMPDIR: "/var/tmp/" } };
  assert.equal(displayPath("/work/main/results/ablation/b-4/", options), "results/ablation/b-4");
  assert.equal(displayPath("/work/main", options), ".");
  // A sibling folder whose name starts like the root is not inside it.
  assert.equal(displayPath("/work/main2/x", options), "x");
  assert.equal(displayPath("/var/tmp/notebook_runs_1/smoke/r", options), "$TMPDIR/notebook_runs_1/smoke/r");
  assert.equal(displayPath("/work/shared/datasets/aizoo-facemask", options), "aizoo-facemask");
  assert.equal(displayPath("results/x", options), "results/x");
  assert.equal(displayPath("/tmp/a", { root: "/r", env: {} }), "$TMPDIR/a");
});

Deno.test("REPO_ROOT is the folder holding deno.json", () => {
  assert.ok(Deno.statSync(`${REPO_ROOT}/deno.json`).isFile);
  assert.equal(displayPath(`${REPO_ROOT}/lib/notebooks/paths.ts`), "lib/notebooks/paths.ts");
});
