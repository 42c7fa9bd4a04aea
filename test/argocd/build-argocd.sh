#!/usr/bin/env bash
# Builds what the Argo CD e2e tests run, from the Go module proxy, into a cache
# keyed by the wrapper modules' content and the Go version; prints that folder
# as its last line of stdout:
#   argocd-lite         Argo CD's application-controller and repo-server commands, upstream's own
#                       (build/argocd-lite: the multi-call main cut to those two, so the API server,
#                       UI, CLI, notifications and ApplicationSet are not compiled; build/go.mod pins
#                       v3.2.11), version-stamped like upstream's release
#   argocd-health-test  runs a health.lua through Argo CD's own util/lua (build/health-test)
#   kustomize           the kustomize Argo CD v3.2.11 ships (kustomize/go.mod), for its repo-server
#   crds/, config/      Argo CD's CRDs and its base ConfigMaps and Secret (argocd-cm, ...) from the
#                       module's manifests/, as its install.yaml holds them (with argocd-lite)
#   redis-server        Debian's redis (redis-tools holds the server binary as redis-check-rdb,
#                       which serves when called redis-server; the redis-server package would
#                       also start a machine-wide daemon, so it is not installed)
# git comes from Debian too. Both are installed with apt-get when missing.
# `build-argocd.sh argocd-health-test` builds only what is named. argocd-lite and
# argocd-health-test share one `go build` when both are missing, so common packages compile once.
# First build of argocd-lite: see docs/argocd.md for the measured time; with the cache present: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}
log() { echo "build-argocd: $*" >&2; }

command -v go >/dev/null || { log "Go is required (go 1.26+ on PATH)"; exit 1; }
bash "$here/../../scripts/apt-install.sh" git=git redis-check-rdb=redis-tools
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

key=$( {
  go version
  cat "${BASH_SOURCE[0]}" "$here"/build/go.{mod,sum} "$here"/build/health-test/*.go "$here"/build/argocd-lite/*.go "$here"/kustomize/go.{mod,sum}
} | sha256sum | cut -c1-16)
out="$cache_root/argocd/$key"

# What to build: the arguments (argocd-lite argocd-health-test kustomize redis-server), all by default.
targets=("$@")
((${#targets[@]})) || targets=(argocd-lite argocd-health-test kustomize redis-server)
missing=()
for t in "${targets[@]}"; do [[ -e "$out/$t" ]] || missing+=("$t"); done
if ((${#missing[@]} == 0)); then
  log "cached: $out (${targets[*]})"
  echo "$out"; exit 0
fi
mkdir -p "$out"
started=$SECONDS
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The Go programs of the wrapper module build/, in one `go build` so shared packages compile once.
gotargets=()
for t in "${missing[@]}"; do
  case $t in
    argocd-lite) gotargets+=(./argocd-lite) ;;
    argocd-health-test) gotargets+=(./health-test) ;;
    kustomize | redis-server) ;;
    *) log "unknown target $t (argocd-lite, argocd-health-test, kustomize, redis-server)"; exit 2 ;;
  esac
done
if ((${#gotargets[@]})); then
  version=$(cd "$here/build" && go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v3)
  kubectl_version=$(cd "$here/build" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' k8s.io/kubectl)
  released=$(cd "$here/build" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' github.com/argoproj/argo-cd/v3)
  # Stamped like upstream's Makefile (LDFLAGS), so the version logged is the release, not v99.99.99.
  # The module proxy gives no commit: gitCommit stays empty and the version reads v3.2.11+unknown.
  pkg=github.com/argoproj/argo-cd/v3/common
  ldflags="-s -w -X $pkg.version=${version#v} -X $pkg.buildDate=$released -X $pkg.kubectlVersion=$kubectl_version"
  log "building ${gotargets[*]} of Argo CD $version (long the first time on 2 busy cores) ..."
  mkdir -p "$tmp/go"
  # A test tool, compiled without optimizations or inlining (-N -l): about 30 % less compile CPU on a cold CI
  # (docs/development.md#ci); the control plane and the kubelet, whose speed the tests feel, stay optimized.
  (cd "$here/build" && nice -n 10 go build -trimpath -gcflags "all=-N -l" -ldflags "$ldflags" -o "$tmp/go/" "${gotargets[@]}") >&2 ||
    { log "building ${gotargets[*]} of Argo CD $version failed"; exit 1; }
fi

for t in "${missing[@]}"; do
  case $t in
    argocd-lite)
      mv "$tmp/go/argocd-lite" "$tmp/$t"
      # Argo CD's CRDs and base configuration, as its install.yaml holds them.
      module=$(cd "$here/build" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
      for d in crds base/config; do
        mkdir -p "$tmp/$(basename $d)" && cp "$module"/manifests/$d/*.yaml "$tmp/$(basename $d)/" && rm "$tmp/$(basename $d)/kustomization.yaml"
      done
      chmod -R u+w "$tmp"
      rm -rf "$out/crds" "$out/config"
      mv "$tmp/crds" "$tmp/config" "$out/" ;;
    argocd-health-test)
      mv "$tmp/go/health-test" "$tmp/$t" ;;
    kustomize)
      (cd "$here/kustomize" && nice -n 10 go build -trimpath -gcflags "all=-N -l" -ldflags "-s -w" -o "$tmp/$t" sigs.k8s.io/kustomize/kustomize/v5) >&2 ||
        { log "building kustomize failed"; exit 1; } ;;
    redis-server)
      ln -s "$(command -v redis-check-rdb)" "$tmp/$t" ;;
  esac
  mv -f "$tmp/$t" "$out/$t"   # atomic: a concurrent build finds a whole binary or none
done
log "built ${missing[*]} in $((SECONDS - started))s into $out"
echo "$out"
