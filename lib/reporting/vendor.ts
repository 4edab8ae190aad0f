/**
 * Reads the browser builds of vega and vega-lite from the npm packages in node_modules, so the report page can
 * inline them and needs no network.
 * @module
 */

import type { VegaScripts } from "./html.ts";

/** Options of {@link readVegaScripts}. */
export interface VegaScriptsOptions {
  /** The node_modules folder (default: the repository's, next to deno.json). */
  nodeModules?: string;
}

/** Path of the repository's node_modules folder, found relative to this module. */
export function defaultNodeModules(): string {
  return new URL("../../node_modules", import.meta.url).pathname;
}

/**
 * Reads `vega/build/vega.min.js` and `vega-lite/build/vega-lite.min.js`. Throws naming the missing file (run
 * `deno install` to fetch the packages pinned in deno.json).
 */
export async function readVegaScripts(options: VegaScriptsOptions = {}): Promise<VegaScripts> {
  const root = options.nodeModules ?? defaultNodeModules();
  const read = async (rel: string): Promise<string> => {
    const path = `${root}/${rel}`;
    try {
      return await Deno.readTextFile(path);
    } catch (e) {
      throw new Error(`readVegaScripts: cannot read ${path} (${(e as Error).message}); run \`deno install\``);
    }
  };
  return { vega: await read("vega/build/vega.min.js"), vegaLite: await read("vega-lite/build/vega-lite.min.js") };
}
