/**
 * Paths as the notebooks and the report print them: never an absolute path of the machine that ran them (a committed
 * notebook or report page is read on other machines, and the paths say nothing there). A path inside the repository
 * is written relative to it (`results/ablation/branches-4-...`), one in the temporary folder as `$TMPDIR/...`, any
 * other by its last name only (a data folder such as `aizoo-facemask`).
 * @module
 */

/** The repository's root folder (two levels above this module), without a trailing slash. */
export const REPO_ROOT: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function tempRoot(env: Record<string, string | undefined>): string {
  return (env.TMPDIR ?? "/tmp").replace(/\/+$/, "") || "/tmp";
}

/** Options of {@link displayPath}. */
export interface DisplayPathOptions {
  /** The root that paths are shown relative to (default {@link REPO_ROOT}). */
  root?: string;
  /** Environment for `TMPDIR` (default the process's). */
  env?: Record<string, string | undefined>;
}

/**
 * `path` as it may be printed: relative to the repository when inside it, `$TMPDIR/<rest>` inside the temporary
 * folder, else its last name. Relative paths are returned unchanged.
 */
export function displayPath(path: string, options: DisplayPathOptions = {}): string {
  if (!path.startsWith("/")) return path;
  const clean = path.replace(/\/+$/, "") || "/";
  const root = (options.root ?? REPO_ROOT).replace(/\/+$/, "");
  if (clean === root) return ".";
  if (clean.startsWith(`${root}/`)) return clean.slice(root.length + 1);
  let env = options.env;
  if (!env) {
    try {
      env = Deno.env.toObject();
    } catch {
      env = {};
    }
  }
  const tmp = tempRoot(env);
  if (clean.startsWith(`${tmp}/`)) return `$TMPDIR/${clean.slice(tmp.length + 1)}`;
  return clean.split("/").pop() || clean;
}
