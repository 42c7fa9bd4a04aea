// Clock skew (the clock-skew incident): offsets measured from node Lease and API-server identity
// Lease renewals as they arrive. Report-only: the operator cannot fix a clock.
import { resolveSpec } from '../../api/defaults.ts';
import { ConditionType } from '../../api/reasons.ts';
import { apiserverIdentityCache, apiserverIdentitySpec, type ApiserverIdentityLease } from '../../kube/apiserver-identity.ts';
import { defineCache } from '../../kube/cache-spec.ts';
import { collectionPath, Resources } from '../../kube/paths.ts';
import type { Area, AreaContext, AreaReport } from '../area.ts';
import { ClockEstimator, relativeToCluster } from './estimator.ts';
import { planClock, type ClockObservation } from './plan.ts';

export interface NodeLease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  /** spec.renewTime, from the kubelet's clock (ms) */
  renewMs: number | undefined;
  /** when the API server recorded that write (managedFields time of the renewTime owner; ms, second precision) */
  serverMs: number | undefined;
}

interface LeaseRaw {
  metadata: { name: string; namespace: string; resourceVersion?: string; managedFields?: { time?: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[] };
  spec?: { renewTime?: string };
}

/** The API server's own time for the write that set renewTime: the newest managedFields entry owning it. */
export function serverStampMs(raw: LeaseRaw): number | undefined {
  const times = (raw.metadata.managedFields ?? []).filter((m) => m.fieldsV1?.['f:spec'] && 'f:renewTime' in (m.fieldsV1['f:spec'])).map((m) => Date.parse(m.time ?? ''));
  const valid = times.filter(Number.isFinite);
  return valid.length ? Math.max(...valid) : undefined;
}

/** managedFields times are truncated to the second: on average half a second early. */
const TRUNCATION_MS = 500;
const RECHECK_MS = 15_000;
/** After a start, how long the last reported condition may stand while samples gather (kubelets and API servers renew every 10 s). */
export const WARM_UP_MS = 60_000;

/**
 * TEST ONLY: AUTHPOLICY_TEST_CLOCK_SHIFT_SECONDS shifts the clock the operator times API-server
 * renewals with, as if its host's clock were that far ahead (negative: behind). The e2e suite uses it
 * to show a skewed operator host is named as such; never set it in a deployment.
 */
export function operatorClockShiftMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.AUTHPOLICY_TEST_CLOCK_SHIFT_SECONDS ?? 0);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

export function clockArea(): Area<ClockObservation, AreaReport> {
  const shiftMs = operatorClockShiftMs();
  /** the operator's clock, as its host would read it */
  const operatorNow = (): number => Date.now() + shiftMs;
  const estimator = new ClockEstimator();
  const startedMs = Date.now();
  const nodeLeases = defineCache<NodeLease>({
    name: 'node-leases',
    path: collectionPath(Resources.leases, 'kube-node-lease'),
    transform: (raw) => {
      const l = raw as LeaseRaw;
      const renew = Date.parse(l.spec?.renewTime ?? '');
      return { metadata: { name: l.metadata.name, namespace: l.metadata.namespace, resourceVersion: l.metadata.resourceVersion }, renewMs: Number.isFinite(renew) ? renew : undefined, serverMs: serverStampMs(l) };
    },
    onEvent: (type, lease, old) => {
      if (type === 'delete') { estimator.forget('node', lease.metadata.name); return; }
      if (lease.renewMs === undefined || lease.serverMs === undefined || lease.renewMs === old?.renewMs) return;
      estimator.record('node', lease.metadata.name, lease.renewMs - lease.serverMs - TRUNCATION_MS, Date.now());
    },
    // Renewals feed the estimator; a reconcile only needs to run when something may have crossed the line.
    relevant: () => false,
  });
  const apiservers = defineCache<ApiserverIdentityLease>({
    ...apiserverIdentitySpec,
    onEvent: (type, lease, old) => {
      if (type === 'delete') { estimator.forget('apiserver', lease.metadata.name); return; }
      // Only a renewal seen as it happens times the clock; a listed one may be seconds old.
      if (type !== 'update' || !lease.renewTime || lease.renewTime === old?.renewTime) return;
      estimator.record('apiserver', lease.metadata.name, Date.parse(lease.renewTime) - operatorNow(), Date.now());
    },
  });
  const observe = async (ctx: AreaContext): Promise<ClockObservation> => {
    if (ctx.mode === 'check') {
      // A one-shot check has seen no renewals yet: give each API server one renewal period (10 s).
      const expected = ctx.cache(apiserverIdentityCache).size;
      const deadline = Date.now() + 12_000;
      while (Date.now() < deadline && estimator.offsets(Date.now()).filter((o) => o.kind === 'apiserver').length < expected) await new Promise((r) => setTimeout(r, 250));
    }
    const offsets = estimator.offsets(ctx.now().getTime());
    if (ctx.metrics) {
      ctx.metrics.clockOffset.reset(); // forget subjects that went away
      const cluster = relativeToCluster(offsets, resolveSpec(ctx.policy.spec).clock.maxSkewMs);
      for (const o of cluster.subjects) ctx.metrics.clockOffset.set({ kind: o.kind, name: o.name }, o.offsetMs / 1000);
      if (cluster.operatorOffsetMs !== undefined) ctx.metrics.clockOffset.set({ kind: 'operator', name: 'self' }, cluster.operatorOffsetMs / 1000);
    }
    const previous = ctx.policy.status?.conditions?.find((c) => c.type === ConditionType.ClockSynchronized);
    return {
      offsets,
      warmingUp: ctx.mode === 'run' && Date.now() - startedMs < WARM_UP_MS,
      previous: previous && { type: previous.type, status: previous.status, reason: previous.reason, message: previous.message },
    };
  };
  return {
    name: 'clock',
    conditionTypes: [ConditionType.ClockSynchronized],
    caches: [nodeLeases, apiservers],
    observe,
    // Renewals feed the estimator between reconciles; look at it again every 15 s.
    plan: (spec, observation, previous) => ({ ...planClock(spec, observation, previous), requeueAfterMs: RECHECK_MS }),
    report: (report) => report,
  };
}
