#!/usr/bin/env bash
# Builds the image's signing tools from the Go module proxy, at the versions the
# wrapper module image/cosign/go.mod pins as `tool`s: cosign (sign, attest,
# verify), and go-containerregistry's registry (an OCI registry served on
# loopback for cosign to sign against) and crane (pushes the OCI layout's index
# to it). Cached under ~/.cache/authpolicy-operator/cosign/<key>, keyed by the
# module's content and the Go version. Prints the directory holding the three
# binaries as its last line of stdout.
# First build: ~10-15 min on 2 cores; with the cache present: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}

command -v go >/dev/null || { echo "build-cosign: Go is required (go 1.26+ on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

src="$here/cosign"
key=$( { go version; cat "${BASH_SOURCE[0]}" "$src/go.mod" "$src/go.sum"; } | sha256sum | cut -c1-16)
out="$cache_root/cosign/$key"
log() { echo "build-cosign: $*" >&2; }

if [[ -f "$out/.complete" ]]; then
  log "cached: $out"
  echo "$out"; exit 0
fi
mkdir -p "$out"
version=$(cd "$src" && go list -m -f '{{.Version}}' github.com/sigstore/cosign/v2)
ggcr=$(cd "$src" && go list -m -f '{{.Version}}' github.com/google/go-containerregistry)
started=$SECONDS
build() { # name, package, ldflags
  local tmp
  tmp=$(mktemp "$out/$1.XXXXXX")
  log "building $1 ($2) ..."
  # Compiled without optimizations or inlining (-N -l): about 30 % less compile CPU on a cold CI
  # (docs/development.md#ci); signing one image takes a second either way, and the signature is the same.
  if ! (cd "$src" && nice -n 10 go build -trimpath -gcflags "all=-N -l" -ldflags "-s -w ${3:-}" -o "$tmp" "$2") >&2; then
    rm -f "$tmp"; log "building $1 failed"; exit 1
  fi
  chmod +x "$tmp"
  mv "$tmp" "$out/$1"   # atomic: a concurrent build finds a whole binary or none
}
# cosign's `version` reads sigs.k8s.io/release-utils/version.gitVersion; stamp it like upstream's Makefile.
build cosign github.com/sigstore/cosign/v2/cmd/cosign "-X sigs.k8s.io/release-utils/version.gitVersion=$version"
build registry github.com/google/go-containerregistry/cmd/registry
build crane github.com/google/go-containerregistry/cmd/crane
touch "$out/.complete"
log "built cosign $version, registry and crane $ggcr in $((SECONDS - started))s into $out"
echo "$out"
