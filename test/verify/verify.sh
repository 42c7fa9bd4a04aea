#!/usr/bin/env bash
# `make verify`, the first step of CI: lint (ESLint), formatting (Prettier), types (tsc over
# src, test, scripts and bench), the generated API types fresh, and the architecture rules
# (test/verify/). Runs every step even after a failure, then names each failed step and the
# files it blamed, so on a tree several people edit it is clear whose files fail.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
failed=()
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# step <name> <sed expression that turns an output line into a file path, or ''> <command...>
step() {
  local name=$1 files=$2 t=$SECONDS
  shift 2
  echo "verify: $name ..."
  if "$@" >"$out" 2>&1; then
    echo "verify: $name ok ($((SECONDS - t)) s)"
    return
  fi
  cat "$out"
  local blamed=""
  [[ -n $files ]] && blamed=$(sed -nE "$files" "$out" | sed "s#^$PWD/##" | sort -u | tr '\n' ' ')
  failed+=("$name${blamed:+: $blamed}")
  echo "verify: $name FAILED ($((SECONDS - t)) s)"
}

step 'ESLint' 's#^(/[^ ]+\.(ts|js))$#\1#p' npx eslint .
step 'Prettier' 's#^(.+\.(ts|js))$#\1#p' npx prettier --list-different '**/*.{ts,js}'
step 'tsc --noEmit' 's#^([^(: ]+)\([0-9]+,[0-9]+\): error.*#\1#p' npx tsc --noEmit -p tsconfig.json
step 'generated API types' 's#^([^:]+):[0-9]+: stale.*#\1#p' node test/verify/generated-types.ts
step 'architecture rules' 's#^ *FAIL +([^ ]+).*#\1#p' node test/run.ts test/verify/

if ((${#failed[@]})); then
  echo
  echo "verify: ${#failed[@]} step(s) failed:"
  for f in "${failed[@]}"; do echo "  $f"; done
  exit 1
fi
echo "verify: all steps passed"
