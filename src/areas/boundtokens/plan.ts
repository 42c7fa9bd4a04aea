// BoundTokensHealthy (the token-expiry-extension incident): pods that still mount legacy token Secrets, and
// what the API server reveals about bound-token expiry extension.
import type { ResolvedSpec } from '../../api/defaults.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { ApiserverFlags } from '../../kube/apiserver-flags.ts';
import type { AreaReport, Finding } from '../area.ts';
import type { TokenCounters } from './apiserver-metrics.ts';
import type { StaleTokenUser } from './stale-tokens.ts';

/** A workload whose client kept using an extended token, per client (user agent). */
export interface StaleWorkload {
  /** "Deployment ci/old-app"; "ServiceAccount ci/x" when the token named no pod */
  workload: string;
  serviceAccount: string;
  /** "Python client v11.0.0" */
  client: string;
  /** false: this version never refreshes tokens, upgrade it; true: it does, the program holds the token itself; undefined: unknown client */
  refreshesTokens: boolean | undefined;
  /** what to do, for this client */
  advice: string;
  userAgent: string;
  pods: string[];
  nodes: string[];
  credentialIds: string[];
  requests: number;
  maxSecondsAfterWarning: number;
}

export interface BoundTokensObservation {
  /** "namespace/pod -> secret" for pods mounting a kubernetes.io/service-account-token Secret */
  legacyMounts: { pod: string; secret: string }[];
  /** why pods mounting legacy token Secrets could not be checked (the Secret cache did not sync); undefined: checked */
  legacyMountsUnchecked?: string | undefined;
  flags: ApiserverFlags;
  /** service accounts seen using stale tokens (audit webhook); undefined when the receiver is not enabled */
  staleUsers: StaleTokenUser[] | undefined;
  /** the same, per workload and client library (audit events' pod claims and user agents) */
  staleWorkloads?: StaleWorkload[] | undefined;
  counters: TokenCounters;
  /** the counters at the previous reconcile, for growth */
  previousCounters: { staleTokens?: number; legacyTokens?: number } | undefined;
}

/** The first client-library versions that refresh projected tokens (the token-expiry-extension incident). */
export const REFRESHING_CLIENTS = 'Go client v0.15.7, Python v12.0.0, Java v9.0.0, JavaScript v0.10.3 or newer';

function expiryText(flags: ApiserverFlags): string {
  if (flags.source === 'unknown') return 'Whether the API server extends token expiry (--service-account-extend-token-expiration) is not visible: no kube-apiserver static pod in kube-system.';
  const extend = flags.extendTokenExpiration === false ? 'off' : 'on (projected tokens silently live up to 1 year for clients that never refresh)';
  return `The API server's --service-account-extend-token-expiration is ${extend}; --service-account-max-token-expiration is ${flags.maxTokenExpiration ?? 'unset (no limit)'}.`;
}

