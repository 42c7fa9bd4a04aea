// Observe clocks: the estimator's current offsets (fed by the caches between
// reconciles), published as metrics against the cluster's own time.
import { resolveSpec } from '../../api/defaults.ts';
import { ConditionType } from '../../api/reasons.ts';
import type { AreaContext } from '../area.ts';
import type { ClockCaches } from './caches.ts';
import { relativeToCluster, type ClockEstimator, type ClockOffset } from './estimator.ts';
import type { ClockObservation } from './plan.ts';

/** After a start, how long the last reported condition may stand while samples gather (kubelets and API servers renew every 10 s). */
export const WARM_UP_MS = 60_000;

/**
 * How long offsets computed from an unchanged estimator are reused. Most reconciles are woken by
 * something else (a Secret refilled, a rollout progressing: many a second during a rotation) while
 * clocks move only with renewals (every 10 s); recomputing them for 2,000 Nodes costs milliseconds.
 * Within this time only a subject going stale could change them.
 */
export const REUSE_MS = 15_000;

/** startedMs: when the operator started (the warm-up runs from then). */
export function createObserver(estimator: ClockEstimator, caches: ClockCaches, startedMs: number): (ctx: AreaContext) => Promise<ClockObservation> {
  let last: { version: number; atMs: number; maxSkewMs: number; offsets: ClockOffset[] } | undefined;
  return async (ctx) => {
    if (ctx.mode === 'check') {
      // A one-shot check has seen no renewals yet: give each API server one renewal period (10 s).
      const expected = ctx.cache(caches.apiservers).size;
      const deadline = Date.now() + 12_000;
      while (Date.now() < deadline && estimator.offsets(Date.now()).filter((o) => o.kind === 'apiserver').length < expected)
        await new Promise((r) => setTimeout(r, 250));
    }
    const nowMs = ctx.now().getTime();
    const maxSkewMs = resolveSpec(ctx.policy.spec).clock.maxSkewMs;
    const current = last && last.version === estimator.version && last.maxSkewMs === maxSkewMs && nowMs - last.atMs < REUSE_MS && nowMs >= last.atMs;
    const offsets = current && last ? last.offsets : estimator.offsets(nowMs);
    if (!current) {
      last = { version: estimator.version, atMs: nowMs, maxSkewMs, offsets };
      if (ctx.metrics) {
        ctx.metrics.clockOffset.reset(); // forget subjects that went away
        const cluster = relativeToCluster(offsets, maxSkewMs);
        for (const o of cluster.subjects) ctx.metrics.clockOffset.set({ kind: o.kind, name: o.name }, o.offsetMs / 1000);
        if (cluster.operatorOffsetMs !== undefined) ctx.metrics.clockOffset.set({ kind: 'operator', name: 'self' }, cluster.operatorOffsetMs / 1000);
      }
    }
    const lastCondition = ctx.policy.status?.conditions?.find((c) => c.type === ConditionType.ClockSynchronized);
    return {
      offsets,
      warmingUp: ctx.mode === 'run' && Date.now() - startedMs < WARM_UP_MS,
      lastCondition: lastCondition && { type: lastCondition.type, status: lastCondition.status, reason: lastCondition.reason, message: lastCondition.message },
    };
  };
}
