// ClockSynchronized from the measured offsets (seed 000): an API server whose
// clock is behind the token issuer's by more than the JWT leeway (go-jose's
// DefaultLeeway, 1 minute, in Kubernetes' validator) rejects fresh bound tokens
// as not yet valid, giving random 401s.
import type { ResolvedSpec } from '../../api/defaults.ts';
import { formatDuration } from '../../api/duration.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { AreaReport, Finding } from '../area.ts';
import type { ClockOffset } from './estimator.ts';

export interface ClockObservation {
  offsets: ClockOffset[];
}

const describe = (o: ClockOffset): string => `${o.kind} ${o.name} ${o.offsetMs >= 0 ? '+' : ''}${formatDuration(o.offsetMs)}`;

export function planClock(spec: ResolvedSpec, obs: ClockObservation): AreaReport {
  const max = spec.clock.maxSkewMs;
  const worst = [...obs.offsets].sort((a, b) => Math.abs(b.offsetMs) - Math.abs(a.offsetMs));
  const skewed = worst.filter((o) => Math.abs(o.offsetMs) > max);
  const findings: Finding[] = skewed.map((o) => ({
    subject: `${o.kind}/${o.name}`, health: 'action',
    message: `clock ${o.offsetMs > 0 ? 'ahead' : 'behind'} by ${formatDuration(Math.abs(o.offsetMs))} (${o.kind === 'node' ? 'vs the API server' : 'vs the operator'}); fix its time sync (chrony/NTP)`,
  }));
  let condition;
  if (obs.offsets.length === 0) {
    condition = { type: ConditionType.ClockSynchronized, status: 'Unknown' as const, reason: Reason.NoClockData, message: 'no Lease renewals observed yet (node Leases in kube-node-lease, API-server identity Leases in kube-system)' };
  } else if (skewed.length > 0) {
    const servers = skewed.filter((o) => o.kind === 'apiserver');
    const what = servers.length
      ? `bound service-account tokens issued by one API server are rejected by ${servers.map((o) => o.name).join(', ')} as "not valid yet" (JWT nbf/iat beyond the 60s leeway): random 401s`
      : 'kubelets on these nodes present fresh projected tokens and certificates that a correct clock judges from the future or expired; their Leases and pods misbehave';
    condition = { type: ConditionType.ClockSynchronized, status: 'False' as const, reason: Reason.ClockSkewDetected, message: `${skewed.length} clock(s) off by more than ${formatDuration(max)}: ${skewed.slice(0, 5).map(describe).join(', ')}. ${what}` };
  } else {
    condition = { type: ConditionType.ClockSynchronized, status: 'True' as const, reason: Reason.ClocksInSync, message: `${obs.offsets.length} clock(s) within ${formatDuration(max)}; worst: ${worst[0] ? describe(worst[0]) : 'none'}` };
  }
  return {
    conditions: [condition],
    findings,
    summary: {
      maxSkew: formatDuration(max),
      measured: obs.offsets.length,
      skewed: skewed.length,
      worst: worst.slice(0, 5).map((o) => ({ kind: o.kind, name: o.name, offsetSeconds: Math.round(o.offsetMs / 100) / 10, samples: o.samples })),
    },
  };
}
