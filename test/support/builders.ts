// The shared test builders: objects as the API server stores them (token Secrets, workloads, the
// system:node binding, AuthPolicies and their conditions), the API's errors as the client throws
// them, and a simulated tokens controller. A builder two test files need lives here, not in each.
import * as annotations from '../../src/api/annotations.ts';
import type { Condition } from '../../src/api/conditions.ts';
import type { AuthPolicy, AuthPolicySpec } from '../../src/api/types.ts';
import type { TokenSecret } from '../../src/kube/token-secrets.ts';
import { KubeApiError, type StatusDetails } from '../../src/kube/errors.ts';
import { objectPath, Resources } from '../../src/kube/paths.ts';
import type { MemoryClient } from './memory-client.ts';

/** An AuthPolicy (default name "cluster", empty spec), with the metadata, spec and status given. */
export function authPolicy(
  options: { name?: string; generation?: number; creationTimestamp?: string; spec?: AuthPolicySpec; status?: AuthPolicy['status'] } = {},
): AuthPolicy {
  return {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: {
      name: options.name ?? 'cluster',
      ...(options.generation === undefined ? {} : { generation: options.generation }),
      ...(options.creationTimestamp === undefined ? {} : { creationTimestamp: options.creationTimestamp }),
    },
    spec: options.spec ?? {},
    ...(options.status ? { status: options.status } : {}),
  };
}

/** A status condition as the operator writes it (lastTransitionTime and observedGeneration fixed unless given). */
export function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message = 'm',
  options: { lastTransitionTime?: string; observedGeneration?: number } = {},
): Condition {
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: options.lastTransitionTime ?? '2026-01-01T00:00:00Z',
    observedGeneration: options.observedGeneration ?? 1,
  };
}

/** The reason the API server gives with each status (0: no answer at all). */
const REASON_OF: Record<number, string> = {
  0: 'NetworkError',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalError',
};

/** An error as the client throws it: `status` with its usual reason, on GET /api/v1/secrets unless told. */
export function apiError(
  status: number,
  message: string,
  options: { method?: string; path?: string; reason?: string; details?: StatusDetails } = {},
): KubeApiError {
  return new KubeApiError({
    status,
    reason: options.reason ?? REASON_OF[status] ?? 'Error',
    message,
    method: options.method ?? 'GET',
    path: options.path ?? '/api/v1/secrets',
    ...(options.details ? { details: options.details } : {}),
  });
}

export const secretPath = (name: string, namespace = 'apps'): string => objectPath(Resources.secrets, name, namespace);

/** A legacy token Secret of ServiceAccount `sa` (default: the name without "-token"); token undefined: blank. */
export function tokenSecret(
  name: string,
  options: { namespace?: string; token?: string | undefined; sa?: string; annotations?: Record<string, string>; labels?: Record<string, string> } = {},
): object {
  const token = 'token' in options ? options.token : `old-token-of-${name}`;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      name,
      namespace: options.namespace ?? 'apps',
      annotations: { [annotations.SA_NAME]: options.sa ?? name.replace(/-token$/, ''), ...options.annotations },
      ...(options.labels ? { labels: options.labels } : {}),
    },
    data: { 'ca.crt': Buffer.from('ca').toString('base64'), ...(token === undefined ? {} : { token: Buffer.from(token).toString('base64') }) },
  };
}

export type WorkloadKindName = 'Deployment' | 'StatefulSet' | 'DaemonSet';
const RESOURCE = { Deployment: Resources.deployments, StatefulSet: Resources.statefulSets, DaemonSet: Resources.daemonSets } as const;
export const workloadPath = (kind: WorkloadKindName, name: string, namespace = 'apps'): string => objectPath(RESOURCE[kind], name, namespace);

/** A workload whose pod template mounts the given Secrets as volumes. */
export function workload(kind: WorkloadKindName, name: string, secrets: string[], namespace = 'apps'): object {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, generation: 1 },
    spec: {
      template: { metadata: {}, spec: { containers: [{ name: 'c', image: 'x' }], volumes: secrets.map((s) => ({ name: s, secret: { secretName: s } })) } },
    },
  };
}
export const deployment = (name: string, secrets: string[], namespace = 'apps'): object => workload('Deployment', name, secrets, namespace);

export const bindingPath = objectPath(Resources.clusterRoleBindings, 'system:node');

/** The system:node ClusterRoleBinding with the given subjects (the legacy shape: Group system:nodes). */
export function nodeBinding(
  subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' }],
  labels: Record<string, string> = {},
): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:node', labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
    subjects,
  };
}

/**
 * kube-controller-manager's tokens controller, simulated: a service-account-token Secret
 * with no token gets one (a new value each time), unless `working()` says it is down.
 */
export function simulateTokensController(client: MemoryClient, working: () => boolean = () => true): { issued: string[] } {
  const issued: string[] = [];
  client.react((path, obj) => {
    const data = obj.data as Record<string, string> | undefined;
    if ((obj as { type?: string }).type !== 'kubernetes.io/service-account-token' || data?.token || !working()) return;
    const token = `new-token-${issued.length + 1}`;
    issued.push(path);
    client.poke(path, (o) => {
      o.data = { ...(o.data as object), token: Buffer.from(token).toString('base64') };
    });
  });
  return { issued };
}

/** A token Secret as the cache holds it (apps/<name>, token hash h-<name>, nothing rotated), with the fields given. */
export function cachedTokenSecret(name: string, over: Partial<TokenSecret> = {}): TokenSecret {
  return {
    metadata: { name, namespace: 'apps', uid: `uid-${name}`, resourceVersion: '1', creationTimestamp: '2026-05-31T00:00:00Z' },
    serviceAccountName: name,
    serviceAccountUid: '',
    tokenHash: `h-${name}`,
    token: undefined,
    caHash: 'ca',
    lastUsed: undefined,
    invalidSince: undefined,
    rotation: undefined,
    rotationState: undefined,
    rotatedAt: undefined,
    rotatedFrom: undefined,
    rotatedUnder: undefined,
    rotatedForRequest: undefined,
    ...over,
  };
}
