// The legacy `system:node` ClusterRoleBinding. The API server bootstraps it with
// no subjects (it grants nothing) for clusters upgraded from before v1.8; the
// seed's interim fix added Group system:nodes to it. With that subject every
// kubelet may read every Secret, so once the Node authorizer works it should go.
// https://kubernetes.io/docs/reference/access-authn-authz/rbac/#core-component-roles

export const BINDING_NAME = 'system:node';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGER = 'authpolicy-operator';

export interface Subject {
  kind: string;
  name: string;
  apiGroup?: string;
  namespace?: string;
}

export interface LegacyBinding {
  /** resourceVersion and uid: what the plan judged, carried by its writes as their preconditions */
  metadata: { name: string; resourceVersion: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: Subject[];
}

/**
 * absent: no binding, or the bootstrap one with no subjects (grants nothing);
 * legacy: exactly roleRef ClusterRole system:node and subjects [Group system:nodes];
 * extraSubjects: Group system:nodes plus others; drifted: anything else.
 */
export type BindingState = 'absent' | 'legacy' | 'extraSubjects' | 'drifted';

const isNodesGroup = (s: Subject): boolean => s.kind === 'Group' && s.name === 'system:nodes';

export function classifyBinding(binding: LegacyBinding | undefined): BindingState {
  if (!binding || binding.subjects.length === 0) return 'absent';
  if (binding.roleRef.kind !== 'ClusterRole' || binding.roleRef.name !== 'system:node') return 'drifted';
  if (binding.subjects.length === 1 && binding.subjects[0] && isNodesGroup(binding.subjects[0])) return 'legacy';
  if (binding.subjects.some(isNodesGroup)) return 'extraSubjects';
  return 'drifted';
}

export function managedByUs(binding: LegacyBinding | undefined): boolean {
  return binding?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGER;
}

export function describeSubjects(subjects: readonly Subject[]): string {
  return subjects.length === 0 ? 'none' : subjects.map((s) => `${s.kind} ${s.namespace ? `${s.namespace}/` : ''}${s.name}`).join(', ');
}

/** The exact legacy shape, labelled as ours, on top of whatever else the object carries. */
export function desiredBinding(existing: LegacyBinding | undefined, policyName: string): Record<string, unknown> {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: {
      ...(existing?.metadata ?? {}),
      name: BINDING_NAME,
      labels: { ...(existing?.metadata.labels ?? {}), [MANAGED_BY_LABEL]: MANAGER },
      annotations: { ...(existing?.metadata.annotations ?? {}), 'authpolicy.io/policy': policyName },
    },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
  };
}
