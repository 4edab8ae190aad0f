/**
 * Looking for files the project can use but does not ship (fonts, browsers, Jupyter, malloc libraries): whether a
 * path is a file, and where a program lies on PATH.
 * @module
 */

/** Whether `path` is a regular file (false where it is missing, a directory, or cannot be read). */
export function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** The first `dir/name` on PATH (`path`, default the process's) that is a file, or `undefined`. */
export function findOnPath(name: string, path: string = Deno.env.get("PATH") ?? ""): string | undefined {
  return path.split(":").filter((d) => d).map((d) => `${d}/${name}`).find(isFile);
}
