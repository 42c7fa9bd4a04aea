// Objects as the API server stores them, for act tests over the MemoryClient: token Secrets,
// workloads and the system:node binding, plus a simulated tokens controller.
import * as annotations from '../../src/api/annotations.ts';
import { objectPath, Resources } from '../../src/kube/paths.ts';
import type { MemoryClient } from './memory-client.ts';

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
