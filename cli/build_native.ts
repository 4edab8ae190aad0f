/**
 * `deno task build:native [--check]`: builds the oneDNN addon in native/ with node-gyp (from npm, pinned) against the
 * system Node headers and Debian's libdnnl-dev. On a machine without the tools it prints what to install and exits
 * with status 1; everything else keeps working on plain wasm. `--check` only reports missing prerequisites.
 * @module
 */
import { existsSync } from "node:fs";
import { ADDON_PATH } from "../lib/backend/native/addon.ts";
import { type Io, parseCommandArgs } from "./command_args.ts";

/** node-gyp version the build runs (through npx, from the npm registry). */
export const NODE_GYP = "node-gyp@11.4.2";

/** One thing the build needs, how to see it is there, and the Debian package that provides it. */
export interface Prerequisite {
  what: string;
  /** An executable on PATH or an absolute file path. */
  probe: string;
  apt: string;
}

/** What the build needs on a Debian machine. */
export const PREREQUISITES: readonly Prerequisite[] = [
  { what: "C++ compiler", probe: "g++", apt: "g++" },
  { what: "make", probe: "make", apt: "make" },
  { what: "python3 (node-gyp)", probe: "python3", apt: "python3" },
  { what: "npx (runs node-gyp)", probe: "npx", apt: "npm" },
  { what: "Node-API headers", probe: "/usr/include/node/node_api.h", apt: "libnode-dev" },
  { what: "oneDNN headers", probe: "/usr/include/oneapi/dnnl/dnnl.hpp", apt: "libdnnl-dev" },
];

/** Whether an executable is on PATH (or an absolute path exists). */
export function onPath(name: string, path: string = Deno.env.get("PATH") ?? ""): boolean {
  if (name.startsWith("/")) return existsSync(name);
  return path.split(":").some((dir) => dir !== "" && existsSync(`${dir}/${name}`));
}

/** The prerequisites that `present` says are missing. */
export function missingPrerequisites(
  present: (probe: string) => boolean = (p) => onPath(p),
  list: readonly Prerequisite[] = PREREQUISITES,
): Prerequisite[] {
  return list.filter((p) => !present(p.probe));
}

/** The message printed when something is missing: what, and the apt command that installs it. */
export function installHint(missing: readonly Prerequisite[]): string {
  const pkgs = [...new Set(missing.map((m) => m.apt))].join(" ");
  return `build:native: missing ${missing.map((m) => m.what).join(", ")}.\n` +
    `Install with: sudo apt-get install -y ${pkgs}\n` +
    "Without the addon everything still runs on the wasm backend.";
}

const HELP = `usage: deno task build:native [--check]

Builds native/build/Release/ssd_native.node (the oneDNN backend) with node-gyp. Without g++, make, python3, npx,
the Node-API headers or libdnnl-dev it prints the apt-get line that installs them and exits 1.

options:
  --check      only report missing prerequisites
  -h, --help   this text`;

/** Runs the command on `args`; returns the exit code (2: bad command line, 1: missing tools or a failed build). */
export async function main(args: string[], io: Io = { log: console.log, error: console.error }): Promise<number> {
  const parsed = parseCommandArgs(args, {
    name: "build:native",
    help: HELP,
    options: { check: { type: "boolean", default: false } },
  }, io);
  if (parsed.exit !== undefined) return parsed.exit;
  const values = parsed.values;
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    io.error(installHint(missing));
    return 1;
  }
  if (values.check) {
    io.log("build:native: all prerequisites present");
    return 0;
  }
  const cwd = new URL("../native/", import.meta.url);
  const gypArgs = ["--yes", NODE_GYP, "rebuild", "--nodedir=/usr"];
  io.log(`build:native: npx ${gypArgs.join(" ")} (in native/)`);
  const t0 = performance.now();
  const { code } = await new Deno.Command("npx", { args: gypArgs, cwd, stdout: "inherit", stderr: "inherit" }).output();
  if (code !== 0 || !existsSync(ADDON_PATH)) {
    io.error(`build:native: node-gyp failed (exit ${code}); see its output above`);
    return 1;
  }
  // Load it in a fresh process: a missing runtime library (libdnnl.so.2, libgomp) shows up here, not at train time.
  const probe = "import { loadAddon } from './lib/backend/native/addon.ts'; console.log(loadAddon().version());";
  const check = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", probe],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(check.code === 0 ? check.stdout : check.stderr).trim();
  if (check.code !== 0) {
    io.error(`build:native: built ${ADDON_PATH} but it does not load:\n${out}`);
    return 1;
  }
  io.log(`build:native: ${ADDON_PATH} (${out}) built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
