#!/usr/bin/env bash
# Builds every tool the tests run beside the operator, each from its own pinned Go
# module (or Debian package) into its own cache, TOOLS_PARALLEL at a time (3 by
# default: a Go build keeps both cores busy only while compiling, not while it
# downloads modules or links), the longest first, so a cold CI waits for the
# slowest build once instead of for each build in turn inside the test that needs it.
# Instant when everything is cached. Prints one line per tool with its time;
# on a failure, the end of that build's log, and exits non-zero.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
parallel=${TOOLS_PARALLEL:-3}
logs=$(mktemp -d "${TMPDIR:-/tmp}/build-tools.XXXXXX")
trap 'rm -rf "$logs"' EXIT

# Longest cold build first (measured on 2 cores; see docs/development.md).
scripts=(
  test/cluster/build-binaries.sh
  "test/argocd/build-argocd.sh argocd-health-test"   # only what a committed test runs: the full argocd binary is 60+ min cold
  image/build-cosign.sh
  test/node/build-node.sh
  test/prometheus/build-promtool.sh
  test/rollouts/build-rollouts.sh
  test/helm/build-helm.sh
)
present=()
for s in "${scripts[@]}"; do [[ -f "$root/${s%% *}" ]] && present+=("$s"); done

build_one() { # "script [args]": runs it, logs to $logs, prints its time
  local script=${1%% *} args name t=$SECONDS
  read -r -a args <<<"${1#"$script"}"
  name=$(basename "$script" .sh)
  if bash "$root/$script" "${args[@]}" >"$logs/$name.out" 2>"$logs/$name.log"; then
    echo "build-tools: $script: $(tail -1 "$logs/$name.out") ($((SECONDS - t)) s)" >&2
  else
    echo "build-tools: $script FAILED after $((SECONDS - t)) s:" >&2
    tail -30 "$logs/$name.log" >&2
    return 1
  fi
}
export -f build_one
export root logs
started=$SECONDS
printf '%s\n' "${present[@]}" | xargs -P "$parallel" -I{} bash -c 'build_one "$1"' _ {}
echo "build-tools: ${#present[@]} tools ready in $((SECONDS - started)) s" >&2
