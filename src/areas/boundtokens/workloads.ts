// The workload behind a pod that used a stale token: its controller owner, and a
// ReplicaSet's Deployment. One list call by name per pod (and ReplicaSet), once per
// pod UID (owners do not change), for the few pods the audit stream named: API calls
// depend on the stale clients, not on the cluster's size. Uses the pods and
// replicasets list permission the operator already has.
import type { KubeClient } from '../../kube/client.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';

interface Owned {
  metadata: { name: string; uid?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
}

const controllerOf = (o: Owned): { kind: string; name: string } | undefined =>
  o.metadata.ownerReferences?.find((r) => r.controller) ?? o.metadata.ownerReferences?.[0];

export class WorkloadResolver {
  private readonly known = new Map<string, string>();
  private readonly client: KubeClient;
  constructor(client: KubeClient) {
    this.client = client;
  }

  private async byName(path: string, name: string): Promise<Owned | undefined> {
    const list = await this.client.list<{ items: Owned[] }>(path, { fieldSelector: `metadata.name=${name}` });
    return list.items[0];
  }

  /** "Deployment ci/old-app"; "Pod ci/x" for a bare pod; undefined when the pod is gone or unreadable. */
  async workloadOf(pod: { namespace: string; name: string; uid: string }): Promise<string | undefined> {
    const cached = this.known.get(pod.uid);
    if (cached) return cached;
    let workload: string | undefined;
    try {
      const p = await this.byName(collectionPath(Resources.pods, pod.namespace), pod.name);
      if (!p || (p.metadata.uid && p.metadata.uid !== pod.uid)) return undefined;
      let owner = controllerOf(p);
      if (owner?.kind === 'ReplicaSet') {
        const rs = await this.byName(collectionPath(Resources.replicaSets, pod.namespace), owner.name);
        const up = rs && controllerOf(rs);
        if (up) owner = up;
      }
      workload = owner ? `${owner.kind} ${pod.namespace}/${owner.name}` : `Pod ${pod.namespace}/${pod.name}`;
    } catch {
      return undefined;
    }
    if (this.known.size >= 1000) this.known.delete(this.known.keys().next().value ?? '');
    this.known.set(pod.uid, workload);
    return workload;
  }
}
