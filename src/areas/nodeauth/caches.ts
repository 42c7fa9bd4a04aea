// What the node-authorization area caches: Nodes (name and readiness only), the
// legacy system:node binding (by name, with the resourceVersion and uid its writes
// carry as preconditions), and the API servers' identity Leases.
import { defineCache } from '../../kube/cache-spec.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';
import { BINDING_NAME, type LegacyBinding } from './binding.ts';
export { apiserverIdentityCache } from '../../kube/apiserver-identity.ts';

export type NodeReadiness = 'True' | 'False' | 'Unknown';

export interface CachedNode {
  metadata: { name: string; resourceVersion?: string };
  ready: NodeReadiness;
}

export const nodeCache = defineCache<CachedNode>({
  name: 'nodes',
  path: collectionPath(Resources.nodes),
  transform: (raw) => {
    const n = raw as { metadata: { name: string; resourceVersion?: string }; status?: { conditions?: { type: string; status: NodeReadiness }[] } };
    return {
      metadata: { name: n.metadata.name, resourceVersion: n.metadata.resourceVersion },
      ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
    };
  },
  // Heartbeats change resourceVersion all the time; only readiness matters here.
  relevant: (type, obj, old) => type !== 'update' || obj.ready !== old?.ready,
});

/** The binding as the rules read it (from the cache, or from a fresh GET after a write found it changed). */
export function cachedBinding(raw: unknown): LegacyBinding {
  const b = raw as Omit<LegacyBinding, 'subjects'> & { subjects?: LegacyBinding['subjects'] };
  return {
    metadata: {
      name: b.metadata.name,
      resourceVersion: b.metadata.resourceVersion,
      uid: b.metadata.uid,
      labels: b.metadata.labels ?? {},
      annotations: b.metadata.annotations ?? {},
    },
    roleRef: b.roleRef,
    subjects: b.subjects ?? [],
  };
}

export const bindingCache = defineCache<LegacyBinding>({
  name: 'system-node-binding',
  path: collectionPath(Resources.clusterRoleBindings),
  fieldSelector: `metadata.name=${BINDING_NAME}`,
  transform: cachedBinding,
});
