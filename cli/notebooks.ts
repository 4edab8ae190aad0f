/**
 * `deno task notebooks`: builds the notebooks from their TypeScript sources and executes them headlessly.
 *
 *   deno task notebooks build            regenerate notebooks/NN_*.ipynb from notebooks/NN_*.ts (outputs kept
 *                                        for unchanged code cells)
 *   deno task notebooks check            fail when an .ipynb is out of date with its source, not valid, or
 *                                        carries an absolute path in its outputs
 *   deno task notebooks [run] [options]  execute every notebook (nbclient, Deno kernel) into a temporary folder
 *
 * Options of run: --profile smoke|full (sets NOTEBOOK_PROFILE; default full), --inplace (write the executed
 * notebooks back into notebooks/), --only NAME (repeatable), --timeout SECONDS (per cell, default 1800),
 * --out DIR (instead of a temporary folder).
 * @module
 */

import "../lib/notebooks/quiet_tfjs.ts"; // first: mutes tfjs's duplicate-registration warnings (see the module)
import { parseCommandArgs, usageError } from "./command_args.ts";
import {
  absolutePathsInOutputs,
  buildNotebook,
  fromSourceLines,
  type Notebook,
  notebookErrors,
  notebookProblems,
  parseNotebookSource,
  serializeNotebook,
} from "../lib/notebooks/mod.ts";

const NOTEBOOK_DIR = new URL("../notebooks/", import.meta.url).pathname;

const HELP = `usage: deno task notebooks [build | check | run] [options]

  build    regenerate notebooks/*.ipynb from notebooks/*.ts
  check    check the .ipynb files match their sources, are valid nbformat 4.5 and print no absolute path
  run      (the default) execute the notebooks headlessly (nbclient via notebooks/execute.py, Deno kernel)

Options of run:
  --profile smoke|full   NOTEBOOK_PROFILE for the kernel (default full: real data and results/ run folders)
  --inplace              write the executed notebooks back into notebooks/ (default: a temporary folder only)
  --only NAME            run only this notebook (e.g. 01_dataset); repeatable
  --timeout SECONDS      per-cell timeout (default 1800)
  --out DIR              write executed notebooks here instead of a temporary folder
`;

/** Notebook names (`NN_name`) that have a TypeScript source in `dir`, sorted. */
export async function listNotebookSources(dir = NOTEBOOK_DIR): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = e.name.match(/^(\d\d_[a-z0-9_]+)\.ts$/);
    if (e.isFile && m) names.push(m[1]);
  }
  return names.sort();
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`${path}: cannot read notebook JSON: ${(e as Error).message}`);
  }
}

/** Builds the notebook for `name` from its source, keeping outputs of unchanged cells of the committed file. */
export async function buildFromSource(name: string, dir = NOTEBOOK_DIR): Promise<Notebook> {
  const srcPath = `${dir}/${name}.ts`;
  const cells = parseNotebookSource(await Deno.readTextFile(srcPath), srcPath);
  const previous = await readJson<Notebook>(`${dir}/${name}.ipynb`);
  return buildNotebook(cells, name.replace(/_/g, "-"), { previous });
}

/** Problems of the committed `name.ipynb`: nbformat problems and cells that differ from the source. */
export async function staleness(name: string, dir = NOTEBOOK_DIR): Promise<string[]> {
  const path = `${dir}/${name}.ipynb`;
  const committed = await readJson<Notebook>(path);
  if (!committed) return [`${path} is missing: run \`deno task notebooks build\``];
  const problems = notebookProblems(committed).map((p) => `${path}: ${p}`);
  const built = await buildFromSource(name, dir);
  const a = built.cells.map((c) => `${c.cell_type}:${c.id}:${fromSourceLines(c.source)}`);
  const b = committed.cells.map((c) => `${c.cell_type}:${c.id}:${fromSourceLines(c.source)}`);
  const i = a.findIndex((x, k) => x !== b[k]);
  if (i >= 0 || a.length !== b.length) {
    problems.push(
      `${path} is out of date with ${name}.ts (first difference at cell ${
        i >= 0 ? i + 1 : Math.min(a.length, b.length) + 1
      }):` +
        " run `deno task notebooks build`",
    );
  }
  return problems;
}

