// Observe clocks: the estimator's current offsets (fed by the caches between
// reconciles), published as metrics against the cluster's own time.
import { resolveSpec } from '../../api/defaults.ts';
import { ConditionType } from '../../api/reasons.ts';
import type { Metrics } from '../../runtime/metrics.ts';
import type { AreaContext } from '../area.ts';
import type { ClockCaches } from './caches.ts';
import { relativeToCluster, type ClockEstimator, type ClockOffset, type ClusterClocks } from './estimator.ts';
import type { ClockObservation } from './plan.ts';

/** After a start, how long the last reported condition may stand while samples gather (kubelets and API servers renew every 10 s). */
export const WARM_UP_MS = 60_000;

/**
 * Until when offsets computed from an unchanged estimator stay current: until its longest-silent
 * subject goes stale. Most reconciles are woken by something else (a Secret refilled, a rollout
 * progressing: many a second during a rotation; a recheck every minute at idle) while clocks move only
 * with renewals; recomputing them for 2,000 Nodes costs milliseconds.
 */
export function currentUntilMs(offsets: readonly ClockOffset[], staleAfterMs: number): number {
  let oldest = Infinity;
  for (const o of offsets) oldest = Math.min(oldest, o.lastSeenMs);
  return oldest + staleAfterMs;
}

/** One authpolicy_clock_offset_seconds series: its labels and value. */
interface OffsetGauge {
  labels: { kind: string; name: string };
  seconds: number;
}

/** Sets the offset gauges that changed and removes those of subjects gone: 2,000 Nodes are not set again at every poll. */
function publishOffsets(metrics: Metrics, cluster: ClusterClocks, exported: Map<string, OffsetGauge>): void {
  const current = new Map<string, OffsetGauge>();
  for (const o of cluster.subjects) current.set(`${o.kind}/${o.name}`, { labels: { kind: o.kind, name: o.name }, seconds: o.offsetMs / 1000 });
  if (cluster.operatorOffsetMs !== undefined)
    current.set('operator/self', { labels: { kind: 'operator', name: 'self' }, seconds: cluster.operatorOffsetMs / 1000 });
  for (const [key, gauge] of current) {
    if (exported.get(key)?.seconds === gauge.seconds) continue;
    metrics.clockOffset.set(gauge.labels, gauge.seconds);
    exported.set(key, gauge);
  }
  for (const [key, gauge] of exported) {
    if (current.has(key)) continue;
    metrics.clockOffset.remove(gauge.labels);
    exported.delete(key);
  }
}

/** What the observer keeps across reconciles: made at wiring time (index.ts) and passed in, not kept in a closure. */
export interface ObservedClocks {
  /** the offsets and their cluster-relative form, computed once per estimator change (or a clock gone stale) */
  last?: { version: number; atMs: number; untilMs: number; maxSkewMs: number; offsets: ClockOffset[]; cluster: ClusterClocks } | undefined;
  /** the offset gauges as last published */
  readonly exported: Map<string, OffsetGauge>;
}

export const observedClocks = (): ObservedClocks => ({ exported: new Map() });

/** startedMs: when the operator started (the warm-up runs from then); memo: what the observer keeps (observedClocks()). */
export function createObserver(
  estimator: ClockEstimator,
  caches: ClockCaches,
  startedMs: number,
  memo: ObservedClocks,
): (ctx: AreaContext) => Promise<ClockObservation> {
  return async (ctx) => {
    if (ctx.mode === 'check') {
      // A one-shot check has seen no renewals yet: give each API server one renewal period (10 s).
      const expected = ctx.cache(caches.apiservers).size;
      const deadline = ctx.now().getTime() + 12_000;
      while (ctx.now().getTime() < deadline && estimator.offsets(ctx.now().getTime()).filter((o) => o.kind === 'apiserver').length < expected)
        await new Promise((r) => setTimeout(r, 250));
    }
    const nowMs = ctx.now().getTime();
    const maxSkewMs = resolveSpec(ctx.policy.spec).clock.maxSkewMs;
    let last = memo.last;
    const current = last && last.version === estimator.version && last.maxSkewMs === maxSkewMs && nowMs >= last.atMs && nowMs <= last.untilMs;
    if (!current || !last) {
      const offsets = estimator.offsets(nowMs);
      const cluster = relativeToCluster(offsets, maxSkewMs);
      last = { version: estimator.version, atMs: nowMs, untilMs: currentUntilMs(offsets, estimator.staleAfterMs), maxSkewMs, offsets, cluster };
      memo.last = last;
      // A sample crossing this line wakes a reconcile (caches.ts); otherwise the area rechecks every minute.
      const skewed = new Set(cluster.subjects.filter((o) => Math.abs(o.offsetMs) > maxSkewMs).map((o) => `${o.kind}/${o.name}`));
      estimator.judgedBy({ serverClockMs: cluster.serverClockMs, centreMs: cluster.centreMs, maxSkewMs, skewed });
      if (ctx.metrics) publishOffsets(ctx.metrics, cluster, memo.exported);
    }
    const lastCondition = ctx.policy.status?.conditions?.find((c) => c.type === ConditionType.ClockSynchronized);
    return {
      offsets: last.offsets,
      cluster: { maxSkewMs, clocks: last.cluster },
      warmingUp: ctx.mode === 'run' && ctx.now().getTime() - startedMs < WARM_UP_MS,
      lastCondition: lastCondition && { type: lastCondition.type, status: lastCondition.status, reason: lastCondition.reason, message: lastCondition.message },
    };
  };
}
