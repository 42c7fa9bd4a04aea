#!/usr/bin/env bash
# Builds what the Argo CD e2e tests run, from the Go module proxy, into a cache
# keyed by the wrapper modules' content and the Go version; prints that folder
# as its last line of stdout:
#   argocd              the multi-call binary of github.com/argoproj/argo-cd/v3 (build/go.mod
#                       pins v3.2.11): application-controller, repo-server, admin, ...
#   argocd-health-test  runs a health.lua through Argo CD's own util/lua (build/health-test)
#   kustomize           the kustomize Argo CD v3.2.11 ships (kustomize/go.mod), for its repo-server
#   crds/, config/      Argo CD's CRDs and its base ConfigMaps and Secret (argocd-cm, ...) from the
#                       module's manifests/, as its install.yaml holds them
#   redis-server        Debian's redis (redis-tools holds the server binary as redis-check-rdb,
#                       which serves when called redis-server; the redis-server package would
#                       also start a machine-wide daemon, so it is not installed)
# git comes from Debian too. Both are installed with apt-get when missing.
# `build-argocd.sh argocd-health-test` builds only what is named (the integration tier needs
# only the health-check runner). First build of argocd: 40-60 minutes on 2 cores busy with
# other builds and tests; the others a few minutes; with the cache present: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}
log() { echo "build-argocd: $*" >&2; }

command -v go >/dev/null || { log "Go is required (go 1.26+ on PATH)"; exit 1; }
bash "$here/../../scripts/apt-install.sh" git=git redis-check-rdb=redis-tools
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

key=$( {
  go version
  cat "${BASH_SOURCE[0]}" "$here"/build/go.{mod,sum} "$here"/build/health-test/*.go "$here"/kustomize/go.{mod,sum}
} | sha256sum | cut -c1-16)
out="$cache_root/argocd/$key"

# What to build: the arguments (argocd argocd-health-test kustomize redis-server), all by default.
targets=("$@")
((${#targets[@]})) || targets=(argocd-health-test kustomize redis-server argocd)
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

for t in "${missing[@]}"; do
  case $t in
    argocd)
      version=$(cd "$here/build" && go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v3)
      kubectl_version=$(cd "$here/build" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' k8s.io/kubectl)
      released=$(cd "$here/build" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' github.com/argoproj/argo-cd/v3)
      # Stamped like upstream's Makefile (LDFLAGS), so `argocd version` names the release, not v99.99.99.
      # The module proxy gives no commit: gitCommit stays empty and the version reads v3.2.11+unknown.
      pkg=github.com/argoproj/argo-cd/v3/common
      ldflags="-s -w -X $pkg.version=${version#v} -X $pkg.buildDate=$released -X $pkg.kubectlVersion=$kubectl_version"
      log "building argocd $version (40-60 minutes the first time on 2 busy cores) ..."
      (cd "$here/build" && nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$tmp/argocd" github.com/argoproj/argo-cd/v3/cmd) >&2 ||
        { log "building argocd $version failed"; exit 1; }
      # Argo CD's CRDs and base configuration, as its install.yaml holds them.
      module=$(cd "$here/build" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3)
      for d in crds base/config; do
        mkdir -p "$tmp/$(basename $d)" && cp "$module"/manifests/$d/*.yaml "$tmp/$(basename $d)/" && rm "$tmp/$(basename $d)/kustomization.yaml"
      done
      chmod -R u+w "$tmp"
      rm -rf "$out/crds" "$out/config"
      mv "$tmp/crds" "$tmp/config" "$out/" ;;
    argocd-health-test)
      (cd "$here/build" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tmp/$t" ./health-test) >&2 ||
        { log "building argocd-health-test failed"; exit 1; } ;;
    kustomize)
      (cd "$here/kustomize" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tmp/$t" sigs.k8s.io/kustomize/kustomize/v5) >&2 ||
        { log "building kustomize failed"; exit 1; } ;;
    redis-server)
      ln -s "$(command -v redis-check-rdb)" "$tmp/$t" ;;
    *) log "unknown target $t (argocd, argocd-health-test, kustomize, redis-server)"; exit 2 ;;
  esac
  mv -f "$tmp/$t" "$out/$t"   # atomic: a concurrent build finds a whole binary or none
done
log "built ${missing[*]} in $((SECONDS - started))s into $out"
echo "$out"
