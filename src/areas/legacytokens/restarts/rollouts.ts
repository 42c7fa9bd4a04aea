// Argo Rollouts (argoproj.io/v1alpha1 Rollout) as dependents of rotated token Secrets.
// A Rollout is restarted the way `kubectl argo rollouts restart` does it: by setting
// spec.restartAt, never by changing spec.template (that would be a new revision, and so a
// canary or blue-green promotion). Argo Rollouts then replaces every pod created before
// restartAt, within maxUnavailable, and copies spec.restartAt to status.restartedAt once the last
// of them is evicted (argo-rollouts rollout/restart.go; docs: features/restart); the restart is
// done when every replica is available again too. The cache is optional: where
// the CRD is not installed the area runs as before, and picks Rollouts up once it is.
import * as annotations from '../../../api/annotations.ts';
import { ConditionType } from '../../../api/reasons.ts';
import { isNotFound } from '../../../kube/errors.ts';
import { collectionPath, objectPath, type ResourceRef } from '../../../kube/paths.ts';
import type { Meta } from '../../../kube/token-secrets.ts';
import { defineCache, type AreaContext, type AreaReport } from '../../area.ts';
import { workloadChangeMatters, type Workload } from '../caches.ts';
import { secretsReferencedBy, unrefreshedReadsOf } from './references.ts';
import { restartKey, type RecentRestarts } from './record.ts';

export const ROLLOUTS: ResourceRef = { group: 'argoproj.io', version: 'v1alpha1', resource: 'rollouts' };

interface RolloutRaw {
  metadata: Meta & { generation?: number };
  spec?: { replicas?: number; restartAt?: string; template?: Parameters<typeof secretsReferencedBy>[0] };
  status?: { restartedAt?: string; availableReplicas?: number };
}

const time = (x: string | undefined): number | undefined => {
  const t = x === undefined ? NaN : Date.parse(x);
  return Number.isFinite(t) ? t : undefined;
};

/**
 * The restart asked for in spec.restartAt is done: Argo Rollouts has copied it (or a later one) to
 * status.restartedAt, and every replica is available again. Argo Rollouts sets status.restartedAt
 * once it has evicted the last pod older than restartAt, before that pod's replacement is up
 * (rollout/restart.go), so restartedAt alone would free the restart's slot early.
 */
export function restartDone(r: Pick<RolloutRaw, 'spec' | 'status'>): boolean {
  const asked = time(r.spec?.restartAt);
  if (asked === undefined) return true;
  const done = time(r.status?.restartedAt);
  return done !== undefined && done >= asked && (r.status?.availableReplicas ?? 0) >= (r.spec?.replicas ?? 1);
}

/** A Rollout as the legacy-token area sees it: the Secrets its template reads and the restart the operator recorded on it. */
export function toRolloutWorkload(raw: unknown): Workload {
  const r = raw as RolloutRaw;
  const m = r.metadata;
  const a = m.annotations ?? {};
  const restartedAt = a[annotations.RESTARTED_AT];
  const restartAt = time(r.spec?.restartAt) === undefined ? undefined : r.spec?.restartAt;
  return {
    kind: 'Rollout',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      resourceVersion: m.resourceVersion,
      generation: m.generation ?? 0,
      creationTimestamp: m.creationTimestamp,
    },
    ...(a[annotations.RESTART] !== undefined ? { restart: a[annotations.RESTART] } : {}),
    ...(restartAt !== undefined ? { lastRestartAt: restartAt } : {}),
    secrets: secretsReferencedBy(r.spec?.template),
    unrefreshedReads: unrefreshedReadsOf(r.spec?.template),
    restartedAt,
    restartedFor: (a[annotations.RESTARTED_FOR] ?? '').split(',').filter(Boolean),
    // Ours while spec.restartAt is still the time the operator wrote; a later `kubectl argo rollouts restart` is not ours to time.
    templateIsOurs: restartedAt === undefined ? undefined : time(restartAt) !== undefined && time(restartAt) === time(restartedAt),
    rolloutComplete: restartDone(r),
  };
}

export const rolloutCache = defineCache<Workload>({
  name: 'rollouts',
  path: collectionPath(ROLLOUTS),
  whenMissing:
    'Argo Rollouts is not installed (rollouts.argoproj.io is not served): there are no Rollouts to restart; the operator picks them up once the CRD is installed',
  // While Argo Rollouts is absent its CRD is watched by name and Rollouts are listed once it is established;
  // if that watch cannot sync (its permission not granted), one LIST every 30 s picks it up within a minute.
  servedBy: 'rollouts.argoproj.io',
  missingRetryMs: 30_000,
  transform: toRolloutWorkload,
  relevant: workloadChangeMatters,
});

