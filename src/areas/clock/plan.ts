// ClockSynchronized from the measured offsets (the clock-skew incident): an API server whose
// clock is behind the token issuer's by more than the JWT leeway (go-jose's
// DefaultLeeway, 1 minute, in Kubernetes' validator) rejects fresh bound tokens
// as not yet valid, giving random 401s.
//
// The decision is a list of named rules tried in order (`clockRules`): the first that
// applies gives the condition's status, reason and message, as cert-manager's readiness checks do.
import type { ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { formatDuration } from '../../api/duration.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import { firstVerdict, when, type Rule, type Verdict } from '../../api/rules.ts';
import type { AreaReport, Finding } from '../area.ts';
import { relativeToCluster, type ClockOffset, type ClusterClocks } from './estimator.ts';

export interface ClockObservation {
  /** raw: API servers against the operator's clock, nodes against the API server's */
  offsets: ClockOffset[];
  /**
   * `offsets` against the cluster's own time, as observe computed them (relativeToCluster with maxSkewMs as
   * the tolerance): the plan judges by these rather than computing them again. Absent (or for another
   * maxSkew): the plan computes them.
   */
  cluster?: { maxSkewMs: number; clocks: ClusterClocks } | undefined;
  /**
   * The operator started observing moments ago (a restart, a new leader) and its
   * samples are still too few to judge: the last reported condition and summary
   * stand until they are enough (or the warm-up ends).
   */
  warmingUp?: boolean;
  /** ClockSynchronized as last written to status, if any */
  lastCondition?: ConditionUpdate | undefined;
}

/** Samples per subject before the median is trusted over the condition the operator wrote before it restarted. */
export const MIN_SAMPLES = 3;

/** What the measured offsets concluded (as opposed to a failure to observe them). */
const VERDICTS: ReadonlySet<string> = new Set([Reason.ClocksInSync, Reason.ClockSkewDetected, Reason.OperatorClockSkewed]);

/** How many clocks status.clock.worst lists. */
const SHOWN_CLOCKS = 5;

/** One clock as status.clock.worst shows it. */
export interface ShownClock {
  kind: string;
  name: string;
  offsetSeconds: number;
}

/** What the rules judge: the observation measured against the cluster's own time. */
export interface ClockFacts {
  maxSkewMs: number;
  /** clocks measured (nodes and API servers) */
  measured: number;
  /** how many agreeing clocks the cluster's time is the median of */
  referenceClocks: number;
  /** clocks off by more than maxSkew, worst first */
  skewed: ClockOffset[];
  /** the operator's own clock against the cluster's time, when known */
  operatorOffsetMs: number | undefined;
  operatorSkewed: boolean;
  /** the worst clocks as status shows them (steady to the second) */
  shown: ShownClock[];
}

/** A named check (the shared shape, src/api/rules.ts): the first rule that speaks decides ClockSynchronized. */
export type ClockRule = Rule<ClockFacts>;

const clockSynchronized = (status: ConditionUpdate['status'], reason: string, message: string): Verdict => ({ status, reason, message });

const direction = (offsetMs: number): string => (offsetMs > 0 ? 'ahead' : 'behind');

const clusterTime = (facts: ClockFacts): string => `the median of ${facts.referenceClocks} agreeing clock(s)`;

/** "the operator's own clock is ahead by 2m0s", or '' when its offset is unknown. */
function operatorText(facts: ClockFacts): string {
  const offsetMs = facts.operatorOffsetMs;
  return offsetMs === undefined ? '' : `the operator's own clock is ${direction(offsetMs)} by ${formatDuration(Math.abs(offsetMs))}`;
}

const describeShown = (clock: ShownClock): string =>
  `${clock.kind} ${clock.name} ${clock.offsetSeconds >= 0 ? '+' : ''}${formatDuration(clock.offsetSeconds * 1000)}`;

/** What a skewed API server breaks differs from what a skewed kubelet breaks. */
function skewConsequence(skewed: readonly ClockOffset[]): string {
  const servers = skewed.filter((clock) => clock.kind === 'apiserver');
  if (servers.length === 0) {
    return (
      'Kubelets on these nodes present fresh projected tokens and certificates that a correct clock judges as from the future or expired, ' +
      'so their Leases and pods misbehave'
    );
  }
  const names = servers.map((clock) => clock.name).join(', ');
  const rejected = `rejected by ${names} as "not valid yet" (beyond the 60s JWT leeway), giving random 401s`;
  return `Bound service-account tokens issued by another API server are ${rejected}`;
}

export const noClockData: ClockRule = when(
  'noClockData',
  (facts) => facts.measured === 0,
  () =>
    clockSynchronized(
      'Unknown',
      Reason.NoClockData,
      'No Lease renewals observed yet (node Leases in kube-node-lease, API-server identity Leases in kube-system); ' +
        'the clocks are judged once they renew, every 10 seconds.',
    ),
);

export const clocksSkewed: ClockRule = when(
  'clocksSkewed',
  (facts) => facts.skewed.length > 0,
  (facts) => {
    const isSkewed = (shown: ShownClock): boolean => facts.skewed.some((clock) => clock.kind === shown.kind && clock.name === shown.name);
    const list = facts.shown.filter(isSkewed).map(describeShown).join(', ');
    const operator = facts.operatorSkewed ? ` Also, ${operatorText(facts)} of the cluster's time.` : '';
    const message =
      `${facts.skewed.length} clock(s) off by more than ${formatDuration(facts.maxSkewMs)}: ${list}. ${skewConsequence(facts.skewed)}. ` +
      `Fix time sync (chrony/NTP) on those hosts.${operator}`;
    return clockSynchronized('False', Reason.ClockSkewDetected, message);
  },
);

export const operatorClockSkewed: ClockRule = when(
  'operatorClockSkewed',
  (facts) => facts.operatorSkewed,
  (facts) => {
    const max = formatDuration(facts.maxSkewMs);
    const message =
      `The operator's own clock is off by more than ${max}: ${operatorText(facts)} of the cluster's time (${clusterTime(facts)}); ` +
      `all ${facts.measured} node and API-server clock(s) agree within ${max}. ` +
      'The operator misjudges token ages and Lease expiry; fix time sync (chrony/NTP) on the host running it.';
    return clockSynchronized('False', Reason.OperatorClockSkewed, message);
  },
);

export const clocksInSync: ClockRule = when(
  'clocksInSync',
  () => true,
  (facts) =>
    clockSynchronized(
      'True',
      Reason.ClocksInSync,
      `All ${facts.measured} measured clock(s) are within ${formatDuration(facts.maxSkewMs)} of the cluster's time (${clusterTime(facts)}).`,
    ),
);

/** ClockSynchronized's rules in order; the last always applies. */
export const clockRules: readonly ClockRule[] = [noClockData, clocksSkewed, operatorClockSkewed, clocksInSync];

/** The condition of the first rule that speaks. */
export function decideClockSynchronized(facts: ClockFacts, rules: readonly ClockRule[] = clockRules): ConditionUpdate {
  const { status, reason, message } = firstVerdict(rules, facts);
  return { type: ConditionType.ClockSynchronized, status, reason, message };
}

/** Whole seconds, kept at the previous value while the estimate moves by less than a second. */
function steadySeconds(ms: number, old: unknown): number {
  const seconds = ms / 1000;
  return typeof old === 'number' && Math.abs(old - seconds) < 1 ? old : Math.round(seconds) + 0;
}

/**
 * The worst clocks in status, rounded to whole seconds (the estimate's own precision) and kept at their
 * previous value while they move by less than a second: a status write only when something an admin
 * reads changed, not at every renewal. Ordered by the offsets as shown, then the clocks shown before, then
 * by name, so clocks jittering around the same offset neither swap places nor take turns in the list.
 */
export function steadyWorst(worst: readonly ClockOffset[], lastSummary: Record<string, unknown> | undefined): ShownClock[] {
  const key = (clock: { kind: string; name: string }): string => `${clock.kind}/${clock.name}`;
  const lastShown = new Map(((lastSummary?.worst ?? []) as ShownClock[]).map((clock) => [key(clock), clock.offsetSeconds]));
  const steady = worst.map((clock) => {
    const seconds = clock.offsetMs / 1000;
    const k = key(clock);
    const old = lastShown.get(k);
    const offsetSeconds = old !== undefined && Math.abs(old - seconds) < 1 ? old : Math.round(seconds);
    return { shown: { kind: clock.kind, name: clock.name, offsetSeconds }, key: k, magnitude: Math.abs(offsetSeconds), wasShown: old !== undefined ? 0 : 1 };
  });
  // On a tie the clock already shown stays: among 2,000 clocks jittering around the same second, one that
  // was not shown replaces one that was only when it is a whole second worse. (Keys computed once: this
  // runs on every reconcile over every clock.)
  return steady
    .sort((a, b) => b.magnitude - a.magnitude || a.wasShown - b.wasShown || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, SHOWN_CLOCKS)
    .map((entry) => entry.shown);
}

/** Every clock against the cluster's own time (the consensus of its nodes and API servers), the operator's included. */
export function clockFacts(spec: ResolvedSpec, observation: ClockObservation, lastSummary?: Record<string, unknown>): ClockFacts {
  const maxSkewMs = spec.clock.maxSkewMs;
  const cluster = observation.cluster?.maxSkewMs === maxSkewMs ? observation.cluster.clocks : relativeToCluster(observation.offsets, maxSkewMs);
  const operatorOffsetMs = cluster.operatorOffsetMs;
  const worst = [...cluster.subjects].sort((a, b) => Math.abs(b.offsetMs) - Math.abs(a.offsetMs));
  return {
    maxSkewMs,
    measured: observation.offsets.length,
    referenceClocks: cluster.referenceClocks,
    skewed: worst.filter((clock) => Math.abs(clock.offsetMs) > maxSkewMs),
    operatorOffsetMs,
    operatorSkewed: operatorOffsetMs !== undefined && Math.abs(operatorOffsetMs) > maxSkewMs,
    shown: steadyWorst(worst, lastSummary),
  };
}

/** One finding per skewed clock, the operator's own included. */
export function clockFindings(facts: ClockFacts): Finding[] {
  const findings: Finding[] = facts.skewed.map((clock) => ({
    subject: `${clock.kind}/${clock.name}`,
    health: 'action',
    message:
      `clock ${direction(clock.offsetMs)} by ${formatDuration(Math.abs(clock.offsetMs))} (vs the cluster's time, ${clusterTime(facts)}); ` +
      'fix its time sync (chrony/NTP)',
  }));
  if (facts.operatorSkewed) {
    findings.push({
      subject: 'operator',
      health: 'action',
      message: `${operatorText(facts)} (vs the cluster's time, ${clusterTime(facts)}); fix time sync (chrony/NTP) on the host running the operator`,
    });
  }
  return findings;
}

/** status.clock: bounded, and steady while nothing an admin reads has changed. */
function clockSummary(facts: ClockFacts, lastSummary: Record<string, unknown> | undefined): Record<string, unknown> {
  const operatorMs = facts.operatorOffsetMs;
  const operatorSeconds = operatorMs === undefined ? undefined : steadySeconds(operatorMs, lastSummary?.operatorOffsetSeconds);
  return {
    maxSkew: formatDuration(facts.maxSkewMs),
    measured: facts.measured,
    skewed: facts.skewed.length,
    worst: facts.shown,
    ...(operatorSeconds === undefined ? {} : { operatorOffsetSeconds: operatorSeconds }),
  };
}

/**
 * During the warm-up after a start, too few samples are no evidence to overturn what was last reported:
 * the last condition and summary stand, so nothing new is written. Undefined: judge afresh.
 */
export function heldReport(observation: ClockObservation, lastSummary: Record<string, unknown> | undefined): AreaReport | undefined {
  const enough = observation.offsets.length > 0 && observation.offsets.every((clock) => clock.samples >= MIN_SAMPLES);
  if (!observation.warmingUp || enough || !observation.lastCondition || !lastSummary) return undefined;
  // A failure to observe (a cache that could not sync while the API server restarted) is no verdict worth holding.
  if (!VERDICTS.has(observation.lastCondition.reason)) return undefined;
  return { conditions: [observation.lastCondition], findings: [], summary: lastSummary };
}

/** lastSummary: status.clock as last written (the summary this returns, one reconcile earlier). */
export function planClock(spec: ResolvedSpec, observation: ClockObservation, lastSummary?: Record<string, unknown>): AreaReport {
  const held = heldReport(observation, lastSummary);
  if (held) return held;
  const facts = clockFacts(spec, observation, lastSummary);
  return { conditions: [decideClockSynchronized(facts)], findings: clockFindings(facts), summary: clockSummary(facts, lastSummary) };
}
