/**
 * `--backend NAME` of the commands that compute (train, evaluate, ablation, backbones, bench). For a new run it is
 * `--set backend.name=NAME` (part of the run's config); for an existing run (evaluate, train --resume), whose
 * config.json is kept, it stands in for `FACEMASK_BACKEND` in this process, which replaces a config's `auto`.
 * @module
 */
import { BACKEND_CHOICES, type BackendChoice } from "../lib/backend/mod.ts";
import { readRunConfig } from "../lib/runs/config.ts";

/** Why `value` is not a backend name, or null when it is one. */
export function backendProblem(value: string): string | null {
  return (BACKEND_CHOICES as readonly string[]).includes(value)
    ? null
    : `--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${value}'`;
}

/**
 * Makes an existing run compute on `backend`: sets `FACEMASK_BACKEND` for this process. Returns a message instead
 * when the run's config.json asks for another backend by name (then FACEMASK_BACKEND would not apply, and the run's
 * recorded config would no longer say what it ran on).
 */
export async function useBackendForRun(runDir: string, backend: BackendChoice): Promise<string | null> {
  const config = await readRunConfig(runDir);
  if (config.backend.name !== "auto" && config.backend.name !== backend) {
    return `--backend ${backend}: ${runDir}/config.json asks for backend.name "${config.backend.name}" (only a run ` +
      `with "auto" can run on another backend)`;
  }
  Deno.env.set("FACEMASK_BACKEND", backend);
  return null;
}
