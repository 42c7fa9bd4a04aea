#!/usr/bin/env bash
# Signs the image index image/build.sh made and attests its SBOM, with cosign
# (built from the Go module proxy by image/build-cosign.sh), offline: a key pair,
# no transparency log, no network but loopback. cosign signs images in a
# registry, so the index is pushed (crane) to go-containerregistry's registry
# served on localhost for the run; then
#   cosign sign                          the index (what a tag resolves to, and
#                                        what admission controllers verify)
#   cosign attest --type cyclonedx       sbom.cdx.json (both platforms') on the index
#   cosign verify, verify-attestation    with the public key, as a check
#   cosign save                          index, signature and attestation into DEST/signed
# and the registry stops with the script.
#
#   bash image/sign.sh [OUT [DEST]]   (make image; OUT defaults to image/out, DEST to OUT)
#
# The key: COSIGN_KEY (a cosign key file, or a KMS URI cosign understands) with
# COSIGN_PASSWORD; without COSIGN_KEY a throwaway key pair is generated into
# DEST/cosign.key (password empty, kept for the next run), so every `make image`
# gives a verifiable signature; a release signs with its own key. Writes
# DEST/cosign.pub (the key to verify with), DEST/signed (an OCI layout as
# `cosign save` writes it: `cosign load` pushes it, `cosign verify --local-image`
# reads it) and DEST/signed.txt (the signed index digest); prints the digest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(cd "${1:-$root/image/out}" && pwd)
dest=$(mkdir -p "${2:-$out}" && cd "${2:-$out}" && pwd)
signed=$dest/signed
log() { echo "sign: $*" >&2; }
started=$SECONDS
[[ -f $out/oci/index.json ]] || { log "no image in $out/oci: run image/build.sh (make image) first"; exit 1; }

tools=$(bash "$root/image/build-cosign.sh" | tail -1)
cosign() { "$tools/cosign" "$@"; }
tmp=$(mktemp -d)
registry_pid=
cleanup() {
  [[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -n ${COSIGN_KEY:-} ]]; then
  key=$COSIGN_KEY
  log "signing with COSIGN_KEY ($key)"
  COSIGN_PASSWORD=${COSIGN_PASSWORD-} cosign public-key --key "$key" >"$dest/cosign.pub"
else
  export COSIGN_PASSWORD=
  if [[ ! -f $dest/cosign.key ]]; then
    (cd "$tmp" && cosign generate-key-pair >/dev/null 2>&1) || { log "cosign generate-key-pair failed"; exit 1; }
    mv "$tmp/cosign.key" "$dest/cosign.key"
    mv "$tmp/cosign.pub" "$dest/cosign.pub"
  fi
  key=$dest/cosign.key
  log "no COSIGN_KEY: signing with this build's throwaway key $dest/cosign.key (verify with $dest/cosign.pub)"
fi
export COSIGN_PASSWORD=${COSIGN_PASSWORD-}

# The registry, on a free loopback port it chooses (-port 0) and names in its log.
"$tools/registry" -port 0 2>"$tmp/registry.log" &
registry_pid=$!
port=
for _ in $(seq 1 100); do # up to 10 s
  port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$tmp/registry.log" | head -1)
  [[ -z $port ]] || break
  kill -0 "$registry_pid" 2>/dev/null || { log "the loopback registry exited: $(cat "$tmp/registry.log")"; exit 1; }
  sleep 0.1
done
[[ -n $port ]] || { log "the loopback registry named no port within 10 s: $(cat "$tmp/registry.log")"; exit 1; }

tag=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).manifests[0].annotations["org.opencontainers.image.ref.name"])' "$out/oci/index.json")
repo=localhost:$port/authpolicy-operator
ref=$("$tools/crane" push "$out/oci" "$repo:$tag" 2>"$tmp/crane.log") || { log "crane push failed: $(cat "$tmp/crane.log")"; exit 1; }
index_digest=${ref#*@}
want=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).manifests[0].digest)' "$out/oci/index.json")
[[ $index_digest == "$want" ]] || { log "the registry holds $index_digest, the layout's index is $want"; exit 1; }
offline=(--tlog-upload=false)
quiet() { # runs cosign, shows its output only when it fails
  if ! cosign "$@" >"$tmp/cosign.log" 2>&1; then log "cosign $1 failed: $(tail -20 "$tmp/cosign.log")"; exit 1; fi
}
quiet sign --yes --key "$key" "${offline[@]}" "$repo@$index_digest"
quiet attest --yes --key "$key" "${offline[@]}" --type cyclonedx --predicate "$out/sbom.cdx.json" "$repo@$index_digest"
quiet verify --key "$dest/cosign.pub" --insecure-ignore-tlog "$repo@$index_digest"
quiet verify-attestation --key "$dest/cosign.pub" --insecure-ignore-tlog --type cyclonedx "$repo@$index_digest"
rm -rf "$signed"
quiet save --dir "$signed" "$repo@$index_digest"
echo "$index_digest" >"$dest/signed.txt"
log "signed and attested $index_digest in $((SECONDS - started))s into $signed; verify with $dest/cosign.pub"
echo "$index_digest"
