// Pods that read Secrets, cached as the Secrets' names, how each is read, the
// pod's owner and start — never whole Pods, and only pods that read a Secret and
// have not finished: tens of thousands of pods cost a few strings each. In kube/
// so any area can share the one pod informer.
import { defineCache } from './cache-spec.ts';
import { collectionPath, Resources } from './paths.ts';
import type { Meta } from './token-secrets.ts';
import { byString } from './order.ts';

export interface OwnerRef {
  kind: string;
  name: string;
  controller?: boolean;
}

/** The controlling owner (or the first owner) of an object. */
export const controllerOf = (refs: OwnerRef[] | undefined): { kind: string; name: string } | undefined => {
  const owner = refs?.find((ref) => ref.controller) ?? refs?.[0];
  return owner ? { kind: owner.kind, name: owner.name } : undefined;
};

/** A container as far as Secrets go: env and envFrom, and the volume mounts (a subPath one is never refreshed). */
export interface Container {
  name?: string;
  env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
  volumeMounts?: { name?: string; subPath?: string; subPathExpr?: string; mountPath?: string }[];
}
export interface PodSpec {
  volumes?: { name?: string; secret?: { secretName?: string }; projected?: { sources?: { secret?: { name?: string } }[] } }[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
}

/** Every container of a pod spec with what it is ("container", "init container", "ephemeral container"), in that order. */
export function containersOf(spec: PodSpec | undefined): { kind: string; container: Container }[] {
  const groups: [string, Container[] | undefined][] = [
    ['container', spec?.containers],
    ['init container', spec?.initContainers],
    ['ephemeral container', spec?.ephemeralContainers],
  ];
  return groups.flatMap(([kind, list]) => (list ?? []).map((container) => ({ kind, container })));
}

/**
 * The one walk over a pod spec's containers for the Secrets they read through env and envFrom (resolved once, when
 * the container starts), each with how: "env of container app", "envFrom of init container setup".
 */
export function envSecretReads(spec: PodSpec | undefined): { secret: string; how: string }[] {
  return containersOf(spec).flatMap(({ kind, container: c }) =>
    [
      ...(c.env ?? []).map((e) => ({ secret: e.valueFrom?.secretKeyRef?.name, how: `env of ${kind} ${c.name ?? ''}` })),
      ...(c.envFrom ?? []).map((e) => ({ secret: e.secretRef?.name, how: `envFrom of ${kind} ${c.name ?? ''}` })),
    ].flatMap((r) => (r.secret ? [{ secret: r.secret, how: r.how }] : [])),
  );
}

/** One way a pod reads a Secret: "volume", "projected volume", or "env"/"envFrom" of a named (init/ephemeral) container. */
export interface SecretRead {
  secret: string;
  how: string[];
}

/** (Secret, how) pairs grouped by Secret: each Secret once, sorted by name, its ways sorted and without repeats. */
export function groupReads(pairs: Iterable<{ secret: string | undefined; how: string }>): SecretRead[] {
  const reads = new Map<string, Set<string>>();
  for (const { secret, how } of pairs) if (secret) reads.set(secret, (reads.get(secret) ?? new Set<string>()).add(how));
  return [...reads].map(([secret, how]) => ({ secret, how: [...how].sort() })).sort((a, b) => byString(a.secret, b.secret));
}

/** The Secrets a pod spec reads and how, sorted by Secret name. */
export function secretReadsOf(spec: PodSpec | undefined): SecretRead[] {
  const volumes = (spec?.volumes ?? []).flatMap((v) => [
    { secret: v.secret?.secretName, how: 'volume' },
    ...(v.projected?.sources ?? []).map((src) => ({ secret: src.secret?.name, how: 'projected volume' })),
  ]);
  return groupReads([...volumes, ...envSecretReads(spec)]);
}

/** A running pod that reads Secrets: only their names, how it reads them, its owner and start; never the pod. */
export interface PodSecretReader {
  metadata: { name: string; namespace: string; resourceVersion?: string; creationTimestamp: string };
  owner: { kind: string; name: string } | undefined;
  reads: SecretRead[];
}

interface PodRaw {
  metadata: Meta & { ownerReferences?: OwnerRef[] };
  spec?: PodSpec;
  status?: { phase?: string };
}

/** Pods that read any Secret and have not finished (a finished pod holds no token). */
export const podReadersCache = defineCache<PodSecretReader>({
  name: 'pod-secret-readers',
  path: collectionPath(Resources.pods),
  transform: (raw) => {
    const pod = raw as PodRaw;
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
    const reads = secretReadsOf(pod.spec);
    if (reads.length === 0) return undefined;
    return {
      metadata: {
        name: pod.metadata.name,
        namespace: pod.metadata.namespace,
        resourceVersion: pod.metadata.resourceVersion,
        creationTimestamp: pod.metadata.creationTimestamp ?? '',
      },
      owner: controllerOf(pod.metadata.ownerReferences),
      reads,
    };
  },
  // A consumer going away may settle WorkloadsRestarted; new pods read the current token.
  relevant: (type) => type === 'delete',
});
