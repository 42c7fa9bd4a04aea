// Observations for the node-authorization unit tests (plan, rules, evidence).
import type { LegacyBinding, Subject } from '../../../src/areas/nodeauth/binding.ts';
import type { NodeAuthObservation } from '../../../src/areas/nodeauth/observe.ts';
import { kubeletChecks, type GrantedBy } from '../../../src/areas/nodeauth/probe.ts';

export const nodesGroup: Subject = { kind: 'Group', name: 'system:nodes', apiGroup: 'rbac.authorization.k8s.io' };
export const alice: Subject = { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' };
export const binding = (subjects: Subject[], labels: Record<string, string> = {}): LegacyBinding => ({
  metadata: { name: 'system:node', resourceVersion: '1', uid: 'uid-1', labels },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
  subjects,
});

export const NO_METRICS: NodeAuthObservation['authorizerMetrics'] = { readable: false, why: 'not permitted', at: 'now' };

export function observation(
  by: GrantedBy,
  b: LegacyBinding | undefined,
  flags: NodeAuthObservation['flags'] = { source: 'unknown' },
  extra: Partial<NodeAuthObservation> = {},
): NodeAuthObservation {
  return {
    nodeCount: 1,
    notReady: ['node-a'],
    syntheticProbe: false,
    probeTime: 'now',
    binding: b,
    flags,
    authorizerMetrics: NO_METRICS,
    nodeRestrictionProbe: undefined,
    ...extra,
    probed: [
      {
        node: 'node-a',
        results: kubeletChecks('node-a').map((c) => ({ check: c.name, allowed: by !== 'Denied', grantedBy: by, reason: '', nodeScoped: c.nodeScoped })),
      },
    ],
  };
}
