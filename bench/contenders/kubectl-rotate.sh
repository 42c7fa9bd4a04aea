#!/usr/bin/env bash
# The seeds' procedure (seed 003) as an admin would script it with kubectl: delete the
# dead legacy token Secrets, recreate them under the same names (nothing recreates a
# manually made legacy token Secret since v1.24; the tokens controller fills the new
# one), wait until each holds a token, then restart the Deployments that mount them.
# PARALLELISM namespaces at a time. Usage: kubectl-rotate.sh KUBECTL KUBECONFIG PARALLELISM NAMESPACE...
set -euo pipefail
kubectl=$1 kubeconfig=$2 parallelism=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export kubectl kubeconfig work

rotate_namespace() {
  local ns=$1 k="$kubectl --kubeconfig=$kubeconfig -n $1"
  $k get secrets --field-selector type=kubernetes.io/service-account-token -o json >"$work/$ns.json"
  jq '{apiVersion: "v1", kind: "List", items: [.items[] | {apiVersion: "v1", kind: "Secret", type: .type,
        metadata: {name: .metadata.name, namespace: .metadata.namespace, labels: .metadata.labels,
          annotations: {"kubernetes.io/service-account.name": .metadata.annotations["kubernetes.io/service-account.name"]}}}]}' \
    "$work/$ns.json" >"$work/$ns.new.json"
  local names
  names=$(jq -r '[.items[].metadata.name] | join(" ")' "$work/$ns.json")
  [ -n "$names" ] || return 0
  $k delete secret $names --wait=false >/dev/null
  $k create -f "$work/$ns.new.json" >/dev/null
  # wait (polling every second, 10 minutes at most) until every recreated Secret holds a token: one LIST of the
  # namespace's token Secrets a poll (`get secrets NAME...` would send one GET per name)
  local i
  for i in $(seq 600); do
    if $k get secrets --field-selector type=kubernetes.io/service-account-token -o json |
      jq -e --arg names "$names" '($names | split(" ")) as $s | [.items[] | select(.metadata.name as $n | $s | index([$n]) != null)]
        | length == ($s | length) and all(.data.token != null)' >/dev/null; then break; fi
    sleep 1
  done
  # restart the Deployments whose pod template uses one of them (volume, projected source, env, envFrom)
  local deps
  deps=$($k get deployments -o json | jq -r --arg names "$names" '($names | split(" ")) as $s | .items[]
    | select([.spec.template.spec.volumes[]? | .secret.secretName?, (.projected.sources[]? | .secret.name?)]
             + [.spec.template.spec.containers[] | (.env[]? | .valueFrom.secretKeyRef.name?), (.envFrom[]? | .secretRef.name?)]
             | any(. as $n | $s | index([$n]) != null))
    | .metadata.name' | tr '\n' ' ')
  if [ -n "${deps// /}" ]; then $k rollout restart deployment $deps >/dev/null; fi
}
export -f rotate_namespace
printf '%s\n' "$@" | xargs -P "$parallelism" -I{} bash -c 'rotate_namespace "$@"' _ {}
