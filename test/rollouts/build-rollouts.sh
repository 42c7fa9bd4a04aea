#!/usr/bin/env bash
# Builds the real Argo Rollouts controller (github.com/argoproj/argo-rollouts/cmd/rollouts-controller,
# the version test/rollouts/build/go.mod pins) from the Go module proxy, and copies the module's own CRDs
# (manifests/crds/*-crd.yaml) beside it, into a cache keyed by the module's content and the Go version.
# Prints the directory (rollouts-controller, crds/) as its last line of stdout.
# First build: about 3-5 minutes on 2 cores; with the cache present: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}

command -v go >/dev/null || { echo "build-rollouts: Go is required (go 1.26+ on PATH)" >&2; exit 1; }
# argo-rollouts v1.10.2's go.mod needs Go 1.26.10; the go command fetches this toolchain from the
# module proxy (the project's only Go download source) when the local one is older.
export GOTOOLCHAIN=go1.27.3 CGO_ENABLED=0 GOFLAGS=-buildvcs=false

src="$here/build"
module=github.com/argoproj/argo-rollouts
key=$( { (cd "$src" && go version); cat "${BASH_SOURCE[0]}" "$src/go.mod" "$src/go.sum"; } | sha256sum | cut -c1-16)
out="$cache_root/rollouts/$key"
log() { echo "build-rollouts: $*" >&2; }

if [[ -x "$out/rollouts-controller" && -f "$out/crds/rollout-crd.yaml" ]]; then
  log "cached: $out"
  echo "$out"; exit 0
fi
mkdir -p "$out"
version=$(cd "$src" && go list -m -f '{{.Version}}' "$module")
released=$(cd "$src" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$module")
started=$SECONDS
tmp=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building rollouts-controller $version (a few minutes the first time) ..."
# The controller logs utils/version's fields at start; stamp them like upstream's Makefile (its VERSION file has
# no "v"), with the module's release time as build date. The module carries no commit, so it says v1.10.2+unknown.
# A test tool, compiled without optimizations or inlining (-N -l): about 30 % less compile CPU on a cold CI
# (docs/development.md#ci); the control plane and the kubelet, whose speed the tests feel, stay optimized.
if ! (cd "$src" && nice -n 10 go build -trimpath -gcflags "all=-N -l" \
      -ldflags "-s -w -X $module/utils/version.version=${version#v} -X $module/utils/version.buildDate=$released" \
      -o "$tmp/rollouts-controller" "$module/cmd/rollouts-controller") >&2; then
  log "building rollouts-controller failed"
  exit 1
fi
# The CRDs as the module ships them (what `kubectl apply -k manifests/crds` installs upstream).
dir=$(cd "$src" && go list -m -f '{{.Dir}}' "$module")
mkdir -p "$tmp/crds"
cp "$dir"/manifests/crds/*-crd.yaml "$tmp/crds/"
chmod -R u+w "$tmp/crds"
rm -rf "$out/crds"
mv "$tmp/crds" "$out/crds"
mv "$tmp/rollouts-controller" "$out/rollouts-controller"   # last: its presence marks a whole cache entry
log "built rollouts-controller $version in $((SECONDS - started))s into $out"
echo "$out"
