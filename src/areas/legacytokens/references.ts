// Which Secrets a pod template uses: volumes[].secret, projected sources[].secret,
// env[].valueFrom.secretKeyRef and envFrom[].secretRef, in containers and init
// containers (and ephemeral containers, which also read env).

interface PodTemplate {
  spec?: {
    volumes?: { secret?: { secretName?: string }; projected?: { sources?: { secret?: { name?: string } }[] } }[];
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
  };
}
interface Container {
  env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[];
  envFrom?: { secretRef?: { name?: string } }[];
}

/** The names of the Secrets (in the template's namespace) a pod template references, sorted. */
export function secretsReferencedBy(template: PodTemplate | undefined): string[] {
  const names = new Set<string>();
  const spec = template?.spec;
  for (const v of spec?.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const src of v.projected?.sources ?? []) if (src.secret?.name) names.add(src.secret.name);
  }
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? []), ...(spec?.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) names.add(e.secretRef.name);
  }
  return [...names].sort();
}

export { secretReadsOf, type SecretRead } from '../../kube/pod-secret-readers.ts';