/**
 * Absolute paths in the outputs of a notebook file (lib/notebooks `absolutePathsInOutputs`), one problem line each: a
 * committed notebook must not carry the paths of the machine that ran it.
 */
export async function pathProblems(path: string): Promise<string[]> {
  const nb = await readJson<Notebook>(path);
  if (!nb) return [];
  return absolutePathsInOutputs(nb).map((l) =>
    `${path}: cell ${l.cell} (id ${l.id}) prints the absolute path ${l.path} (${l.part}): print it relative to ` +
    "the repository (lib/notebooks displayPath)"
  );
}

/** Drops per-run timestamps nbconvert stores in cell metadata, so re-executions diff only where outputs change. */
export function stripExecutionMetadata(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((c) => {
      const { execution: _execution, ...metadata } = c.metadata as Record<string, unknown>;
      return { ...c, metadata };
    }),
  };
}

/**
 * The Python that has nbclient: `NOTEBOOK_PYTHON` when set, else Debian's /usr/bin/python3 (a python3 earlier on
 * PATH, e.g. pyenv's, usually lacks the Debian packages), else `python3`.
 */
export function pythonForJupyter(env: Record<string, string | undefined> = Deno.env.toObject()): string {
  if (env.NOTEBOOK_PYTHON) return env.NOTEBOOK_PYTHON;
  try {
    if (Deno.statSync("/usr/bin/python3").isFile) return "/usr/bin/python3";
  } catch {
    // not Debian's layout
  }
  return "python3";
}

/** Result of executing one notebook. */
export interface ExecResult {
  name: string;
  ok: boolean;
  seconds: number;
  /** Where the executed copy was written. */
  output: string;
  /** On failure: which cell and what error. */
  error?: string;
}

/** Finds which cell failed from nbconvert's CellExecutionError text (it prints the failing cell's source). */
export function failingCell(nb: Notebook, stderr: string): string {
  const m = stderr.match(/An error occurred while executing the following cell:\n-+\n([\s\S]*?)\n-+\n([\s\S]*)$/);
  if (!m) return stderr.trim().split("\n").slice(-15).join("\n");
  const src = m[1];
  const idx = nb.cells.findIndex((c) => c.cell_type === "code" && fromSourceLines(c.source).trim() === src.trim());
  const where = idx >= 0 ? `cell ${idx + 1} (id ${nb.cells[idx].id})` : "a cell";
  const message = m[2].trim().split("\n").filter((l) => l.trim()).slice(0, 12).join("\n");
  return `${where} failed:\n${message}`;
}

