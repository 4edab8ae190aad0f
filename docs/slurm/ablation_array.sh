#!/usr/bin/env bash
# Table 2 as a Slurm job array: array task i runs line i of `deno task ablation --print`, one run of the grid each.
#
#   sbatch docs/slurm/ablation_array.sh                      # the paper profile, 7 array tasks (one per config)
#   PROFILE=short sbatch --export=ALL docs/slurm/ablation_array.sh
#   GRID_ARGS="--data /shared/aizoo-facemask" sbatch --export=ALL docs/slurm/ablation_array.sh
#   GRID=backbones sbatch --array=0-3 --export=ALL docs/slurm/ablation_array.sh
#
# then, once every task has ended (its run folder is under results/ on the shared file system, or copied back):
#
#   deno task ablation --profile paper --table-only
#
# `--print` writes one line per config in the grid's order: `deno task train <config> ...` for a config with no run
# yet, `deno task train --resume <run>` for an unfinished one, `# done: <run>` for a finished one. Blank lines and
# other comment lines are skipped; a `# done:` line keeps its place, so that line i is config i whenever a task
# starts, even after other tasks have finished theirs (the task for a done config has nothing to do and exits 0).
# Giving COMMANDS=FILE runs line i of FILE instead (e.g. a list printed once and edited); the same rules apply.
#
# Environment: PROFILE (default paper), GRID (ablation or backbones, default ablation), GRID_ARGS (more options of
# the grid command, e.g. --data DIR, --set KEY=VALUE, --results DIR), DENO (the deno executable, default deno on
# PATH), FACEMASK_REPO (the checkout to run in, default the folder sbatch was called from).
#
#SBATCH --job-name=ssdv2-ablation
#SBATCH --array=0-6
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=2-00:00:00
#SBATCH --output=ablation-%A_%a.out
set -euo pipefail

task="${SLURM_ARRAY_TASK_ID:?SLURM_ARRAY_TASK_ID is not set: submit with sbatch (it sets it), or set it by hand}"
if ! [[ "$task" =~ ^[0-9]+$ ]]; then
  echo "ablation_array.sh: SLURM_ARRAY_TASK_ID must be a whole number, got '$task'" >&2
  exit 2
fi
DENO="${DENO:-deno}"
GRID="${GRID:-ablation}"
PROFILE="${PROFILE:-paper}"
cd "${FACEMASK_REPO:-${SLURM_SUBMIT_DIR:-.}}"

# The printed commands start with `deno`: run them with $DENO (`command` skips this function when DENO=deno).
deno() { command "$DENO" "$@"; }

if [[ -n "${COMMANDS:-}" ]]; then
  listing="$(cat "$COMMANDS")"
else
  # shellcheck disable=SC2086 # GRID_ARGS is a list of words on purpose
  listing="$(deno task "$GRID" --profile "$PROFILE" --print ${GRID_ARGS:-})"
fi

# Line i among the grid's lines: commands and `# done:` lines, in order.
mapfile -t lines < <(printf '%s\n' "$listing" | grep -E '^(# done: |[^#[:space:]])' || true)
if (( task >= ${#lines[@]} )); then
  echo "ablation_array.sh: task $task: the $GRID grid has ${#lines[@]} line(s) (0-$(( ${#lines[@]} - 1 ))); nothing to do"
  exit 0
fi
line="${lines[$task]}"
if [[ "$line" == "# done: "* ]]; then
  echo "ablation_array.sh: task $task: ${line#\# done: } is finished already; nothing to do"
  exit 0
fi
echo "ablation_array.sh: task $task on $(hostname): $line"
eval "$line"
