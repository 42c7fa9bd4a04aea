// What the legacy-token area caches, stripped to the fields it reads. A token
// Secret is held as a fingerprint of its token (never the token itself); a
// workload as the Secrets its template uses and its rollout progress.
import { createHash } from 'node:crypto';
import { defineCache } from '../../kube/cache-spec.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';
import * as annotations from '../../api/annotations.ts';
import type { WorkloadKind } from '../../api/types.ts';
import { fingerprint, type Meta } from '../../kube/token-secrets.ts';
export { tokenSecretCache, type TokenSecret } from '../../kube/token-secrets.ts';
import { secretsReferencedBy, unrefreshedReadsOf } from './restarts/references.ts';
import { controllerOf, type OwnerRef } from '../../kube/pod-secret-readers.ts';
import { byString } from '../../kube/order.ts';
export { podReadersCache, type PodSecretReader } from '../../kube/pod-secret-readers.ts';

export interface CachedServiceAccount {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid: string; deletionTimestamp?: string | undefined };
}

export const serviceAccountCache = defineCache<CachedServiceAccount>({
  name: 'serviceaccounts',
  path: collectionPath(Resources.serviceAccounts),
  transform: (raw) => {
    const m = (raw as { metadata: Meta }).metadata;
    return {
      metadata: {
        name: m.name,
        namespace: m.namespace,
        resourceVersion: m.resourceVersion,
        uid: m.uid ?? '',
        ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      },
    };
  },
  relevant: (type, obj, old) => type !== 'update' || obj.metadata.deletionTimestamp !== old?.metadata.deletionTimestamp,
});

export interface CachedNamespace {
  metadata: { name: string; resourceVersion?: string; labels: Record<string, string>; deletionTimestamp?: string | undefined };
  /** the value of its authpolicy.io/restart annotation */
  restart?: string | undefined;
}

export const namespaceCache = defineCache<CachedNamespace>({
  name: 'namespaces',
  path: collectionPath(Resources.namespaces),
  transform: (raw) => {
    const m = (raw as { metadata: Meta }).metadata;
    const restart = m.annotations?.[annotations.RESTART];
    return {
      metadata: {
        name: m.name,
        resourceVersion: m.resourceVersion,
        labels: m.labels ?? {},
        ...(m.deletionTimestamp ? { deletionTimestamp: m.deletionTimestamp } : {}),
      },
      ...(restart !== undefined ? { restart } : {}),
    };
  },
  relevant: (type, obj, old) =>
    type !== 'update' ||
    JSON.stringify(obj.metadata.labels) !== JSON.stringify(old?.metadata.labels) ||
    obj.metadata.deletionTimestamp !== old?.metadata.deletionTimestamp ||
    obj.restart !== old?.restart,
});

export interface RootCA {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  caHash: string | undefined;
}

/** kube-root-ca.crt, which kube-controller-manager publishes in every namespace: the CA a token Secret's ca.crt should hold. */
export const rootCACache = defineCache<RootCA>({
  name: 'kube-root-ca',
  path: collectionPath(Resources.configMaps),
  fieldSelector: 'metadata.name=kube-root-ca.crt',
  transform: (raw) => {
    const c = raw as { metadata: Meta; data?: Record<string, string> };
    const ca = c.data?.['ca.crt'];
    return {
      metadata: { name: c.metadata.name, namespace: c.metadata.namespace, resourceVersion: c.metadata.resourceVersion },
      caHash: fingerprint(ca === undefined ? undefined : Buffer.from(ca).toString('base64')),
    };
  },
});

export type { WorkloadKind }; // declared once: generated from the CRD's workloadKinds enum

export interface Workload {
  kind: WorkloadKind;
  metadata: { name: string; namespace: string; resourceVersion?: string; generation: number; creationTimestamp?: string | undefined };
  secrets: string[];
  /**
   * How its pod template reads each Secret in a way the kubelet never refreshes in a running Pod (env, envFrom, a
   * subPath mount), by Secret name (unrefreshedReadsOf). undefined: not recorded, so every Secret counts as such.
   */
  unrefreshedReads?: Record<string, string[]> | undefined;
  /** the value of its own authpolicy.io/restart annotation (opt-out: "false") */
  restart?: string | undefined;
  /** the latest restart mark on its pod template (kubectl rollout restart's or the operator's) */
  lastRestartAt?: string | undefined;
  /** why it is not restarted (set by observe from its and its namespace's authpolicy.io/restart) */
  optOut?: string | undefined;
  restartedAt: string | undefined;
  restartedFor: string[];
  /** the pod template is still the one the operator's restart produced (undefined: not recorded) */
  templateIsOurs: boolean | undefined;
  /** templateFingerprint of its pod template now, recorded by a restart so a later change by anyone else shows (not for a Rollout) */
  template?: string | undefined;
  /** the controller has seen the latest spec and every replica runs the latest template and is available */
  rolloutComplete: boolean;
}

interface WorkloadRaw {
  metadata: Meta & { generation?: number };
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> }; spec?: unknown } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
  };
}

