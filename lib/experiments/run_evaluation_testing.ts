/**
 * A folder copy for tests that move data sets around (lib/experiments/run_evaluation_test.ts, reproduce_test.ts).
 * @module
 */

/** Copies the folder `from` to `to` (created), recursively. */
export async function copy(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}
