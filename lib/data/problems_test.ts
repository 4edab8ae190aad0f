import assert from "node:assert/strict";
import { DataError, formatProblem } from "./problems.ts";

Deno.test("DataError message names the file first, then the problem", () => {
  const e = new DataError("/d/train/a.xml", "malformed XML");
  assert.equal(e.message, "/d/train/a.xml: malformed XML");
  assert.equal(e.file, "/d/train/a.xml");
  assert.equal(e.problem, "malformed XML");
  assert.ok(e instanceof Error);
});

Deno.test("formatProblem writes severity, file and problem on one line", () => {
  assert.equal(formatProblem({ file: "x.jpg", problem: "no XML", severity: "error" }), "error x.jpg: no XML");
});
