// Pods, kept only as the Secrets their volumes mount (and only pods that mount
// any): tens of thousands of pods cost a few strings each, not whole objects.
import { defineCache } from '../../kube/cache-spec.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';

export interface PodMounts {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  secretVolumes: string[];
}

interface PodRaw {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { volumes?: { secret?: { secretName?: string }; projected?: { sources?: { secret?: { name?: string } }[] } }[] };
}

export const podMountsCache = defineCache<PodMounts>({
  name: 'pod-secret-mounts',
  path: collectionPath(Resources.pods),
  transform: (raw) => {
    const p = raw as PodRaw;
    const names = new Set<string>();
    for (const v of p.spec?.volumes ?? []) {
      if (v.secret?.secretName) names.add(v.secret.secretName);
      for (const s of v.projected?.sources ?? []) if (s.secret?.name) names.add(s.secret.name);
    }
    if (names.size === 0) return undefined;
    return { metadata: { name: p.metadata.name, namespace: p.metadata.namespace, resourceVersion: p.metadata.resourceVersion }, secretVolumes: [...names].sort() };
  },
  relevant: (type, obj, old) => type !== 'update' || obj.secretVolumes.join() !== old?.secretVolumes.join(),
});