/** Executes one committed notebook with notebooks/execute.py (nbclient) into `outDir`. */
export async function executeNotebook(
  name: string,
  options: { outDir: string; profile: string; timeout: number; dir?: string },
): Promise<ExecResult> {
  const dir = options.dir ?? NOTEBOOK_DIR;
  const input = `${dir}/${name}.ipynb`;
  const t0 = performance.now();
  // Our driver over nbclient (notebooks/execute.py) rather than `jupyter nbconvert --execute`: it keeps listening
  // briefly after each cell, because the Deno kernel sometimes sends outputs after reporting the cell idle.
  const output = `${options.outDir}/${name}.ipynb`;
  const cmd = new Deno.Command(pythonForJupyter(), {
    args: [`${NOTEBOOK_DIR}/execute.py`, "--timeout", String(options.timeout), "--kernel", "deno", input, output],
    env: { NOTEBOOK_PROFILE: options.profile },
    stdout: "piped",
    stderr: "piped",
  });
  let out: Deno.CommandOutput;
  try {
    out = await cmd.output();
  } catch (e) {
    throw new Error(
      `cannot run ${pythonForJupyter()} (${(e as Error).message}): install python3-nbclient and jupyter-client, ` +
        "then `deno jupyter --install`",
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    const nb = (await readJson<Notebook>(input))!;
    return { name, ok: false, seconds, output, error: failingCell(nb, new TextDecoder().decode(out.stderr)) };
  }
  const executed = (await readJson<Notebook>(output))!;
  const errors = notebookErrors(executed);
  if (errors.length) {
    const e = errors[0];
    return { name, ok: false, seconds, output, error: `cell ${e.cell} (id ${e.id}) failed:\n${e.message}` };
  }
  const leaks = await pathProblems(output);
  if (leaks.length) return { name, ok: false, seconds, output, error: leaks.join("\n") };
  return { name, ok: true, seconds, output };
}

async function main(args: string[]): Promise<number> {
  const io = { log: console.log, error: console.error };
  const parsed = parseCommandArgs(args, {
    name: "notebooks",
    help: HELP,
    allowPositionals: true,
    options: {
      profile: { type: "string", default: "full" },
      inplace: { type: "boolean", default: false },
      only: { type: "string", multiple: true },
      timeout: { type: "string", default: "1800" },
      out: { type: "string" },
    },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    return usageError(io, "notebooks", `give at most one of build, check, run; got ${positionals.join(" ")}`);
  }
  const command = positionals[0] ?? "run";
  if (!["build", "check", "run"].includes(command)) {
    return usageError(io, "notebooks", `unknown subcommand '${command}' (expected build, check or run)`);
  }
  if (values.profile !== "smoke" && values.profile !== "full") {
    return usageError(io, "notebooks", `--profile must be smoke or full, got '${values.profile}'`);
  }
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) {
    return usageError(io, "notebooks", `--timeout must be a positive number of seconds, got '${values.timeout}'`);
  }
  let names = await listNotebookSources();
  if (values.only?.length) {
    const unknown = values.only.filter((n) => !names.includes(n));
    if (unknown.length) throw new Error(`--only: no notebook named ${unknown.join(", ")} (have ${names.join(", ")})`);
    names = names.filter((n) => values.only!.includes(n));
  }
  if (command === "build") {
    for (const name of names) {
      const nb = await buildFromSource(name);
      await Deno.writeTextFile(`${NOTEBOOK_DIR}/${name}.ipynb`, serializeNotebook(nb));
      console.log(`wrote notebooks/${name}.ipynb (${nb.cells.length} cells)`);
    }
    return 0;
  }
  if (command === "check") {
    const problems = [
      ...(await Promise.all(names.map((n) => staleness(n)))).flat(),
      ...(await Promise.all(names.map((n) => pathProblems(`${NOTEBOOK_DIR}${n}.ipynb`)))).flat(),
    ];
    for (const p of problems) console.error(p);
    console.log(problems.length ? `${problems.length} problem(s)` : `${names.length} notebooks up to date`);
    return problems.length ? 1 : 0;
  }
  const stale = (await Promise.all(names.map((n) => staleness(n)))).flat();
  if (stale.length) throw new Error(stale.join("\n"));
  const outDir = values.out ?? await Deno.makeTempDir({ prefix: "notebooks_" });
  await Deno.mkdir(outDir, { recursive: true });
  console.log(`executing ${names.length} notebooks, profile ${values.profile}, into ${outDir}`);
  const results: ExecResult[] = [];
  for (const name of names) {
    const r = await executeNotebook(name, { outDir, profile: values.profile, timeout });
    results.push(r);
    console.log(`${r.ok ? "ok  " : "FAIL"} ${name} (${r.seconds.toFixed(1)} s)${r.ok ? "" : `\n${r.error}`}`);
    if (r.ok && values.inplace) {
      const executed = (await readJson<Notebook>(r.output))!;
      await Deno.writeTextFile(`${NOTEBOOK_DIR}/${name}.ipynb`, serializeNotebook(stripExecutionMetadata(executed)));
    }
  }
  const failed = results.filter((r) => !r.ok);
  const total = results.reduce((s, r) => s + r.seconds, 0);
  console.log(
    `\n${results.length - failed.length}/${results.length} notebooks ok in ${total.toFixed(1)} s ` +
      `(profile ${values.profile})${
        values.inplace ? ", written back to notebooks/" : `, executed copies in ${outDir}`
      }`,
  );
  for (const f of failed) console.error(`failed: notebooks/${f.name}.ipynb: ${f.error}`);
  return failed.length ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`notebooks: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
