import assert from "node:assert/strict";
import {
  absolutePathsInOutputs,
  buildNotebook,
  fromSourceLines,
  type Notebook,
  notebookErrors,
  notebookProblems,
  notebookProfile,
  parseNotebookSource,
  serializeNotebook,
  toSourceLines,
} from "./nbformat.ts";

const SOURCE = `/** file comment, dropped */
// %% [markdown]
// # Title
//
// Some *text*.

// %%
const a = 1;

console.log(a);

// %%
a + 1;
`;

Deno.test("parseNotebookSource splits markdown and code cells and strips comment markers", () => {
  assert.deepEqual(parseNotebookSource(SOURCE, "x.ts"), [
    { kind: "markdown", source: "# Title\n\nSome *text*." },
    { kind: "code", source: "const a = 1;\n\nconsole.log(a);" },
    { kind: "code", source: "a + 1;" },
  ]);
});

Deno.test("parseNotebookSource errors name the file and line", () => {
  assert.throws(() => parseNotebookSource("// %% [raw]\nx", "n.ts"), /n\.ts:1: unknown cell marker/);
  assert.throws(() => parseNotebookSource("// %% [markdown]\n// ok\nnot a comment", "n.ts"), /n\.ts:3: markdown cell/);
  assert.throws(() => parseNotebookSource("// %%\n\n// %%\nx", "n.ts"), /n\.ts:1: empty cell/);
  assert.throws(() => parseNotebookSource("const x = 1;", "n.ts"), /n\.ts: no cells/);
});

Deno.test("toSourceLines / fromSourceLines follow nbformat's line lists", () => {
  assert.deepEqual(toSourceLines("a\nb\n\nc"), ["a\n", "b\n", "\n", "c"]);
  assert.deepEqual(toSourceLines(""), []);
  assert.equal(fromSourceLines(["a\n", "b"]), "a\nb");
  assert.equal(fromSourceLines("a\nb"), "a\nb");
});

Deno.test("buildNotebook writes nbformat 4.5 with Deno kernelspec and ids in order", () => {
  const nb = buildNotebook(parseNotebookSource(SOURCE, "x.ts"), "01-x");
  assert.equal(nb.nbformat, 4);
  assert.equal(nb.nbformat_minor, 5);
  assert.deepEqual(nb.metadata.kernelspec, { display_name: "Deno", language: "typescript", name: "deno" });
  assert.deepEqual(nb.cells.map((c) => c.id), ["01-x-01", "01-x-02", "01-x-03"]);
  assert.deepEqual(nb.cells[1], {
    cell_type: "code",
    execution_count: null,
    id: "01-x-02",
    metadata: {},
    outputs: [],
    source: ["const a = 1;\n", "\n", "console.log(a);"],
  });
  assert.equal("outputs" in nb.cells[0], false);
  assert.deepEqual(notebookProblems(nb), []);
});

Deno.test("buildNotebook keeps outputs only of code cells whose id and source are unchanged", () => {
  const first = buildNotebook(parseNotebookSource(SOURCE, "x.ts"), "nb");
  const out = [{ output_type: "stream", name: "stdout", text: ["1\n"] }];
  first.cells[1].outputs = out;
  first.cells[1].execution_count = 1;
  first.cells[2].outputs = [{ output_type: "execute_result", data: { "text/plain": ["2"] } }];
  const edited = SOURCE.replace("a + 1;", "a + 2;");
  const again = buildNotebook(parseNotebookSource(edited, "x.ts"), "nb", { previous: first });
  assert.deepEqual(again.cells[1].outputs, out);
  assert.equal(again.cells[1].execution_count, 1);
  assert.deepEqual(again.cells[2].outputs, []);
  assert.equal(again.cells[2].execution_count, null);
});

