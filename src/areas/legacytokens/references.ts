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

/** One way a pod reads a Secret: "volume", "projected volume", or "env"/"envFrom" of a named (init/ephemeral) container. */
export interface SecretRead { secret: string; how: string[] }

/** The Secrets a pod spec reads and how, sorted by Secret name. */
export function secretReadsOf(spec: PodTemplate['spec']): SecretRead[] {
  const reads = new Map<string, Set<string>>();
  const add = (secret: string | undefined, how: string): void => {
    if (!secret) return;
    const set = reads.get(secret) ?? new Set<string>();
    set.add(how);
    reads.set(secret, set);
  };
  for (const v of spec?.volumes ?? []) {
    add(v.secret?.secretName, 'volume');
    for (const src of v.projected?.sources ?? []) add(src.secret?.name, 'projected volume');
  }
  const containers: [string, (Container & { name?: string })[]][] = [['container', spec?.containers ?? []], ['init container', spec?.initContainers ?? []], ['ephemeral container', spec?.ephemeralContainers ?? []]];
  for (const [kind, list] of containers) {
    for (const c of list) {
      for (const e of c.env ?? []) add(e.valueFrom?.secretKeyRef?.name, `env of ${kind} ${c.name ?? ''}`);
      for (const e of c.envFrom ?? []) add(e.secretRef?.name, `envFrom of ${kind} ${c.name ?? ''}`);
    }
  }
  return [...reads].map(([secret, how]) => ({ secret, how: [...how].sort() })).sort((a, b) => a.secret.localeCompare(b.secret));
}
