// Which Secrets a pod template uses: volumes[].secret, projected sources[].secret,
// env[].valueFrom.secretKeyRef and envFrom[].secretRef, in containers and init
// containers (and ephemeral containers, which also read env): the containers walked once, by
// src/kube/pod-secret-readers.ts (envSecretReads), for this and the pod cache alike.
import { containersOf, envSecretReads, groupReads, type PodSpec } from '../../../kube/pod-secret-readers.ts';

interface PodTemplate {
  spec?: PodSpec;
}

/** The names of the Secrets (in the template's namespace) a pod template references, sorted. */
export function secretsReferencedBy(template: PodTemplate | undefined): string[] {
  const names = new Set<string>();
  const spec = template?.spec;
  for (const v of spec?.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const src of v.projected?.sources ?? []) if (src.secret?.name) names.add(src.secret.name);
  }
  for (const r of envSecretReads(spec)) names.add(r.secret);
  return [...names].sort();
}

/**
 * How a pod template reads each Secret in a way the kubelet never refreshes in a running Pod, by Secret name:
 * env and envFrom are resolved once when a container starts, and a subPath mount is a bind mount of the file as
 * it was (kubernetes.io/docs/concepts/configuration/secret/#mounted-secrets-are-updated-automatically). A Secret
 * read only through a Secret volume or a projected volume's secret source, mounted without subPath, is absent:
 * the kubelet rewrites those files in place (atomic writer) when the Secret changes.
 */
export function unrefreshedReadsOf(template: PodTemplate | undefined): Record<string, string[]> {
  const spec = template?.spec;
  const volumeSecrets = new Map<string, string[]>();
  for (const v of spec?.volumes ?? []) {
    const names = [v.secret?.secretName, ...(v.projected?.sources ?? []).map((src) => src.secret?.name)].filter((n): n is string => !!n);
    if (v.name && names.length) volumeSecrets.set(v.name, names);
  }
  const subPathMounts = containersOf(spec).flatMap(({ kind, container: c }) =>
    (c.volumeMounts ?? [])
      .filter((m) => m.subPath || m.subPathExpr)
      .flatMap((m) => (volumeSecrets.get(m.name ?? '') ?? []).map((secret) => ({ secret, how: `subPath mount of ${kind} ${c.name ?? ''}` }))),
  );
  return Object.fromEntries(groupReads([...envSecretReads(spec), ...subPathMounts]).map((r) => [r.secret, r.how]));
}

export { secretReadsOf, type SecretRead } from '../../../kube/pod-secret-readers.ts';
