#!/usr/bin/env bash
# Builds every tool the tests run beside the operator, each from its own pinned Go
# module (or Debian package) into its own cache, TOOLS_PARALLEL jobs at a time (3 by
# default: a Go build keeps both cores busy only while compiling, not while it
# downloads modules or links), the longest first, so a cold CI waits for the
# slowest build once instead of for each build in turn inside the test that needs it.
# Instant when everything is cached. Prints one line per step with its time;
# on a failure, the end of that step's log, and exits non-zero.
#
# A job is one or more steps joined by " && ", run in turn: the kubelet, Helm and
# promtool are built right after the control plane, on the same k8s.io module
# versions, so they reuse the packages the control plane compiled (Go's build cache
# is shared, but two builds running at once compile the same package twice).
# A step is "script [args]" (its name: the script's, without .sh) or "make TARGET".
#
# Every step runs at nice 10 or lower priority, so tests running beside it come first.
#
# TOOLS_DONE_DIR=dir: each step, when it ends, leaves dir/NAME.ok or dir/NAME.failed,
# so test/run.ts can start the tests that need only what is built while the rest
# builds (.ci/run). TOOLS_WITH_IMAGE=1 adds `make image` after cosign (CI).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
parallel=${TOOLS_PARALLEL:-3}
logs=$(mktemp -d "${TMPDIR:-/tmp}/build-tools.XXXXXX")
trap 'rm -rf "$logs"' EXIT

# The control plane first (every e2e file needs it), then the longest cold jobs (measured on 2 cores; docs/development.md).
image_step=""
[[ ${TOOLS_WITH_IMAGE:-} == 1 ]] && image_step=" && make image"
# The first job builds everything on the control plane's k8s.io module versions, one after another, so
# each reuses the packages the ones before compiled (kwok, the kubelet, Helm and promtool require those
# versions in their wrapper modules).
jobs=(
  "test/cluster/build-binaries.sh && test/node/build-node.sh && test/helm/build-helm.sh && test/prometheus/build-promtool.sh"
  test/argocd/build-argocd.sh   # argocd-lite (application-controller, repo-server) and the Lua runner in one go build, kustomize, redis
  "image/build-cosign.sh$image_step"
  test/rollouts/build-rollouts.sh
)

step_name() { # "script [args]" or "make TARGET" -> the name its marker and log take
  local step=$1
  if [[ $step == make\ * ]]; then echo "${step#make }"; else step=${step%% *}; basename "$step" .sh; fi
}

mark() { # name, ok|failed
  [[ -n ${TOOLS_DONE_DIR:-} ]] && touch "$TOOLS_DONE_DIR/$1.$2"
  return 0
}

run_job() { # "step && step ...": each in turn; a failed step fails the rest of its job
  local job=$1 step name t args failed=""
  while [[ -n $job ]]; do
    step=${job%% && *}
    if [[ $job == *" && "* ]]; then job=${job#* && }; else job=""; fi
    name=$(step_name "$step")
    if [[ -n $failed ]]; then
      echo "build-tools: $step skipped: $failed failed before it" >&2
      mark "$name" failed; continue
    fi
    t=$SECONDS
    if [[ $step == make\ * ]]; then
      set -- make -s -C "$root" "${step#make }"
    else
      read -r -a args <<<"${step#"${step%% *}"}"
      set -- bash "$root/${step%% *}" "${args[@]}"
    fi
    # Below the tests: beside them (.ci/run), a test's deadlines get the CPU first (a cold run's e2e files failed
    # when etcd, starved by the builds, took 20 s to serve); the builds take what is left. nice 10 here and the
    # scripts' own nice 10 put every build at 19 but the control plane's and Helm's (no nice of their own): every
    # e2e file waits for the control plane, so it goes before the other builds.
    if nice -n 10 "$@" >"$logs/$name.out" 2>"$logs/$name.log"; then
      echo "build-tools: $step: $(tail -1 "$logs/$name.out") ($((SECONDS - t)) s)" >&2
      mark "$name" ok
    else
      echo "build-tools: $step FAILED after $((SECONDS - t)) s:" >&2
      tail -30 "$logs/$name.log" >&2
      mark "$name" failed
      failed=$name
    fi
  done
  [[ -z $failed ]]
}
export -f run_job step_name mark
export root logs

present=()
for j in "${jobs[@]}"; do
  first=${j%% *}
  [[ $first == make || -f "$root/$first" ]] && present+=("$j")
done
[[ -n ${TOOLS_DONE_DIR:-} ]] && mkdir -p "$TOOLS_DONE_DIR"
started=$SECONDS
printf '%s\n' "${present[@]}" | xargs -P "$parallel" -I{} bash -c 'run_job "$1"' _ {}
echo "build-tools: ${#present[@]} jobs done in $((SECONDS - started)) s" >&2
