// Asks the API server, with SubjectAccessReviews, whether a kubelet identity
// (system:node:<name>, groups system:nodes + system:authenticated) may do what a
// kubelet must, and which authorizer said so. Verified against kube-apiserver
// 1.37: the Node authorizer allows with an empty reason and denies with a
// reason starting "node:"; RBAC allows with `RBAC: allowed by ClusterRoleBinding
// "x" of ClusterRole "y" to Group "z"`. The Node authorizer lets a kubelet list
// and watch only its own Node (a metadata.name field selector, which the API
// server authorizes as a named list/watch), as the kubelet does.
// https://kubernetes.io/docs/reference/access-authn-authz/node/
import type { KubeClient } from '../../kube/client.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';

export interface KubeletCheck {
  /** e.g. "get nodes/node-a" */
  name: string;
  resourceAttributes: Record<string, unknown>;
  /** the Node authorizer decides it (so an RBAC answer means the legacy binding or another grant) */
  nodeScoped: boolean;
}

export type GrantedBy = 'Node' | 'RBAC' | 'Other' | 'Denied';

export interface CheckResult {
  check: string;
  allowed: boolean;
  grantedBy: GrantedBy;
  reason: string;
  nodeScoped: boolean;
}

export interface NodeProbe {
  node: string;
  results: CheckResult[];
}

/** The requests a kubelet makes to become and stay Ready (the kubelets-forbidden incident's errors are the first five). */
export function kubeletChecks(node: string): KubeletCheck[] {
  const lease = { group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease', name: node };
  return [
    { name: `get nodes/${node}`, resourceAttributes: { verb: 'get', resource: 'nodes', name: node }, nodeScoped: true },
    // The kubelet lists and watches its own Node with fieldSelector metadata.name=<node>;
    // the API server authorizes that as list/watch with the name set, and so must the review.
    { name: `list nodes/${node}`, resourceAttributes: { verb: 'list', resource: 'nodes', name: node }, nodeScoped: true },
    { name: `watch nodes/${node}`, resourceAttributes: { verb: 'watch', resource: 'nodes', name: node }, nodeScoped: true },
    { name: `patch nodes/${node}/status`, resourceAttributes: { verb: 'patch', resource: 'nodes', subresource: 'status', name: node }, nodeScoped: true },
    { name: `get leases/${node}`, resourceAttributes: { verb: 'get', ...lease }, nodeScoped: true },
    { name: `create leases/${node}`, resourceAttributes: { verb: 'create', ...lease }, nodeScoped: true },
    { name: `update leases/${node}`, resourceAttributes: { verb: 'update', ...lease }, nodeScoped: true },
    { name: 'create events', resourceAttributes: { verb: 'create', resource: 'events', namespace: 'default' }, nodeScoped: true },
  ];
}

/** Which authorizer answered, from a SubjectAccessReview status. */
export function grantedBy(status: { allowed?: boolean; reason?: string }): GrantedBy {
  if (!status.allowed) return 'Denied';
  const reason = status.reason ?? '';
  if (reason === '') return 'Node';
  if (reason.startsWith('RBAC:')) return 'RBAC';
  return 'Other';
}

/**
 * Runs every kubelet check for each node: the first one alone, then the rest concurrently. SARs = nodes × checks,
 * except that an API server refusing reviews (a grant missing, or one still warming up after a restart) costs
 * one request, not nodes × checks: the first failure is thrown before the others are sent.
 */
export async function probeKubelets(client: KubeClient, nodes: readonly string[]): Promise<NodeProbe[]> {
  const path = collectionPath(Resources.subjectAccessReviews);
  const review = async (node: string, check: KubeletCheck): Promise<CheckResult> => {
    const answer = await client.create<{ status?: { allowed?: boolean; reason?: string } }>(path, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: `system:node:${node}`, groups: ['system:nodes', 'system:authenticated'], resourceAttributes: check.resourceAttributes },
    });
    const status = answer.status ?? {};
    return {
      check: check.name,
      allowed: status.allowed === true,
      grantedBy: grantedBy(status),
      reason: status.reason ?? '',
      nodeScoped: check.nodeScoped,
    };
  };
  const [firstNode] = nodes;
  const firstCheck = firstNode === undefined ? undefined : kubeletChecks(firstNode)[0];
  const first = firstNode !== undefined && firstCheck ? await review(firstNode, firstCheck) : undefined;
  return await Promise.all(
    nodes.map(async (node, i) => ({
      node,
      results: await Promise.all(kubeletChecks(node).map(async (check, j) => (i === 0 && j === 0 && first ? first : await review(node, check)))),
    })),
  );
}
