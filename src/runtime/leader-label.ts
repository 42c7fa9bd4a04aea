// Marks the operator's own pod with whether it leads, so a Service can send
// traffic that only the leader may handle (the stale-token audit webhook: its
// registry lives in the leader's memory) to the leader alone. Best effort: a
// failed patch is logged and retried at the next transition, never fatal.
import { KubeClient } from '../kube/client.ts';
import { describeError } from '../kube/errors.ts';
import { objectPath, Resources } from '../kube/paths.ts';
import type { Logger } from './log.ts';

export const LEADER_LABEL = 'authpolicy.io/leader';

export interface PodRef {
  namespace: string;
  name: string;
}

/** Sets the leader label on the pod (a merge patch of one label; needs `patch` on pods in its namespace). */
export async function markLeader(client: KubeClient, pod: PodRef, leading: boolean, log: Logger): Promise<void> {
  try {
    await client.mergePatch(objectPath(Resources.pods, pod.name, pod.namespace), { metadata: { labels: { [LEADER_LABEL]: String(leading) } } });
    log.info('labelled own pod', { pod: `${pod.namespace}/${pod.name}`, [LEADER_LABEL]: String(leading) });
  } catch (err) {
    log.warn('could not label own pod; the leader-only audit Service may route to the wrong replica', {
      pod: `${pod.namespace}/${pod.name}`,
      error: describeError(err),
      fix: 'grant patch on pods in the operator namespace (config/rbac/leader_election_role.yaml)',
    });
  }
}
