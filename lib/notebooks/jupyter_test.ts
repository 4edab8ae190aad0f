import assert from "node:assert/strict";
import { findChromium } from "../util/devtools.ts";
import {
  checkNotebookPage,
  expectedViews,
  findJupyterNotebook,
  inspectNotebookPage,
  type NotebookPage,
  startNotebookServer,
} from "./jupyter.ts";

const NOTEBOOKS = new URL("../../notebooks/", import.meta.url).pathname;

const stored = {
  cells: [
    { cell_type: "markdown" },
    {
      cell_type: "code",
      outputs: [
        { output_type: "stream" },
        { output_type: "display_data", data: { "text/html": "<table/>", "text/plain": "t" } },
        { output_type: "display_data", data: { "image/svg+xml": "<svg/>", "image/png": "x", "text/plain": "[grid]" } },
      ],
    },
    {
      cell_type: "code",
      outputs: [{ output_type: "display_data", data: { "application/vnd.vegalite.v5+json": {}, "text/plain": "[c]" } }],
    },
  ],
};

function page(outputs: NotebookPage["outputs"], extra: Partial<NotebookPage> = {}): NotebookPage {
  return { trusted: false, outputs, consoleErrors: [], exceptions: [], foreignRequests: [], ...extra };
}

Deno.test("expectedViews: a PNG for every chart or picture (with a PNG or without), HTML for tables, no streams", () => {
  assert.deepEqual([...expectedViews(stored)], [[2, ["html", "png"]], [3, ["png"]]]);
});

Deno.test("checkNotebookPage passes the right page and names every way a page can be wrong", () => {
  const good = page([
    { cell: 2, shownAs: "stream", text: "printed" },
    { cell: 2, shownAs: "html", text: "t" },
    { cell: 2, shownAs: "png", text: "" },
    { cell: 3, shownAs: "png", text: "" },
  ]);
  assert.deepEqual(checkNotebookPage("n", stored, good), []);
  const bad = page([
    { cell: 2, shownAs: "html", text: "t" },
    { cell: 2, shownAs: "text", text: "[grid]\n" },
    { cell: 3, shownAs: "text", text: "<VegaLite 5 object>" },
  ], { trusted: true, consoleErrors: ["boom"], foreignRequests: ["https://cdn.example/x.js"] });
  assert.deepEqual(checkNotebookPage("n", stored, bad), [
    "n: the page treats the notebook as trusted; the check needs it untrusted",
    'n: cell 2 shows [html, text], expected [html, png] (text shown: "[grid]")',
    'n: cell 2 shows the placeholder "[grid]" instead of a picture',
    'n: cell 3 shows [text], expected [png] (text shown: "<VegaLite 5 object>")',
    'n: cell 3 shows the placeholder "<VegaLite 5 object>" instead of a picture',
    "n: console error: boom",
    "n: request off the server: https://cdn.example/x.js",
  ]);
});

Deno.test({
  name: "every committed notebook, untrusted in Jupyter Notebook 6, shows its charts and pictures as PNG images",
  ignore: !findJupyterNotebook() || !findChromium(),
  sanitizeResources: false,
  fn: async () => {
    // A copy: opening a notebook lets the server write checkpoints beside it.
    const dir = await Deno.makeTempDir({ prefix: "notebooks_copy_" });
    const names: string[] = [];
    for await (const e of Deno.readDir(NOTEBOOKS)) {
      if (e.isFile && /^\d\d_.*\.ipynb$/.test(e.name)) {
        names.push(e.name);
        await Deno.copyFile(`${NOTEBOOKS}${e.name}`, `${dir}/${e.name}`);
      }
    }
    names.sort();
    assert.ok(names.length >= 7, `found ${names.join(", ")}`);
    const server = await startNotebookServer({ notebookDir: dir });
    const shotDir = Deno.env.get("NOTEBOOK_SCREENSHOTS");
    const problems: string[] = [];
    let pngs = 0;
    try {
      for (const name of names) {
        const shown = await inspectNotebookPage(server, name, { screenshot: Boolean(shotDir) });
        if (shotDir && shown.screenshot) await Deno.writeFile(`${shotDir}/${name}.png`, shown.screenshot);
        const nb = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
        problems.push(...checkNotebookPage(name, nb, shown));
        pngs += shown.outputs.filter((o) => o.shownAs === "png").length;
        // Each page started a kernel; stop it before the next page starts another.
        await server.stopKernels();
      }
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
    assert.deepEqual(problems, []);
    // 01 and 02 show a chart and a picture each, 03 and 06 a chart, 04 a chart and two pictures, 07 a picture; 05
    // draws its charts only once Table 2 has a finished row or reproduce.json has by-size results.
    assert.ok(pngs >= 10, `only ${pngs} PNG outputs shown`);
  },
});
