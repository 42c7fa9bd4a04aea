// Clock skew (the clock-skew incident): offsets measured from node Lease and API-server identity
// Lease renewals as they are seen. Report-only: the operator cannot fix a clock.
import type { ResolvedSpec } from '../../api/defaults.ts';
import { ConditionType } from '../../api/reasons.ts';
import type { Area, AreaReport } from '../area.ts';
import { clockCaches } from './caches.ts';
import { ClockEstimator } from './estimator.ts';
import { createObserver, observedClocks } from './observe.ts';
import { planClock, type ClockObservation } from './plan.ts';

/**
 * Renewals feed the estimator between reconciles, and one that moves a clock across the line the last
 * reconcile judged by wakes the next at once (caches.ts). This recheck catches the rest: clocks gone
 * stale, and offsets shown in status.clock.worst that moved by a second or more.
 */
export const RECHECK_MS = 60_000;

/** During the warm-up after a start the last verdict may be held for want of samples: look again soon. */
export const WARM_UP_RECHECK_MS = 10_000;

/**
 * TEST ONLY: AUTHPOLICY_TEST_CLOCK_SHIFT_SECONDS shifts the clock the operator times API-server
 * renewals with, as if its host's clock were that far ahead (negative: behind). The e2e suite uses it
 * to show a skewed operator host is named as such; never set it in a deployment.
 */
export function operatorClockShiftMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.AUTHPOLICY_TEST_CLOCK_SHIFT_SECONDS ?? 0);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

/** reusingPlan's last inputs and answer: made at wiring time (clockArea) and passed in. */
export interface PlanMemo {
  last?: { offsets: unknown; cluster: unknown; maxSkewMs: number; lastSummary: unknown; held: string; report: AreaReport } | undefined;
}

/**
 * planClock, answering again from its last result while its inputs are the same: the observer hands
 * back the very offsets (and their cluster-relative form) it computed while no clock moved
 * (currentUntilMs), and status.clock is the same object until status is written again. The area's one
 * plan memo, made at wiring time (clockArea); planning 2,000 clocks afresh costs about 10 ms.
 */
export function reusingPlan(
  memo: PlanMemo,
): (spec: ResolvedSpec, observation: ClockObservation, lastSummary: Record<string, unknown> | undefined) => AreaReport {
  return (spec, observation, lastSummary) => {
    const last = memo.last;
    const held = JSON.stringify([observation.warmingUp, observation.lastCondition]);
    const cluster = observation.cluster?.clocks;
    if (
      last &&
      last.offsets === observation.offsets &&
      last.cluster === cluster &&
      last.maxSkewMs === spec.clock.maxSkewMs &&
      last.lastSummary === lastSummary &&
      last.held === held
    )
      return last.report;
    const report = planClock(spec, observation, lastSummary);
    memo.last = { offsets: observation.offsets, cluster, maxSkewMs: spec.clock.maxSkewMs, lastSummary, held, report };
    return report;
  };
}

/** now: the host's clock, made at wiring time (src/policy/areas.ts); renewals are timed and recorded with it. */
export function clockArea(now: () => number): Area<ClockObservation, AreaReport> {
  const shiftMs = operatorClockShiftMs();
  const estimator = new ClockEstimator();
  const caches = clockCaches(estimator, () => now() + shiftMs, now);
  // What observe and plan keep across reconciles: made here, once, not kept in closures.
  const plan = reusingPlan({});
  return {
    name: 'clock',
    conditionTypes: [ConditionType.ClockSynchronized],
    caches: [caches.nodeLeases, caches.apiservers],
    observe: createObserver(estimator, caches, now(), observedClocks()),
    plan: (spec, observation, lastSummary) => ({
      ...plan(spec, observation, lastSummary),
      requeueAfterMs: observation.warmingUp ? WARM_UP_RECHECK_MS : RECHECK_MS,
    }),
    report: (report) => report,
  };
}