export function planBoundTokens(spec: ResolvedSpec, obs: BoundTokensObservation): AreaReport {
  const mounts = spec.boundTokens.reportLegacyMounts ? obs.legacyMounts : [];
  const findings: Finding[] = mounts.slice(0, 50).map((m) => ({ subject: `pod/${m.pod}`, health: 'action', message: `mounts legacy token Secret ${m.secret}: use a projected serviceAccountToken volume (automountServiceAccountToken) instead` }));
  if (obs.legacyMountsUnchecked && spec.boundTokens.reportLegacyMounts) findings.push({ subject: 'pods', health: 'unknown', message: `pods mounting legacy token Secrets were not checked: ${obs.legacyMountsUnchecked}` });
  const stale = obs.staleUsers ?? [];
  for (const u of stale.slice(0, 50)) findings.push({ subject: `serviceaccount/${u.serviceAccount}`, health: 'action', message: `${u.requests} request(s) with a token up to ${u.maxSecondsAfterWarning}s past its refresh time${u.userAgents.length ? ` (clients: ${u.userAgents.join(', ')})` : ''}: upgrade to a client that refreshes tokens (${REFRESHING_CLIENTS})` });
  const workloads = obs.staleWorkloads ?? [];
  for (const w of workloads.slice(0, 50)) {
    const verdict = w.refreshesTokens === false ? 'a version that never refreshes tokens' : w.refreshesTokens ? 'a version that refreshes tokens, so the program itself keeps the token' : 'a client not recognised';
    findings.push({ subject: w.workload.replace(/^(\S+) /, (_, k: string) => `${k.toLowerCase()}/`), health: 'action', message: `${w.client} (${verdict}; user agent "${w.userAgent}") used a token up to ${w.maxSecondsAfterWarning}s past its refresh time in ${w.requests} request(s) from pod(s) ${w.pods.join(', ') || 'unknown'}${w.nodes.length ? ` on ${w.nodes.join(', ')}` : ''}: ${w.advice}` });
  }
  const mustUpgrade = workloads.filter((w) => w.refreshesTokens === false);
  const workloadText = workloads.length ? ` Workloads: ${workloads.slice(0, 5).map((w) => `${w.workload} (${w.client}${w.refreshesTokens === false ? ': must upgrade' : w.refreshesTokens ? ': refreshes, the program keeps the token' : ''})`).join(', ')}.` : '';
  const condition = stale.length > 0
    ? { type: ConditionType.BoundTokensHealthy, status: 'False' as const, reason: Reason.StaleTokensInUse, message: `${stale.length} service account(s) use stale bound tokens, kept alive only by the API server's expiry extension: ${stale.slice(0, 5).map((u) => u.serviceAccount).join(', ')}. Their clients never refresh tokens; upgrade them (${REFRESHING_CLIENTS}).${workloadText} ${expiryText(obs.flags)}` }
    : mounts.length > 0
    ? { type: ConditionType.BoundTokensHealthy, status: 'False' as const, reason: Reason.LegacyTokensMounted, message: `${mounts.length} pod(s) still mount legacy token Secrets instead of projected, expiring tokens: ${mounts.slice(0, 5).map((m) => `${m.pod} (${m.secret})`).join(', ')}. ${expiryText(obs.flags)}` }
    : obs.legacyMountsUnchecked && spec.boundTokens.reportLegacyMounts
    ? { type: ConditionType.BoundTokensHealthy, status: 'True' as const, reason: Reason.NoStaleTokens, message: `No service account uses a stale bound token. Pods mounting legacy token Secrets were not checked: ${obs.legacyMountsUnchecked}. ${expiryText(obs.flags)}` }
    : { type: ConditionType.BoundTokensHealthy, status: 'True' as const, reason: Reason.NoStaleTokens, message: `No pod mounts a legacy token Secret. ${expiryText(obs.flags)}` };
  return {
    conditions: [condition],
    findings,
    summary: {
      legacyMounts: obs.legacyMountsUnchecked && spec.boundTokens.reportLegacyMounts ? 'not checked' : mounts.length,
      staleTokenReporting: obs.staleUsers === undefined ? 'off: the operator runs no audit webhook receiver (see config/audit)' : 'on',
      apiserverCounters: obs.counters.unavailable
        ? { unavailable: obs.counters.unavailable }
        : {
            staleTokensTotal: obs.counters.staleTokens ?? 0, legacyTokensTotal: obs.counters.legacyTokens ?? 0,
            ...(obs.previousCounters ? { staleTokensGrowth: (obs.counters.staleTokens ?? 0) - (obs.previousCounters.staleTokens ?? 0), legacyTokensGrowth: (obs.counters.legacyTokens ?? 0) - (obs.previousCounters.legacyTokens ?? 0) } : {}),
          },
      ...(stale.length ? { staleTokenUsers: stale.slice(0, 10) } : {}),
      ...(workloads.length ? { staleTokenWorkloads: workloads.slice(0, 10), staleTokenClientsToUpgrade: mustUpgrade.length } : {}),
      ...(mounts.length ? { podsWithLegacyMounts: mounts.slice(0, 10).map((m) => `${m.pod}: ${m.secret}`) } : {}),
      apiserverFlags: obs.flags.source === 'unknown' ? { visible: false, why: 'no kube-apiserver static pod in kube-system, so the operator cannot read its flags' } : { visible: true, source: obs.flags.source, extendTokenExpiration: obs.flags.extendTokenExpiration, maxTokenExpiration: obs.flags.maxTokenExpiration ?? 'unset' },
    },
  };
}
