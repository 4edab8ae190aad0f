/**
 * `deno task report`: writes `results/index.html`, one static page (vega scripts inlined, no network) with the
 * reference numbers, every run folder, Table 2, the backbone comparison and the curves.
 *
 *   deno task report [--results DIR] [--out FILE] [--check] [--screenshot PNG]
 *
 * `--check` opens the page in headless Chromium and fails on any console error, exception or network request;
 * `--screenshot` also saves a full-page PNG.
 * @module
 */

import { parseCommandArgs } from "./command_args.ts";
import { buildSiteReport, findChromium, inspectPage, readVegaScripts, renderPage } from "../lib/site/mod.ts";

const HELP = `usage: deno task report [options]
  --results DIR      folder of run folders (default results/)
  --out FILE         page to write (default <results>/index.html)
  --check            load the page in headless Chromium; fail on console errors, exceptions or network requests
  --screenshot PNG   with --check: also save a full-page screenshot
`;

async function main(args: string[]): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "report",
    help: HELP,
    options: {
      results: { type: "string", default: new URL("../results", import.meta.url).pathname },
      out: { type: "string" },
      check: { type: "boolean", default: false },
      screenshot: { type: "string" },
    },
  }, { log: console.log, error: console.error });
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const resultsDir = values.results!.replace(/\/+$/, "");
  const out = values.out ?? `${resultsDir}/index.html`;
  const report = await buildSiteReport(resultsDir);
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
