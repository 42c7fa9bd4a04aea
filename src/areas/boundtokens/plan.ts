// BoundTokensHealthy (seed 001): pods that still mount legacy token Secrets, and
// what the API server reveals about bound-token expiry extension.
import type { ResolvedSpec } from '../../api/defaults.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { ApiserverFlags } from '../../kube/apiserver-flags.ts';
import type { AreaReport, Finding } from '../area.ts';

export interface BoundTokensObservation {
  /** "namespace/pod -> secret" for pods mounting a kubernetes.io/service-account-token Secret */
  legacyMounts: { pod: string; secret: string }[];
  flags: ApiserverFlags;
}

function expiryText(flags: ApiserverFlags): string {
  if (flags.source === 'unknown') return 'the API server flags are not visible (--service-account-extend-token-expiration unknown)';
  const extend = flags.extendTokenExpiration === false ? 'off' : 'on (projected tokens silently live up to 1 year for clients that never refresh)';
  return `--service-account-extend-token-expiration is ${extend}; --service-account-max-token-expiration is ${flags.maxTokenExpiration ?? 'unset (no limit)'}`;
}

export function planBoundTokens(spec: ResolvedSpec, obs: BoundTokensObservation): AreaReport {
  const mounts = spec.boundTokens.reportLegacyMounts ? obs.legacyMounts : [];
  const findings: Finding[] = mounts.slice(0, 50).map((m) => ({ subject: `pod/${m.pod}`, health: 'action', message: `mounts legacy token Secret ${m.secret}: use a projected serviceAccountToken volume (automountServiceAccountToken) instead` }));
  const condition = mounts.length > 0
    ? { type: ConditionType.BoundTokensHealthy, status: 'False' as const, reason: Reason.LegacyTokensMounted, message: `${mounts.length} pod(s) still mount legacy token Secrets instead of projected, expiring tokens: ${mounts.slice(0, 5).map((m) => `${m.pod} (${m.secret})`).join(', ')}. ${expiryText(obs.flags)}` }
    : { type: ConditionType.BoundTokensHealthy, status: 'True' as const, reason: Reason.NoStaleTokens, message: `no pod mounts a legacy token Secret. ${expiryText(obs.flags)}` };
  return {
    conditions: [condition],
    findings,
    summary: {
      legacyMounts: mounts.length,
      ...(mounts.length ? { podsWithLegacyMounts: mounts.slice(0, 10).map((m) => `${m.pod}: ${m.secret}`) } : {}),
      apiserverFlags: obs.flags.source === 'unknown' ? { source: 'unknown' } : { source: obs.flags.source, extendTokenExpiration: obs.flags.extendTokenExpiration, maxTokenExpiration: obs.flags.maxTokenExpiration ?? 'unset' },
    },
  };
}
