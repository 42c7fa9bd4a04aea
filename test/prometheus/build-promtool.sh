#!/usr/bin/env bash
# Builds promtool (github.com/prometheus/prometheus/cmd/promtool, the version
# promtool/go.mod pins as a `tool`) from the Go module proxy into a cache keyed by
# the module's content and the Go version. Prints the binary's path as its last
# line of stdout. First build: several minutes on 2 cores; with the cache: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}

command -v go >/dev/null || { echo "build-promtool: Go is required (go 1.26+ on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

src="$here/promtool"
key=$( { go version; cat "${BASH_SOURCE[0]}" "$src/go.mod" "$src/go.sum"; } | sha256sum | cut -c1-16)
out="$cache_root/promtool/$key"
log() { echo "build-promtool: $*" >&2; }

if [[ -x "$out/promtool" ]]; then
  log "cached: $out/promtool"
  echo "$out/promtool"; exit 0
fi
mkdir -p "$out"
version=$(cd "$src" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
started=$SECONDS
tmp=$(mktemp "$out/promtool.XXXXXX")
trap 'rm -f "$tmp"' EXIT
log "building promtool $version (several minutes the first time) ..."
# promtool prints common/version's Version; stamp it as upstream's promu does. remove_all_sd
# leaves out the cloud service-discovery plugins (upstream's plugins/ build tags): rule checks
# and rule tests never use them, and the AWS, Azure and GCP SDKs are most of the build time.
# No netgo tag (CGO_ENABLED=0 already gives the pure-Go resolver): it changes package net, so
# every package above it would compile again instead of reusing the control plane's and Helm's
# (promtool/go.mod requires the control plane's k8s.io versions for the same reason).
if ! (cd "$src" && nice -n 10 go build -trimpath -tags remove_all_sd \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
      -o "$tmp" github.com/prometheus/prometheus/cmd/promtool) >&2; then
  log "building promtool failed"
  exit 1
fi
chmod +x "$tmp"
mv "$tmp" "$out/promtool"   # atomic: a concurrent build finds a whole binary or none
log "built promtool $version in $((SECONDS - started))s into $out"
echo "$out/promtool"
