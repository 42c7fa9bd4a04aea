#!/usr/bin/env bash
# Builds the pinned control-plane binaries (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok) from the Go wrapper modules beside this
# script, into a cache keyed by the modules' content and the Go version.
# Prints the directory holding the binaries as its last line of stdout.
# First build: ~15-25 min on 2 cores; with the cache present: well under a second.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}

command -v go >/dev/null || { echo "build-binaries: Go is required (go 1.26+ on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

key=$( { go version; cat "${BASH_SOURCE[0]}"; for m in k8s etcd kwok; do cat "$here/$m"/go.mod "$here/$m"/go.sum "$here/$m"/*.go; done; } | sha256sum | cut -c1-16)
out="$cache_root/bin/$key"
log() { echo "build-binaries: $*" >&2; }

mod_version() { (cd "$here/$1" && go list -m -f '{{.Version}}' "$2"); }
k8s_version=$(mod_version k8s k8s.io/kubernetes)
etcd_version=$(mod_version etcd go.etcd.io/etcd/server/v3)
kwok_version=$(mod_version kwok sigs.k8s.io/kwok)
[[ $k8s_version == v1.* ]] || { log "could not read the k8s.io/kubernetes version from $here/k8s/go.mod"; exit 1; }

if [[ -f "$out/.complete" ]]; then
  log "cached: kubernetes $k8s_version, etcd $etcd_version, kwok $kwok_version in $out"
  echo "$out"; exit 0
fi
mkdir -p "$out.tmp"
started=$SECONDS

build() { # name, module dir, package, ldflags
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-} t=$SECONDS ticks=0
  local buildlog="$out.tmp/$name.build.log"
  log "building $name ($pkg) ..."
  (cd "$dir" && exec go build -v -trimpath -ldflags "-s -w $ldflags" -o "$out.tmp/$name" "$pkg") 2>"$buildlog" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    if (( ++ticks % 15 == 0 )) && kill -0 "$pid" 2>/dev/null; then
      log "  $name: $(wc -l <"$buildlog") packages compiled after $((SECONDS - t))s"
    fi
  done
  if ! wait "$pid"; then
    tail -30 "$buildlog" >&2
    log "building $name failed (full log: $buildlog)"
    exit 1
  fi
  rm -f "$buildlog"
  log "built $name in $((SECONDS - t))s"
}

# Stamp the version like upstream hack/lib/version.sh, so /version is not v0.0.0-master.
major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}
vflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  vflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# k8s first: kwok/go.mod requires the k8s module's versions of what both use (client-go, apimachinery,
# grpc, otel, cel-go...), so kwok then compiles little more than itself from Go's build cache.
build k8s "$here/k8s" . "$vflags"
build kwok "$here/kwok" sigs.k8s.io/kwok/cmd/kwok
build etcd "$here/etcd" go.etcd.io/etcd/server/v3
for n in kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf k8s "$out.tmp/$n"; done

"$out.tmp/kube-apiserver" --version >&2
"$out.tmp/etcd" --version | sed -n 1p >&2   # sed reads it all: head would end the pipe early (SIGPIPE under pipefail)
touch "$out.tmp/.complete"
rm -rf "$out"; mv "$out.tmp" "$out"
log "all binaries built in $((SECONDS - started))s into $out"
echo "$out"
