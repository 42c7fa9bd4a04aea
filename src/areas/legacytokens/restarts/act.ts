// Restarting a workload so its pods mount re-issued tokens: like `kubectl rollout
// restart`, a pod-template annotation written by server-side apply under the
// operator's own field manager, recorded so the rollout is timed and counted once.
import * as annotations from '../../../api/annotations.ts';
import { objectPath, Resources, type ResourceRef } from '../../../kube/paths.ts';
import type { AreaContext } from '../../area.ts';
import type { LegacyTokensAction } from '../plan.ts';
import { restartKey, type RecentRestarts } from './record.ts';
import { restartRollout } from './rollouts.ts';

const RESOURCE: Record<string, ResourceRef> = { Deployment: Resources.deployments, StatefulSet: Resources.statefulSets, DaemonSet: Resources.daemonSets };

/**
 * Like `kubectl rollout restart`, with server-side apply under its own field manager: one write, and only
 * these three annotations are ours. Returns what was restarted, in words, for the one Event per reconcile.
 */
export async function restart(ctx: AreaContext, a: Extract<LegacyTokensAction, { kind: 'restart' }>, recent: RecentRestarts): Promise<string | undefined> {
  if (a.workload.kind === 'Rollout') return restartRollout(ctx, a, recent); // spec.restartAt, never a template change
  const ref = RESOURCE[a.workload.kind];
  if (!ref) return undefined;
  const restartedAt = ctx.now().toISOString();
  const path = objectPath(ref, a.workload.name, a.workload.namespace);
  // One apply: the pod-template marks start the rollout; the workload's own annotation records which template
  // was ours (the cache's fingerprint of it, which leaves our marks out), so a user's later rollout of the same
  // workload is never timed, or counted, as ours.
  const body = {
    apiVersion: 'apps/v1',
    kind: a.workload.kind,
    metadata: {
      name: a.workload.name,
      namespace: a.workload.namespace,
      ...(a.workload.template ? { annotations: { [annotations.RESTARTED_TEMPLATE]: a.workload.template } } : {}),
    },
    spec: { template: { metadata: { annotations: { [annotations.RESTARTED_AT]: restartedAt, [annotations.RESTARTED_FOR]: a.rotations.join(',') } } } },
  };
  const applied = await ctx.client.apply<{ metadata?: { generation?: number } }>(path, body, { fieldManager: annotations.RESTART_FIELD_MANAGER, force: true });
  ctx.metrics?.workloadRestarts.inc({ kind: a.workload.kind, namespace: a.workload.namespace, result: 'restarted' });
  recent.set(restartKey(a.workload.kind, a.workload.namespace, a.workload.name), {
    generation: applied.metadata?.generation ?? 0,
    restartedAt,
    rotations: a.rotations,
  });
  ctx.log.info('restarted workload', { workload: `${a.workload.kind}/${a.workload.namespace}/${a.workload.name}`, rotations: a.rotations });
  return `${a.workload.kind.toLowerCase()} ${a.workload.namespace}/${a.workload.name} (${a.rotations.join(', ')})`;
}
