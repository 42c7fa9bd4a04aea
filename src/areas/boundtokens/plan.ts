// BoundTokensHealthy (the token-expiry-extension incident): pods that still mount legacy token Secrets, and
// what the API server reveals about bound-token expiry extension.
//
// The decision is a list of named rules tried in order (`boundTokensRules`): the first that applies
// gives the condition's status, reason and message, as cert-manager's readiness checks do.
import type { ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import { firstVerdict, when, type Rule, type Verdict } from '../../api/rules.ts';
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

/** A legacy token Secret mounted by a pod. */
export interface LegacyMount {
  /** "namespace/pod" */
  pod: string;
  secret: string;
}

export interface BoundTokensObservation {
  /** pods mounting a kubernetes.io/service-account-token Secret */
  legacyMounts: LegacyMount[];
  /** why pods mounting legacy token Secrets could not be checked (the Secret cache did not sync); undefined: checked */
  legacyMountsUnchecked?: string | undefined;
  flags: ApiserverFlags;
  /** service accounts seen using stale tokens (audit webhook); undefined when the receiver is not enabled */
  staleUsers: StaleTokenUser[] | undefined;
  /** the same, per workload and client library (audit events' pod claims and user agents) */
  staleWorkloads?: StaleWorkload[] | undefined;
  counters: TokenCounters;
  /** with the audit receiver on: how long since an audit batch last arrived (or since this replica started leading) */
  auditSilentForMs?: number | undefined;
  /** when that silence began (RFC 3339) */
  auditSilentSince?: string | undefined;
  /** the counters as last written to status (one reconcile earlier), for growth */
  lastCounters: { staleTokens?: number; legacyTokens?: number } | undefined;
}

/** The first client-library versions that refresh projected tokens (the token-expiry-extension incident). */
export const REFRESHING_CLIENTS = 'Go client v0.15.7, Python v12.0.0, Java v9.0.0, JavaScript v0.10.3 or newer';

/** How many of each kind of finding, and of each list in a condition message. */
const MAX_FINDINGS = 50;
const MAX_NAMED = 5;

/** What the rules judge. */
export interface BoundTokensFacts {
  /** legacy mounts, when the spec asks to report them */
  mounts: LegacyMount[];
  /** why legacy mounts could not be checked, when the spec asks to report them */
  mountsUnchecked: string | undefined;
  staleUsers: StaleTokenUser[];
  staleWorkloads: StaleWorkload[];
  flags: ApiserverFlags;
  /** with the audit receiver on: how long no audit batch has arrived, and since when (RFC 3339) */
  auditSilentForMs?: number | undefined;
  auditSilentSince?: string | undefined;
}

/**
 * How long the audit webhook may be silent before "no stale tokens" is no longer evidence: kube-apiserver
 * sends a batch at least every 30 s (--audit-webhook-batch-max-wait) while service accounts make requests,
 * and the operator's own lease renewals are such requests.
 */
export const AUDIT_SILENCE_BOUND_MS = 180_000;

/** A named check (the shared shape, src/api/rules.ts): the first rule that speaks decides BoundTokensHealthy. */
export type BoundTokensRule = Rule<BoundTokensFacts>;

const boundTokensHealthy = (status: ConditionUpdate['status'], reason: string, message: string): Verdict => ({ status, reason, message });

/** What the API server's flags reveal about token expiry extension, in one sentence. */
export function expiryText(flags: ApiserverFlags): string {
  if (flags.source === 'unknown') {
    return (
      'Whether the API server extends token expiry (--service-account-extend-token-expiration) is not visible: ' +
      'no kube-apiserver static pod in kube-system.'
    );
  }
  const extend = flags.extendTokenExpiration === false ? 'off' : 'on (projected tokens silently live up to 1 year for clients that never refresh)';
  const maxExpiration = flags.maxTokenExpiration ?? 'unset (no limit)';
  return `The API server's --service-account-extend-token-expiration is ${extend}; --service-account-max-token-expiration is ${maxExpiration}.`;
}

/** ": must upgrade" for a client that never refreshes, and what a refreshing one does wrong. */
function refreshNote(workload: StaleWorkload): string {
  if (workload.refreshesTokens === false) return ': must upgrade';
  return workload.refreshesTokens ? ': refreshes, the program keeps the token' : '';
}

function workloadsText(workloads: readonly StaleWorkload[]): string {
  if (workloads.length === 0) return '';
  const named = workloads.slice(0, MAX_NAMED).map((workload) => `${workload.workload} (${workload.client}${refreshNote(workload)})`);
  return ` Workloads: ${named.join(', ')}.`;
}

export const staleTokensInUse: BoundTokensRule = when(
  'staleTokensInUse',
  (facts) => facts.staleUsers.length > 0,
  (facts) => {
    const users = facts.staleUsers.slice(0, MAX_NAMED).map((user) => user.serviceAccount);
    const message =
      `${facts.staleUsers.length} service account(s) use stale bound tokens, kept alive only by the API server's expiry extension: ${users.join(', ')}. ` +
      `Their clients never refresh tokens; upgrade them (${REFRESHING_CLIENTS}).${workloadsText(facts.staleWorkloads)} ${expiryText(facts.flags)}`;
    return boundTokensHealthy('False', Reason.StaleTokensInUse, message);
  },
);

export const legacyTokensMounted: BoundTokensRule = when(
  'legacyTokensMounted',
  (facts) => facts.mounts.length > 0,
  (facts) => {
    const mounts = facts.mounts.slice(0, MAX_NAMED).map((mount) => `${mount.pod} (${mount.secret})`);
    const message =
      `${facts.mounts.length} pod(s) still mount legacy token Secrets instead of projected, expiring tokens: ${mounts.join(', ')}. ` + expiryText(facts.flags);
    return boundTokensHealthy('False', Reason.LegacyTokensMounted, message);
  },
);

export const auditSilent: BoundTokensRule = when(
  'auditSilent',
  (facts) => facts.auditSilentForMs !== undefined && facts.auditSilentForMs >= AUDIT_SILENCE_BOUND_MS,
  (facts) =>
    boundTokensHealthy(
      'Unknown',
      Reason.AuditSilent,
      `No audit event has reached the operator's receiver since ${facts.auditSilentSince ?? 'it started'}, so whether a client uses a stale bound token is not known: ` +
        "check kube-apiserver's --audit-webhook-config-file and --audit-policy-file and that the webhook reaches the operator's audit Service (docs/platforms.md). " +
        expiryText(facts.flags),
    ),
);

export const legacyMountsUnchecked: BoundTokensRule = when(
  'legacyMountsUnchecked',
  (facts) => facts.mountsUnchecked !== undefined,
  (facts) => {
    const message =
      `No service account uses a stale bound token. Pods mounting legacy token Secrets were not checked: ${facts.mountsUnchecked ?? ''}. ` +
      expiryText(facts.flags);
    return boundTokensHealthy('True', Reason.NoStaleTokens, message);
  },
);

export const noStaleTokens: BoundTokensRule = when(
  'noStaleTokens',
  () => true,
  (facts) => boundTokensHealthy('True', Reason.NoStaleTokens, `No pod mounts a legacy token Secret. ${expiryText(facts.flags)}`),
);

/** BoundTokensHealthy's rules in order; the last always applies. */
export const boundTokensRules: readonly BoundTokensRule[] = [staleTokensInUse, legacyTokensMounted, auditSilent, legacyMountsUnchecked, noStaleTokens];

/** The condition of the first rule that speaks. */
export function decideBoundTokensHealthy(facts: BoundTokensFacts, rules: readonly BoundTokensRule[] = boundTokensRules): ConditionUpdate {
  const { status, reason, message } = firstVerdict(rules, facts);
  return { type: ConditionType.BoundTokensHealthy, status, reason, message };
}

/** The observation as the rules see it: legacy mounts count only when the spec asks to report them. */
export function boundTokensFacts(spec: ResolvedSpec, observation: BoundTokensObservation): BoundTokensFacts {
  const report = spec.boundTokens.reportLegacyMounts;
  return {
    mounts: report ? observation.legacyMounts : [],
    mountsUnchecked: report && observation.legacyMountsUnchecked ? observation.legacyMountsUnchecked : undefined,
    staleUsers: observation.staleUsers ?? [],
    staleWorkloads: observation.staleWorkloads ?? [],
    flags: observation.flags,
    auditSilentForMs: observation.auditSilentForMs,
    auditSilentSince: observation.auditSilentSince,
  };
}

/** "Deployment ci/app" → "deployment/ci/app", the subject form findings use. */
const workloadSubject = (workload: string): string => workload.replace(/^(\S+) /, (_, kind: string) => `${kind.toLowerCase()}/`);

function staleWorkloadFinding(workload: StaleWorkload): Finding {
  const verdict =
    workload.refreshesTokens === false
      ? 'a version that never refreshes tokens'
      : workload.refreshesTokens
        ? 'a version that refreshes tokens, so the program itself keeps the token'
        : 'a client not recognised';
  const nodes = workload.nodes.length ? ` on ${workload.nodes.join(', ')}` : '';
  const message =
    `${workload.client} (${verdict}; user agent "${workload.userAgent}") used a token up to ${workload.maxSecondsAfterWarning}s past its refresh time ` +
    `in ${workload.requests} request(s) from pod(s) ${workload.pods.join(', ') || 'unknown'}${nodes}: ${workload.advice}`;
  return { subject: workloadSubject(workload.workload), health: 'action', message };
}

function staleUserFinding(user: StaleTokenUser): Finding {
  const clients = user.userAgents.length ? ` (clients: ${user.userAgents.join(', ')})` : '';
  const message =
    `${user.requests} request(s) with a token up to ${user.maxSecondsAfterWarning}s past its refresh time${clients}: ` +
    `upgrade to a client that refreshes tokens (${REFRESHING_CLIENTS})`;
  return { subject: `serviceaccount/${user.serviceAccount}`, health: 'action', message };
}

/** Legacy mounts, then what could not be checked, then stale users and their workloads (each list bounded). */
export function boundTokensFindings(facts: BoundTokensFacts): Finding[] {
  const findings: Finding[] = facts.mounts.slice(0, MAX_FINDINGS).map((mount) => ({
    subject: `pod/${mount.pod}`,
    health: 'action',
    message: `mounts legacy token Secret ${mount.secret}: use a projected serviceAccountToken volume (automountServiceAccountToken) instead`,
  }));
  if (facts.mountsUnchecked) {
    findings.push({ subject: 'pods', health: 'unknown', message: `pods mounting legacy token Secrets were not checked: ${facts.mountsUnchecked}` });
  }
  findings.push(...facts.staleUsers.slice(0, MAX_FINDINGS).map(staleUserFinding));
  findings.push(...facts.staleWorkloads.slice(0, MAX_FINDINGS).map(staleWorkloadFinding));
  return findings;
}

/** The API server's token counters, and their growth since the last reconcile when it is known. */
function countersSummary(counters: TokenCounters, lastCounters: BoundTokensObservation['lastCounters']): Record<string, unknown> {
  if (counters.unavailable) return { unavailable: counters.unavailable };
  const staleTokens = counters.staleTokens ?? 0;
  const legacyTokens = counters.legacyTokens ?? 0;
  const growth = lastCounters
    ? { staleTokensGrowth: staleTokens - (lastCounters.staleTokens ?? 0), legacyTokensGrowth: legacyTokens - (lastCounters.legacyTokens ?? 0) }
    : {};
  return { staleTokensTotal: staleTokens, legacyTokensTotal: legacyTokens, ...growth };
}

function flagsSummary(flags: ApiserverFlags): Record<string, unknown> {
  if (flags.source === 'unknown') {
    return { visible: false, why: 'no kube-apiserver static pod in kube-system, so the operator cannot read its flags' };
  }
  return { visible: true, source: flags.source, extendTokenExpiration: flags.extendTokenExpiration, maxTokenExpiration: flags.maxTokenExpiration ?? 'unset' };
}

/** status.boundTokens: bounded lists, and the counters the next reconcile reads back as lastCounters. */
function boundTokensSummary(facts: BoundTokensFacts, observation: BoundTokensObservation): Record<string, unknown> {
  const { mounts, staleUsers, staleWorkloads } = facts;
  const mustUpgrade = staleWorkloads.filter((workload) => workload.refreshesTokens === false);
  return {
    legacyMounts: facts.mountsUnchecked ? 'not checked' : mounts.length,
    staleTokenReporting: observation.staleUsers === undefined ? 'off: the operator runs no audit webhook receiver (see config/audit)' : 'on',
    apiserverCounters: countersSummary(observation.counters, observation.lastCounters),
    ...(staleUsers.length ? { staleTokenUsers: staleUsers.slice(0, 10) } : {}),
    ...(staleWorkloads.length ? { staleTokenWorkloads: staleWorkloads.slice(0, 10), staleTokenClientsToUpgrade: mustUpgrade.length } : {}),
    ...(mounts.length ? { podsWithLegacyMounts: mounts.slice(0, 10).map((mount) => `${mount.pod}: ${mount.secret}`) } : {}),
    apiserverFlags: flagsSummary(facts.flags),
  };
}

export function planBoundTokens(spec: ResolvedSpec, observation: BoundTokensObservation): AreaReport {
  const facts = boundTokensFacts(spec, observation);
  return { conditions: [decideBoundTokensHealthy(facts)], findings: boundTokensFindings(facts), summary: boundTokensSummary(facts, observation) };
}
