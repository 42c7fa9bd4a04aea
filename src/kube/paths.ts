// REST paths for the resources the operator touches.

export interface ResourceRef {
  group: string; // '' for the core group
  version: string;
  resource: string; // plural
}

export function collectionPath(ref: ResourceRef, namespace?: string): string {
  const base = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${ref.resource}` : `${base}/${ref.resource}`;
}

export function objectPath(ref: ResourceRef, name: string, namespace?: string, subresource?: string): string {
  return `${collectionPath(ref, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}

export const Resources = {
  nodes: { group: '', version: 'v1', resource: 'nodes' },
  namespaces: { group: '', version: 'v1', resource: 'namespaces' },
  secrets: { group: '', version: 'v1', resource: 'secrets' },
  serviceAccounts: { group: '', version: 'v1', resource: 'serviceaccounts' },
  configMaps: { group: '', version: 'v1', resource: 'configmaps' },
  pods: { group: '', version: 'v1', resource: 'pods' },
  events: { group: '', version: 'v1', resource: 'events' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
  clusterRoleBindings: { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings' },
  subjectAccessReviews: { group: 'authorization.k8s.io', version: 'v1', resource: 'subjectaccessreviews' },
  selfSubjectAccessReviews: { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews' },
  tokenReviews: { group: 'authentication.k8s.io', version: 'v1', resource: 'tokenreviews' },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments' },
  statefulSets: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  daemonSets: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  replicaSets: { group: 'apps', version: 'v1', resource: 'replicasets' },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs' },
  authPolicies: { group: 'authpolicy.io', version: 'v1alpha1', resource: 'authpolicies' },
  customResourceDefinitions: { group: 'apiextensions.k8s.io', version: 'v1', resource: 'customresourcedefinitions' },
} as const satisfies Record<string, ResourceRef>;
