#!/usr/bin/env bash
# Builds lua-runner (the Argo CD health-check VM on gopher-lua, see
# lua-runner/main.go) into a cache keyed by its module's content and the Go
# version. Prints the binary's path as its last line of stdout.
# First build: a few seconds (three small modules); with the cache present: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}

command -v go >/dev/null || { echo "build-lua-runner: Go is required (go 1.26+ on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

src="$here/lua-runner"
key=$( { go version; cat "${BASH_SOURCE[0]}" "$src/go.mod" "$src/go.sum" "$src/main.go"; } | sha256sum | cut -c1-16)
out="$cache_root/lua-runner/$key"
log() { echo "build-lua-runner: $*" >&2; }

if [[ -x "$out/lua-runner" ]]; then
  log "cached: $out/lua-runner"
  echo "$out/lua-runner"; exit 0
fi
mkdir -p "$out"
started=$SECONDS
tmp=$(mktemp "$out/lua-runner.XXXXXX")
trap 'rm -f "$tmp"' EXIT
if ! (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$tmp" .) >&2; then
  log "building lua-runner failed"
  exit 1
fi
mv "$tmp" "$out/lua-runner"   # atomic: a concurrent build finds a whole binary or none
log "built lua-runner in $((SECONDS - started))s into $out"
echo "$out/lua-runner"