/**
 * Whether Rollouts can be restarted now. absent: the CRD is not installed (nothing to restart,
 * nothing to say); listing: the first list has not returned; unreadable: a 403 or another failure
 * (only Rollout restarts are affected, and status says why); unused: Rollout is not in workloadKinds.
 */
export type RolloutAccess = { state: 'ready' | 'absent' | 'listing' | 'unused' } | { state: 'unreadable'; message: string };

export function rolloutAccess(ctx: AreaContext, workloadKinds: readonly string[]): RolloutAccess {
  if (!workloadKinds.includes('Rollout')) return { state: 'unused' };
  const informer = ctx.cache(rolloutCache);
  if (informer.hasSynced()) return { state: 'ready' };
  if (informer.lastFailure === undefined) return { state: 'listing' };
  if (isNotFound(informer.lastFailure)) return { state: 'absent' };
  return { state: 'unreadable', message: ctx.unsynced(rolloutCache) ?? informer.lastError ?? 'the Rollout cache has not synced' };
}

/** While the Rollout list is still loading, no rotation is closed: its Rollouts might be missed for good. */
export const closesRotations = (access: RolloutAccess | undefined): boolean => access?.state !== 'listing';

/**
 * What Rollouts change in a plan. While the Rollout list is still loading, no rotation is closed
 * (its Rollouts might be missed for good); when Rollouts cannot be read, status says so, in the
 * WorkloadsRestarted message, a finding and summary.rolloutsUnchecked, and the rest goes on.
 */
export function withRollouts<P extends { actions: readonly { kind: string }[]; report: AreaReport }>(plan: P, access: RolloutAccess | undefined): P {
  if (!closesRotations(access)) {
    return {
      ...plan,
      actions: plan.actions.filter((a) => a.kind !== 'finish'),
      report: { ...plan.report, requeueAfterMs: Math.min(plan.report.requeueAfterMs ?? 1000, 1000) },
    };
  }
  if (access?.state !== 'unreadable') return plan;
  const note = `Argo Rollouts were not checked, so no Rollout is restarted: ${access.message}; restarting a Rollout also needs patch on rollouts.argoproj.io`;
  return {
    ...plan,
    report: {
      ...plan.report,
      conditions: plan.report.conditions.map((c) => (c.type === ConditionType.WorkloadsRestarted ? { ...c, message: `${c.message}; ${note}` } : c)),
      findings: [...plan.report.findings, { subject: 'rollouts.argoproj.io', health: 'unknown', message: note }],
      summary: { ...plan.report.summary, rolloutsUnchecked: access.message },
    },
  };
}

/** Argo Rollouts' restart times are whole seconds (metav1.Time); a time in the future would make Argo wait for it. */
const wholeSecond = (d: Date): string => new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Restarts a Rollout through spec.restartAt, in one server-side apply under the operator's restart
 * field manager that also records (on the Rollout's metadata, which is no new revision) when and for
 * which rotations: a crash after it cannot repeat it, and nothing lands without its record.
 */
export async function restartRollout(
  ctx: AreaContext,
  a: { workload: { namespace: string; name: string }; rotations: string[] },
  recent: RecentRestarts,
): Promise<string> {
  const { namespace, name } = a.workload;
  const restartAt = wholeSecond(ctx.now());
  const applied = await ctx.client.apply<{ metadata?: { generation?: number } }>(
    objectPath(ROLLOUTS, name, namespace),
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name, namespace, annotations: { [annotations.RESTARTED_AT]: restartAt, [annotations.RESTARTED_FOR]: a.rotations.join(',') } },
      spec: { restartAt },
    },
    { fieldManager: annotations.RESTART_FIELD_MANAGER, force: true },
  );
  ctx.metrics?.workloadRestarts.inc({ kind: 'Rollout', namespace, result: 'restarted' });
  recent.set(restartKey('Rollout', namespace, name), { generation: applied.metadata?.generation ?? 0, restartedAt: restartAt, rotations: a.rotations });
  ctx.log.info('restarted workload', { workload: `Rollout/${namespace}/${name}`, rotations: a.rotations, restartAt });
  return `rollout ${namespace}/${name} through spec.restartAt=${restartAt} (${a.rotations.join(', ')})`;
}