Deno.test("serializeNotebook: sorted keys, one-space indent, final newline, parseable", () => {
  const nb = buildNotebook([{ kind: "code", source: "1" }], "p");
  const text = serializeNotebook(nb);
  assert.ok(text.endsWith("}\n"));
  assert.ok(
    text.startsWith('{\n "cells": [\n  {\n   "cell_type": "code",\n   "execution_count": null,\n   "id": "p-01"'),
  );
  assert.deepEqual(JSON.parse(text), nb);
});

Deno.test("notebookProblems finds version, kernelspec, language and id problems", () => {
  const bad = {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: { kernelspec: { name: "python3" }, language_info: { name: "python" } },
    cells: [
      { cell_type: "code", id: "a", metadata: {}, source: [] },
      { cell_type: "code", id: "a", metadata: {}, source: [] },
      { cell_type: "raw", id: "b c", metadata: {}, source: [] },
    ],
  };
  assert.deepEqual(notebookProblems(bad), [
    "nbformat must be 4.5",
    'metadata.kernelspec.name must be "deno"',
    'metadata.language_info.name must be "typescript"',
    "cell 1: duplicate id a",
    "cell 2: bad id b c",
    "cell 2: bad type raw",
  ]);
});

Deno.test("notebookErrors lists error outputs with 1-based cell numbers", () => {
  const nb = buildNotebook([{ kind: "markdown", source: "m" }, { kind: "code", source: "x" }], "e") as Notebook;
  nb.cells[1].outputs = [{ output_type: "error", ename: "Error", evalue: "boom", traceback: [] }];
  assert.deepEqual(notebookErrors(nb), [{ cell: 2, id: "e-02", message: "Error: boom" }]);
});

Deno.test("notebookProfile defaults to full and rejects unknown values", () => {
  assert.equal(notebookProfile({}), "full");
  assert.equal(notebookProfile({ NOTEBOOK_PROFILE: "smoke" }), "smoke");
  assert.equal(notebookProfile({ NOTEBOOK_PROFILE: " full " }), "full");
  assert.throws(
    () => notebookProfile({ NOTEBOOK_PROFILE: "quick" }),
    /NOTEBOOK_PROFILE must be "smoke" or "full", got "quick"/,
  );
});

Deno.test("absolutePathsInOutputs finds machine paths in text, HTML and errors, not URLs, relative paths or base64", () => {
  const nb = buildNotebook([{ kind: "code", source: "a" }, { kind: "code", source: "b" }], "p");
  nb.cells[0].outputs = [
    {
      output_type: "stream",
      name: "stdout",
      text: ["run folder: results/ablation/b-4\n", "3,069 train / 930 val, 36 img/s\n"],
    },
    {
      output_type: "display_data",
      metadata: {},
      data: {
        "text/html": "<table><tr><td>https://vega.github.io/schema/x.json</td></tr></table><br/>",
        // Base64 holds "/tmp/" by chance; it is not a path.
        "image/svg+xml": '<svg><image href="data:image/jpeg;base64,AB/tmp/CD+/work/x=="/></svg>',
        "image/png": "iVBOR/work/main/x",
        "text/plain": "[chart]",
      },
    },
  ];
  assert.deepEqual(absolutePathsInOutputs(nb), []);
  nb.cells[1].outputs = [
    { output_type: "stream", name: "stdout", text: "data at /work/shared/datasets/aizoo-facemask (x)\n" },
    { output_type: "display_data", metadata: {}, data: { "text/html": "<td>/tmp/notebook_runs_1/r</td>" } },
    { output_type: "error", ename: "Error", evalue: "cannot read C:\\Users\\me\\x.json", traceback: [] },
  ];
  assert.deepEqual(absolutePathsInOutputs(nb), [
    { cell: 2, id: "p-02", part: "stream", path: "/work/shared/datasets/aizoo-facemask" },
    { cell: 2, id: "p-02", part: "text/html", path: "/tmp/notebook_runs_1/r" },
    { cell: 2, id: "p-02", part: "error", path: "C:\\Users\\me\\x.json" },
  ]);
});
