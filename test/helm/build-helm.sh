#!/usr/bin/env bash
# Builds Helm v4 (helm.sh/helm/v4/cmd/helm, the version helm/go.mod pins as a
# `tool`) from the Go module proxy into a cache keyed by the module's content and
# the Go version. Prints the binary's path as its last line of stdout.
# First build: a few minutes on 2 cores; with the cache present: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}

command -v go >/dev/null || { echo "build-helm: Go is required (go 1.26+ on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

src="$here/helm"
key=$( { go version; cat "${BASH_SOURCE[0]}" "$src/go.mod" "$src/go.sum"; } | sha256sum | cut -c1-16)
out="$cache_root/helm/$key"
log() { echo "build-helm: $*" >&2; }

if [[ -x "$out/helm" ]]; then
  log "cached: $out/helm"
  echo "$out/helm"; exit 0
fi
mkdir -p "$out"
version=$(cd "$src" && go list -m -f '{{.Version}}' helm.sh/helm/v4)
started=$SECONDS
tmp=$(mktemp "$out/helm.XXXXXX")
trap 'rm -f "$tmp"' EXIT
log "building helm $version (a few minutes the first time) ..."
# helm's `version` reads internal/version.version; stamp it like upstream's Makefile.
if ! (cd "$src" && go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$version" \
      -o "$tmp" helm.sh/helm/v4/cmd/helm) >&2; then
  log "building helm failed"
  exit 1
fi
chmod +x "$tmp"
mv "$tmp" "$out/helm"   # atomic: a concurrent build finds a whole binary or none
log "built helm $version in $((SECONDS - started))s into $out"
echo "$out/helm"