/** Rollout done, as `kubectl rollout status` judges it for each kind. */
export function rolloutComplete(kind: WorkloadKind, w: WorkloadRaw): boolean {
  const st = w.status ?? {};
  if ((st.observedGeneration ?? 0) < (w.metadata.generation ?? 0)) return false;
  if (kind === 'DaemonSet') {
    const desired = st.desiredNumberScheduled ?? 0;
    return (st.updatedNumberScheduled ?? 0) >= desired && (st.numberAvailable ?? 0) >= desired;
  }
  const replicas = w.spec?.replicas ?? 1;
  if (kind === 'StatefulSet') {
    return (st.updatedReplicas ?? 0) >= replicas && (st.readyReplicas ?? 0) >= replicas && (replicas === 0 || st.currentRevision === st.updateRevision);
  }
  return (st.updatedReplicas ?? 0) >= replicas && (st.availableReplicas ?? 0) >= replicas && (st.replicas ?? 0) <= replicas;
}

/**
 * A short fingerprint of a pod template as the API server serializes it, leaving out the operator's own restart
 * marks: a restart records the fingerprint of the template it changes in the same apply, and it still matches
 * after that apply unless someone else changes the template too (a mutating webhook that rewrites the template on
 * our write makes it differ: that rollout is then not timed as ours, which only frees its restart slot early).
 */
export function templateFingerprint(template: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(template ?? null, withoutRestartMarks))
    .digest('hex')
    .slice(0, 16);
}

/** The operator's own restart marks on a pod template, left out of its fingerprint. */
const RESTART_MARKS: ReadonlySet<string> = new Set([annotations.RESTARTED_AT, annotations.RESTARTED_FOR]);

/** JSON.stringify replacer: keys sorted (a canonical form), our restart marks left out, and an annotations map left empty by that too. */
function withoutRestartMarks(key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([k, v]) => !(k === 'annotations' && v !== null && typeof v === 'object' && Object.keys(v).every((m) => RESTART_MARKS.has(m))))
    .filter(([k]) => key !== 'annotations' || !RESTART_MARKS.has(k))
    .sort(([a], [b]) => byString(a, b));
  return Object.fromEntries(entries);
}

function workloadCache(kind: WorkloadKind, resource: typeof Resources.deployments | typeof Resources.statefulSets | typeof Resources.daemonSets) {
  return defineCache<Workload>({
    name: resource.resource,
    path: collectionPath(resource),
    transform: (raw) => {
      const w = raw as WorkloadRaw;
      const a = w.spec?.template?.metadata?.annotations ?? {};
      const ours = w.metadata.annotations?.[annotations.RESTARTED_TEMPLATE];
      const restart = w.metadata.annotations?.[annotations.RESTART];
      const marks = [a[annotations.KUBECTL_RESTARTED_AT], a[annotations.RESTARTED_AT]].filter(
        (x): x is string => x !== undefined && Number.isFinite(Date.parse(x)),
      );
      const lastRestartAt = marks.sort((x, y) => Date.parse(y) - Date.parse(x))[0];
      const template = templateFingerprint(w.spec?.template);
      return {
        kind,
        metadata: {
          name: w.metadata.name,
          namespace: w.metadata.namespace,
          resourceVersion: w.metadata.resourceVersion,
          generation: w.metadata.generation ?? 0,
          creationTimestamp: w.metadata.creationTimestamp,
        },
        ...(restart !== undefined ? { restart } : {}),
        ...(lastRestartAt !== undefined ? { lastRestartAt } : {}),
        secrets: secretsReferencedBy(w.spec?.template as Parameters<typeof secretsReferencedBy>[0]),
        unrefreshedReads: unrefreshedReadsOf(w.spec?.template as Parameters<typeof unrefreshedReadsOf>[0]),
        restartedAt: a[annotations.RESTARTED_AT],
        restartedFor: (a[annotations.RESTARTED_FOR] ?? '').split(',').filter(Boolean),
        templateIsOurs: ours === undefined ? undefined : ours === template,
        template,
        rolloutComplete: rolloutComplete(kind, w),
      };
    },
    relevant: workloadChangeMatters,
  });
}

export const deploymentCache = workloadCache('Deployment', Resources.deployments);
export const statefulSetCache = workloadCache('StatefulSet', Resources.statefulSets);
export const daemonSetCache = workloadCache('DaemonSet', Resources.daemonSets);

/** A ReplicaSet or Job kept only as its owner: tells a Deployment's pods from a bare ReplicaSet's, a CronJob's Job from a bare one. */
export interface OwnedBy {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  owner: { kind: string; name: string } | undefined;
}

function ownerCache(name: string, resource: typeof Resources.replicaSets | typeof Resources.jobs) {
  return defineCache<OwnedBy>({
    name,
    path: collectionPath(resource),
    transform: (raw) => {
      const m = (raw as { metadata: Meta & { ownerReferences?: OwnerRef[] } }).metadata;
      return { metadata: { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion }, owner: controllerOf(m.ownerReferences) };
    },
    relevant: () => false,
  });
}

export const replicaSetOwnersCache = ownerCache('replicaset-owners', Resources.replicaSets);
export const jobOwnersCache = ownerCache('job-owners', Resources.jobs);

/** Does a workload's change bear on a rotation (its rollout, the Secrets it reads, our restart marks, its opt-out)? */
export function workloadChangeMatters(type: 'add' | 'update' | 'delete', obj: Workload, old: Workload | undefined): boolean {
  return (
    type !== 'update' ||
    obj.rolloutComplete !== old?.rolloutComplete ||
    obj.secrets.join() !== old.secrets.join() ||
    JSON.stringify(obj.unrefreshedReads) !== JSON.stringify(old.unrefreshedReads) ||
    obj.restartedAt !== old.restartedAt ||
    obj.templateIsOurs !== old.templateIsOurs ||
    obj.restart !== old.restart ||
    obj.lastRestartAt !== old.lastRestartAt
  );
}
