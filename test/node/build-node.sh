#!/usr/bin/env bash
# Builds what a real test node runs beside the kwok ones: the kubelet (k8s.io/kubernetes,
# the same version as the control plane), containerd + its runc shim + ctr, the CNI
# loopback plugin containerd needs to report its network ready, and two images as OCI archives
# (a pause image and `tokencall`, which calls the API server with a mounted token),
# all from the Go wrapper modules under build/. runc comes from Debian (apt-get).
# Cached under <cache>/node/<hash of the modules, this script and the Go version>;
# prints that directory as its last line of stdout.
# First build: see docs/real-node.md for the measured time; cached: instant.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${AUTHPOLICY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/authpolicy-operator}
log() { echo "build-node: $*" >&2; }

command -v go >/dev/null || { log "Go is required (go 1.26+ on PATH)"; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# Debian's runc and umoci (the image tests use both), installed when missing through the one locked apt-get.
bash "$here/../../scripts/apt-install.sh" runc=runc umoci=umoci

key=$( { go version; go env GOARCH; cat "${BASH_SOURCE[0]}";
         cd "$here/build" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs cat; } |
       sha256sum | cut -c1-16)
out="$cache_root/node/$key"
mkdir -p "$cache_root/node"
exec 9>"$out.lock"
flock 9   # two e2e files starting at once: one builds, the other waits and finds the cache
if [[ -f "$out/.complete" ]]; then
  log "cached: $out"
  echo "$out"; exit 0
fi
rm -rf "$out.tmp"; mkdir -p "$out.tmp"/{bin,cni,images}
started=$SECONDS

build() { # module dir (under build/), output, package, [ldflags], [tags]
  local dir=$1 output=$2 pkg=$3 ldflags=${4:-} tags=${5:-} t=$SECONDS
  log "building $(basename "$output") ($pkg) ..."
  # Only containerd takes build tags: the kubelet's packages are then the very ones build-binaries.sh
  # compiled for the control plane (same flags), found in Go's build cache. The rest are compiled without
  # optimizations or inlining (-N -l): about 30 % less compile CPU on a cold CI (docs/development.md#ci).
  local gcflags=(-gcflags "all=-N -l")
  [[ $dir == kubelet ]] && gcflags=()
  if ! (cd "$here/build/$dir" && nice -n 10 go build -trimpath "${gcflags[@]}" -ldflags "-s -w $ldflags" ${tags:+-tags "$tags"} -o "$output" "$pkg") >"$out.tmp/build.log" 2>&1; then
    tail -30 "$out.tmp/build.log" >&2
    log "building $pkg failed"
    exit 1
  fi
  log "built $(basename "$output") in $((SECONDS - t))s"
}
mod_version() { (cd "$here/build/$1" && go list -m -f '{{.Version}}' "$2"); }

ctrd=github.com/containerd/containerd/v2
ctrd_version=$(mod_version containerd $ctrd)
cflags="-X $ctrd/version.Version=$ctrd_version -X $ctrd/version.Revision=module-proxy"
for c in containerd containerd-shim-runc-v2 ctr; do build containerd "$out.tmp/bin/$c" "$ctrd/cmd/$c" "$cflags" no_btrfs; done
# The loopback plugin only: the test Pods use the host's network (see test/node/node-config.ts cniConfig).
build cni "$out.tmp/cni/loopback" github.com/containernetworking/plugins/plugins/main/loopback
for c in pause tokencall; do build images "$out.tmp/images/$c" "./$c"; done

# The kubelet, stamped like upstream hack/lib/version.sh (build-binaries.sh does the same).
k8s_version=$(mod_version kubelet k8s.io/kubernetes)
major=${k8s_version#v}; major=${major%%.*}
minor=${k8s_version#v*.}; minor=${minor%%.*}
vflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  vflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  vflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
build kubelet "$out.tmp/bin/kubelet" k8s.io/kubernetes/cmd/kubelet "$vflags"

# Images: one static binary each, in an OCI layout assembled by umoci, archived for `ctr images import`.
created=1970-01-01T00:00:00Z
for c in pause tokencall; do
  work="$out.tmp/images/$c.work"; layout="$work/oci"
  mkdir -p "$work/root"; mv "$out.tmp/images/$c" "$work/root/$c"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/root" -cf "$work/layer.tar" .
  umoci init --layout "$layout"
  umoci new --image "$layout:1"
  umoci raw add-layer --image "$layout:1" --history.created "$created" --history.created_by "test/node/build/images/$c" "$work/layer.tar"
  umoci config --image "$layout:1" --created "$created" --history.created "$created" --history.created_by config \
    --os linux --architecture "$(go env GOARCH)" --config.user 65532:65532 --config.entrypoint "/$c"
  umoci gc --layout "$layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$layout" -cf "$out.tmp/images/$c.tar" .
  rm -rf "$work"
done
rm -f "$out.tmp/build.log"
"$out.tmp/bin/kubelet" --version >&2
"$out.tmp/bin/containerd" --version >&2
touch "$out.tmp/.complete"
rm -rf "$out"; mv "$out.tmp" "$out"
log "node built in $((SECONDS - started))s into $out"
echo "$out"
