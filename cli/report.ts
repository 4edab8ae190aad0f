/**
 * `deno task report`: writes `results/index.html`, one static page (vega scripts inlined, no network) with the
 * reference numbers, Table 2 on the paper's schedule, the backbone comparison, the curves of every run in them,
 * example detections, AP by face size, operating points, confusion matrices, speeds with their CPU, every run folder
 * and the quick checks folded away (lib/reporting/site.ts).
 *
 *   deno task report [--results DIR] [--out FILE] [--data DIR] [--backend NAME] [--check] [--screenshot PNG]
 *
 * The example detections are drawn on the val images of `--data` (default `FACEMASK_DATA`, else
 * `data/aizoo-facemask` when it exists); without real data the page says so and draws none.
 * `--check` opens the page in headless Chromium and fails on any console error, exception or network request;
 * `--screenshot` also saves a full-page PNG.
 * @module
 */

import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { parseCommandArgs, usageError } from "./command_args.ts";
import { buildReport, readVegaScripts, renderPage } from "../lib/reporting/mod.ts";
import { findChromium, inspectPage } from "../lib/util/devtools.ts";

const HELP = `usage: deno task report [options]
  --results DIR      folder of run folders (default results/)
  --out FILE         page to write (default <results>/index.html)
  --data DIR         data folder for the example detections (default FACEMASK_DATA, else data/aizoo-facemask)
  --backend NAME     tfjs backend of the example detections: auto, tensorflow, native, wasm, cpu (default auto)
  --check            load the page in headless Chromium; fail on console errors, exceptions or network requests
  --screenshot PNG   with --check: also save a full-page screenshot
`;

/**
 * The data folder of the example detections: `--data` (an error when it is not a folder), else `FACEMASK_DATA`,
 * else `data/aizoo-facemask` when present; null when there is none, so the page says so. Generated data never
 * stands in: detections of the real model on synthetic scenes would mislead.
 */
async function exampleData(flag: string | undefined): Promise<string | null> {
  const isDir = (p: string) => Deno.stat(p).then((s) => s.isDirectory, () => false);
  if (flag !== undefined) {
    if (!(await isDir(`${flag}/val`))) throw new Error(`--data ${flag}: no val/ folder in it`);
    return flag;
  }
  const env = Deno.env.get("FACEMASK_DATA");
  if (env) {
    if (!(await isDir(`${env}/val`))) throw new Error(`FACEMASK_DATA=${env}: no val/ folder in it`);
    return env;
  }
  const fallback = new URL("../data/aizoo-facemask", import.meta.url).pathname;
  return (await isDir(`${fallback}/val`)) ? fallback : null;
}

async function main(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "report",
    help: HELP,
    options: {
      results: { type: "string", default: new URL("../results", import.meta.url).pathname },
      out: { type: "string" },
      data: { type: "string" },
      backend: { type: "string", default: "auto" },
      check: { type: "boolean", default: false },
      screenshot: { type: "string" },
    },
  }, { log: console.log, error: console.error });
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const resultsDir = values.results!.replace(/\/+$/, "");
  const out = values.out ?? `${resultsDir}/index.html`;
  const backends = ["auto", "tensorflow", "native", "wasm", "cpu"] as const;
  const backend = backends.find((b) => b === values.backend);
  if (!backend) {
    return usageError(
      { log: console.log, error: console.error },
      "report",
      `--backend must be one of ${backends.join(", ")}, got '${values.backend}'`,
    );
  }
  const data = await exampleData(values.data);
  const report = await buildReport(resultsDir, { data, backend });
  const html = renderPage(report, { scripts: await readVegaScripts() });
  await Deno.mkdir(resultsDir, { recursive: true });
  await Deno.writeTextFile(out, html);
  const charts = report.sections.reduce((n, s) => n + (s.charts?.length ?? 0), 0);
  console.log(
    `wrote ${out} (${(html.length / 1024).toFixed(0)} KiB, ${report.sections.length} sections, ${charts} charts)`,
  );
  if (report.banner) console.log(`note: ${report.banner}`);
  if (!values.check && !values.screenshot) return 0;
  if (!findChromium()) throw new Error("--check needs chromium on PATH (Debian package chromium)");
  const page = await inspectPage(`file://${await Deno.realPath(out)}`, { screenshot: Boolean(values.screenshot) });
  if (values.screenshot && page.screenshot) {
    await Deno.writeFile(values.screenshot, page.screenshot);
    console.log(`screenshot: ${values.screenshot}`);
  }
  const problems = [
    ...page.consoleErrors.map((e) => `console error: ${e}`),
    ...page.exceptions.map((e) => `exception: ${e}`),
    ...page.networkRequests.map((u) => `network request: ${u}`),
    ...(page.ready === String(charts) ? [] : [`charts drawn: expected ${charts}, page says "${page.ready}"`]),
  ];
  for (const p of problems) console.error(p);
  console.log(
    problems.length ? `${out}: ${problems.length} problem(s)` : `${out}: loads cleanly, ${charts} charts drawn`,
  );
  return problems.length ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`report: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
