#!/usr/bin/env bash
# Measures a cold CI: `bash .ci/run` in a fresh clone of COMMIT (default HEAD) with every cache empty (the tools'
# AUTHPOLICY_CACHE, Go's build and module caches, npm's; Debian packages are kept), ../shared beside the clone as
# CI has it. On cgroup v1 (as root) the run goes into its own cpu cgroup with a high cpu.shares, so other work on
# the machine takes little from it, and a cpuacct cgroup counts its CPU-seconds.
# Usage: bash scripts/cold-ci.sh [COMMIT] [WORK_DIR]   (WORK_DIR: default /tmp/cold-ci, emptied first)
# Prints "rc=N seconds=N cpu_seconds=N" at the end; the whole log is WORK_DIR/ci.log. About an hour on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
commit=$(git -C "$root" rev-parse "${1:-HEAD}")
work=${2:-/tmp/cold-ci}
shared=$(cd "$root/../shared" && pwd)

if [[ -d $work/gomod ]]; then GOMODCACHE=$work/gomod go clean -modcache; fi
rm -rf "$work"
mkdir -p "$work/w"
git clone -q "$root" "$work/w/main"
git -C "$work/w/main" checkout -q "$commit"
ln -s "$shared" "$work/w/shared"

cpu=/sys/fs/cgroup/cpu/authpolicy-cold-ci acct=/sys/fs/cgroup/cpuacct/authpolicy-cold-ci
if [[ -w /sys/fs/cgroup/cpu && -w /sys/fs/cgroup/cpuacct ]]; then
  mkdir -p "$cpu" "$acct"
  echo 262144 >"$cpu/cpu.shares"
  echo $$ >"$cpu/cgroup.procs"
  echo $$ >"$acct/cgroup.procs"
else
  acct=""
  echo "cold-ci: no cgroup v1 cpu/cpuacct to write: run as is, CPU-seconds not counted" >&2
fi
usage() { if [[ -n $acct ]]; then echo $(($(cat "$acct/cpuacct.usage") / 1000000000)); else echo "-"; fi; }

export AUTHPOLICY_CACHE=$work/cache GOCACHE=$work/gocache GOMODCACHE=$work/gomod npm_config_cache=$work/npm
echo "cold-ci: $(git -C "$root" log --oneline -1 "$commit"); log: $work/ci.log" >&2
start=$SECONDS cpu0=$(usage)
rc=0
(cd "$work/w/main" && bash .ci/run) >"$work/ci.log" 2>&1 || rc=$?
cpu1=$(usage)
[[ $cpu0 == - ]] && spent=- || spent=$((cpu1 - cpu0))
echo "rc=$rc seconds=$((SECONDS - start)) cpu_seconds=$spent" | tee "$work/result"
