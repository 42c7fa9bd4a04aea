#!/usr/bin/env bash
# Runs the bench on a clean export of one commit (default HEAD), not on the working tree: on a shared work tree
# other changes to src/ would otherwise be measured under a commit's name. The export is built once into
# ${TMPDIR:-/tmp}/authpolicy-bench-src-<commit> (node_modules linked from this checkout) and the results are
# written to this checkout's bench/results/, named after the commit.
# Usage: bash bench/at-commit.sh [--at=<commit>] <bench options, e.g. --quick --repeat=3>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/node-env.sh
source "$root/scripts/node-env.sh" # Node 24 first on PATH (the bench runs its .ts files directly)
at=HEAD
if [[ ${1:-} == --at=* ]]; then
  at=${1#--at=}
  shift
fi
commit=$(git -C "$root" rev-parse --short "$at")
dir=${TMPDIR:-/tmp}/authpolicy-bench-src-$commit
if [ ! -f "$dir/.built" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  git -C "$root" archive "$commit" | tar -x -C "$dir"
  ln -s "$root/node_modules" "$dir/node_modules"
  (cd "$dir" && npm run build >/dev/null)
  touch "$dir/.built"
fi
export BENCH_COMMIT=$commit
export RELOADER_BUILD=${RELOADER_BUILD:-$root/../shared/third_party/reloader/build.sh}
exec node "$dir/bench/run.ts" --out="$root/bench/results" "$@"
