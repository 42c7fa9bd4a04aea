// ClockSynchronized from the measured offsets (the clock-skew incident): an API server whose
// clock is behind the token issuer's by more than the JWT leeway (go-jose's
// DefaultLeeway, 1 minute, in Kubernetes' validator) rejects fresh bound tokens
// as not yet valid, giving random 401s.
import type { ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { formatDuration } from '../../api/duration.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { AreaReport, Finding } from '../area.ts';
import { relativeToCluster, type ClockOffset } from './estimator.ts';

export interface ClockObservation {
  /** raw: API servers against the operator's clock, nodes against the API server's */
  offsets: ClockOffset[];
  /**
   * The operator started observing moments ago (a restart, a new leader) and its
   * samples are still too few to judge: the last reported condition and summary
   * stand until they are enough (or the warm-up ends).
   */
  warmingUp?: boolean;
  /** ClockSynchronized as last written to status, if any */
  previous?: ConditionUpdate | undefined;
}

/** Samples per subject before the median is trusted over the condition the operator wrote before it restarted. */
export const MIN_SAMPLES = 3;

/** What the measured offsets concluded (as opposed to a failure to observe them). */
const VERDICTS: ReadonlySet<string> = new Set([Reason.ClocksInSync, Reason.ClockSkewDetected, Reason.OperatorClockSkewed]);

interface WorstEntry { kind: string; name: string; offsetSeconds: number }

/**
 * Offsets in status, rounded to whole seconds (the estimate's own precision) and
 * kept at their previous value while they move by less than a second: a status
 * write only when something an admin reads changed, not at every renewal.
 */
/** Whole seconds, kept at the previous value while the estimate moves by less than a second. */
function steadySeconds(ms: number, old: unknown): number {
  const seconds = ms / 1000;
  return typeof old === 'number' && Math.abs(old - seconds) < 1 ? old : Math.round(seconds) + 0;
}

function steadyWorst(worst: readonly ClockOffset[], previous: Record<string, unknown> | undefined): WorstEntry[] {
  const before = new Map(((previous?.worst ?? []) as WorstEntry[]).map((w) => [`${w.kind}/${w.name}`, w.offsetSeconds]));
  return worst.map((o) => {
    const seconds = o.offsetMs / 1000;
    const old = before.get(`${o.kind}/${o.name}`);
    return { kind: o.kind, name: o.name, offsetSeconds: old !== undefined && Math.abs(old - seconds) < 1 ? old : Math.round(seconds) };
  });
}

export function planClock(spec: ResolvedSpec, obs: ClockObservation, previous?: Record<string, unknown>): AreaReport {
  const max = spec.clock.maxSkewMs;
  // Every clock against the cluster's own time (the consensus of its nodes and API servers), the operator's included.
  const cluster = relativeToCluster(obs.offsets, max);
  const operatorMs = cluster.operatorOffsetMs;
  const operatorSkewed = operatorMs !== undefined && Math.abs(operatorMs) > max;
  const worst = [...cluster.subjects].sort((a, b) => Math.abs(b.offsetMs) - Math.abs(a.offsetMs));
  const skewed = worst.filter((o) => Math.abs(o.offsetMs) > max);
  const enough = obs.offsets.length > 0 && obs.offsets.every((o) => o.samples >= MIN_SAMPLES);
  if (obs.warmingUp && !enough && obs.previous && previous && VERDICTS.has(obs.previous.reason)) {
    // No evidence yet to overturn the verdict last reported: keep it, write nothing new. A failure
    // (a cache that could not sync while the API server restarted) is not a verdict worth keeping.
    return { conditions: [obs.previous], findings: [], summary: previous };
  }
  const findings: Finding[] = skewed.map((o) => ({
    subject: `${o.kind}/${o.name}`, health: 'action',
    message: `clock ${o.offsetMs > 0 ? 'ahead' : 'behind'} by ${formatDuration(Math.abs(o.offsetMs))} (vs the cluster's time, the median of ${cluster.referenceClocks} agreeing clock(s)); fix its time sync (chrony/NTP)`,
  }));
  const operatorText = operatorMs === undefined ? '' : `the operator's own clock is ${operatorMs > 0 ? 'ahead' : 'behind'} by ${formatDuration(Math.abs(operatorMs))}`;
  if (operatorSkewed) findings.push({ subject: 'operator', health: 'action', message: `${operatorText} (vs the cluster's time, the median of ${cluster.referenceClocks} agreeing clock(s)); fix time sync (chrony/NTP) on the host running the operator` });
  const operatorSeconds = operatorMs === undefined ? undefined : steadySeconds(operatorMs, previous?.operatorOffsetSeconds);
  // Ordered by the offsets as shown (then by name), so two clocks jittering around the same offset do not swap places.
  const shown = steadyWorst(worst, previous)
    .sort((a, b) => Math.abs(b.offsetSeconds) - Math.abs(a.offsetSeconds) || `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`))
    .slice(0, 5);
  const described = (o: WorstEntry): string => `${o.kind} ${o.name} ${o.offsetSeconds >= 0 ? '+' : ''}${formatDuration(o.offsetSeconds * 1000)}`;
  let condition: ConditionUpdate;
  if (obs.offsets.length === 0) {
    condition = { type: ConditionType.ClockSynchronized, status: 'Unknown', reason: Reason.NoClockData, message: 'No Lease renewals observed yet (node Leases in kube-node-lease, API-server identity Leases in kube-system); the clocks are judged once they renew, every 10 seconds.' };
  } else if (skewed.length > 0) {
    const servers = skewed.filter((o) => o.kind === 'apiserver');
    const what = servers.length
      ? `Bound service-account tokens issued by another API server are rejected by ${servers.map((o) => o.name).join(', ')} as "not valid yet" (beyond the 60s JWT leeway), giving random 401s`
      : 'Kubelets on these nodes present fresh projected tokens and certificates that a correct clock judges as from the future or expired, so their Leases and pods misbehave';
    const list = shown.filter((w) => skewed.some((o) => o.kind === w.kind && o.name === w.name)).map(described).join(', ');
    condition = { type: ConditionType.ClockSynchronized, status: 'False', reason: Reason.ClockSkewDetected, message: `${skewed.length} clock(s) off by more than ${formatDuration(max)}: ${list}. ${what}. Fix time sync (chrony/NTP) on those hosts.${operatorSkewed ? ` Also, ${operatorText} of the cluster's time.` : ''}` };
  } else if (operatorSkewed) {
    condition = { type: ConditionType.ClockSynchronized, status: 'False', reason: Reason.OperatorClockSkewed, message: `The operator's own clock is off by more than ${formatDuration(max)}: ${operatorText} of the cluster's time (the median of ${cluster.referenceClocks} agreeing clock(s)); all ${obs.offsets.length} node and API-server clock(s) agree within ${formatDuration(max)}. The operator misjudges token ages and Lease expiry; fix time sync (chrony/NTP) on the host running it.` };
  } else {
    condition = { type: ConditionType.ClockSynchronized, status: 'True', reason: Reason.ClocksInSync, message: `All ${obs.offsets.length} measured clock(s) are within ${formatDuration(max)} of the cluster's time (the median of ${cluster.referenceClocks} agreeing clock(s)).` };
  }
  return {
    conditions: [condition],
    findings,
    summary: {
      maxSkew: formatDuration(max),
      measured: obs.offsets.length,
      skewed: skewed.length,
      worst: shown,
      ...(operatorSeconds === undefined ? {} : { operatorOffsetSeconds: operatorSeconds }),
    },
  };
}
