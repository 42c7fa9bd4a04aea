#!/usr/bin/env bash
# Installs Debian packages the tests need, if missing: `scripts/apt-install.sh CMD=PKG ...`
# installs PKG when command CMD is not on PATH (PKG alone: when dpkg does not list it).
# Safe to run from several build scripts at once: one install at a time (flock), and
# apt waits for dpkg's lock instead of failing. Uses sudo when not root.
set -euo pipefail
log() { echo "apt-install: $*" >&2; }
sudo_=(); ((EUID == 0)) || sudo_=(sudo)
command -v apt-get >/dev/null || { log "needs apt-get (a Debian or Ubuntu machine) for: $*"; exit 1; }

missing() {
  local want=() spec
  for spec in "$@"; do
    if [[ $spec == *=* ]]; then command -v "${spec%%=*}" >/dev/null || want+=("${spec#*=}")
    else dpkg-query -W -f='${Status}' "$spec" 2>/dev/null | grep -q 'install ok installed' || want+=("$spec"); fi
  done
  echo "${want[@]}"
}

[[ -n $(missing "$@") ]] || exit 0
lock=${TMPDIR:-/tmp}/authpolicy-apt-install.lock
exec 9>"$lock"
flock -w 900 9 || { log "waited 15 min for another install (lock $lock); giving up"; exit 1; }
read -r -a want <<<"$(missing "$@")"   # again: another script may have installed them meanwhile
((${#want[@]})) || exit 0
log "installing ${want[*]} with apt-get"
apt=("${sudo_[@]}" apt-get -o DPkg::Lock::Timeout=600 -qq)
"${apt[@]}" install -y "${want[@]}" >&2 || { "${apt[@]}" update && "${apt[@]}" install -y "${want[@]}" >&2; }
