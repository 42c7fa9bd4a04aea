// Verdict ages, one row per area and kind of evidence (issue #24): how long a verdict may rest on
// evidence that can no longer be refreshed, and what it turns into after that bound. Each row runs the
// area's own pure code just inside the bound (the verdict stands) and at it (Unknown, saying why).
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../src/api/defaults.ts';
import type { AuthPolicy } from '../../src/api/types.ts';
import type { Area } from '../../src/areas/area.ts';
import { AUDIT_SILENCE_BOUND_MS, decideBoundTokensHealthy } from '../../src/areas/boundtokens/plan.ts';
import { ClockEstimator } from '../../src/areas/clock/estimator.ts';
import { planClock } from '../../src/areas/clock/plan.ts';
import type { LegacyTokensObservation } from '../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../src/areas/legacytokens/plan.ts';
import { KEY_EVIDENCE_BOUND_MS, keyEvidence, keySetFrom } from '../../src/kube/service-account-keys.ts';
import { CACHE_STALE_MS, type CacheSet, type UnsyncedCache } from '../../src/policy/caches.ts';
import { evaluateAreas, STALE_VERDICT_MS, type PolicyDeps } from '../../src/policy/reconciler.ts';
import { createLogger } from '../../src/runtime/log.ts';
import { apiError, authPolicy, condition } from '../support/builders.ts';

const test = suite('verdict ages per area');
const NOW = Date.parse('2026-06-01T00:10:00Z');
const silent = createLogger('error', { silent: true });

interface Age {
  area: string;
  evidence: string;
  boundMs: number;
  /** the condition after `ageMs` without a refresh: "status/reason", and its message */
  judge: (ageMs: number) => Promise<{ verdict: string; message: string }> | { verdict: string; message: string };
  /** what it is while the evidence is younger than the bound */
  fresh: string;
  /** what it turns into at the bound, and what the message says */
  stale: string;
  says: RegExp;
}

/** legacyTokens: tokens judged against keys last read `ageMs` ago whose re-read fails since then. */
function keysAged(ageMs: number): { verdict: string; message: string } {
  const evidence = keyEvidence(
    { current: keySetFrom({ keys: [] }), error: 'forbidden', confirmedAtMs: NOW - ageMs, confirmedUnder: 'ap-1', failingSinceMs: NOW - ageMs },
    NOW,
    'ap-1',
  );
  const validity = evidence.keys ? 'valid' : 'undecided';
  const obs: LegacyTokensObservation = {
    secrets: [
      {
        secret: {
          metadata: { name: 'a', namespace: 'apps', uid: 'u', resourceVersion: '1', creationTimestamp: '2026-05-01T00:00:00Z' },
          serviceAccountName: 'a',
          serviceAccountUid: '',
          tokenHash: 'h',
          token: undefined,
          caHash: 'ca',
          lastUsed: undefined,
          invalidSince: undefined,
          rotation: undefined,
          rotationState: undefined,
          rotatedAt: undefined,
          rotatedFrom: undefined,
          rotatedUnder: undefined,
          rotatedForRequest: undefined,
        },
        serviceAccount: 'ok',
        verdict: { validity, reason: validity === 'valid' ? 'Valid' : 'Undecided', detail: '', source: 'offline' },
        staleCA: false,
        terminating: undefined,
      },
    ],
    workloads: [],
    consumers: [],
    keySource: { kind: evidence.keys ? 'published' : 'none', keys: 1, error: evidence.error, stale: evidence.stale },
    externalSigning: undefined,
    apiservers: 'ap-1',
    now: NOW,
  };
  const c = planLegacyTokens(resolveSpec({}), obs, undefined).report.conditions.find((x) => x.type === 'LegacyTokensReady');
  return { verdict: `${c?.status}/${c?.reason}`, message: c?.message ?? '' };
}

/** Any area: its observe (SAR probes, /metrics, flags) failing for a passing reason, or its cache stale, for `ageMs`. */
async function areaAged(ageMs: number, how: 'observe' | 'cache'): Promise<{ verdict: string; message: string }> {
  const policy: AuthPolicy = authPolicy({ generation: 1, status: { conditions: [condition('NodeAuthorizationReady', 'True', 'NodeAuthorizer', 'probed')] } });
  const err = apiError(503, 'the server is currently unable to handle the request', { path: '/apis/authorization.k8s.io/v1/subjectaccessreviews' });
  const area: Area = {
    name: 'nodeAuthorization',
    conditionTypes: ['NodeAuthorizationReady'],
    caches: [{ name: 'nodes', path: '/api/v1/nodes', transform: () => undefined }],
    observe: () => Promise.reject(err),
    plan: () => undefined,
    report: () => ({ conditions: [], summary: {}, findings: [] }),
  };
  const stale: UnsyncedCache[] =
    how === 'cache' && ageMs >= CACHE_STALE_MS
      ? [
          {
            name: 'nodes',
            path: '/api/v1/nodes',
            failure: err,
            error: `not refreshed since ${new Date(Date.now() - ageMs).toISOString()}: ${err.message}`,
            polled: false,
            stale: true,
          },
        ]
      : [];
  const deps: PolicyDeps = {
    client: {} as unknown as PolicyDeps['client'],
    caches: { unsynced: () => stale } as unknown as CacheSet,
    areas: [
      how === 'cache'
        ? {
            ...area,
            observe: () => Promise.resolve(undefined),
            report: () => ({ conditions: [condition('NodeAuthorizationReady', 'True', 'NodeAuthorizer', 'probed')], summary: {}, findings: [] }),
          }
        : area,
    ],
    log: silent,
    events: undefined,
    failingSince: new Map(how === 'observe' ? [['nodeAuthorization', Date.now() - ageMs]] : []),
  };
  const { reports } = await evaluateAreas(policy, deps, 'run', new AbortController().signal, silent);
  const c = reports.nodeAuthorization?.conditions[0];
  return c ? { verdict: `${c.status}/${c.reason}`, message: c.message } : { verdict: 'kept', message: '' };
}

/** clock: a subject whose Lease was last renewed `ageMs` ago (its watch broken, its kubelet gone). */
function leaseAged(ageMs: number): { verdict: string; message: string } {
  const estimator = new ClockEstimator();
  for (let i = 0; i < 5; i++) estimator.record('node', 'node-a', 0, NOW - ageMs - (4 - i) * 10_000);
  for (let i = 0; i < 5; i++) estimator.record('apiserver', 'ap-1', 0, NOW - ageMs - (4 - i) * 10_000);
  const report = planClock(resolveSpec({}), { offsets: estimator.offsets(NOW) });
  const c = report.conditions[0];
  return { verdict: `${c?.status}/${c?.reason}`, message: c?.message ?? '' };
}

/** boundTokens: the audit webhook silent for `ageMs`. */
function auditAged(ageMs: number): { verdict: string; message: string } {
  const c = decideBoundTokensHealthy({
    mounts: [],
    mountsUnchecked: undefined,
    staleUsers: [],
    staleWorkloads: [],
    flags: { source: 'unknown' },
    auditSilentForMs: ageMs,
  });
  return { verdict: `${c.status}/${c.reason}`, message: c.message };
}

const AGES: Age[] = [
  {
    area: 'legacyTokens',
    evidence: 'published signing keys (/openid/v1/jwks)',
    boundMs: KEY_EVIDENCE_BOUND_MS,
    judge: keysAged,
    fresh: 'True/TokensValid',
    stale: 'Unknown/ObserveFailed',
    says: /could not be re-read since \S+Z \(last read at \S+Z\), longer than 60s/,
  },
  {
    area: 'any (e.g. nodeAuthorization)',
    evidence: 'what observe reads each time (SAR probes, /metrics)',
    boundMs: STALE_VERDICT_MS,
    judge: (ms) => areaAged(ms, 'observe'),
    fresh: 'kept',
    stale: 'Unknown/ObserveFailed',
    says: /could not be re-checked since \S+Z/,
  },
  {
    area: 'any (e.g. nodeAuthorization)',
    evidence: 'a watched cache (Nodes, Secrets, Pods, Leases)',
    boundMs: CACHE_STALE_MS,
    judge: (ms) => areaAged(ms, 'cache'),
    fresh: 'True/NodeAuthorizer',
    stale: 'Unknown/ObserveFailed',
    says: /not refreshed since \S+Z/,
  },
  {
    area: 'clock',
    evidence: 'Lease renewals of each node and API server',
    boundMs: 5 * 60_000,
    judge: leaseAged,
    fresh: 'True/ClocksInSync',
    stale: 'Unknown/NoClockData',
    says: /No Lease renewals observed/,
  },
  {
    area: 'boundTokens',
    evidence: 'audit events (the audit webhook)',
    boundMs: AUDIT_SILENCE_BOUND_MS,
    judge: auditAged,
    fresh: 'True/NoStaleTokens',
    stale: 'Unknown/AuditSilent',
    says: /No audit event has reached the operator's receiver since/,
  },
];

test('each verdict stands inside its bound and turns Unknown at it, saying why', async () => {
  for (const age of AGES) {
    const name = `${age.area}: ${age.evidence}`;
    const inside = await age.judge(age.boundMs - 5000);
    assert.is(inside.verdict, age.fresh, `${name}, ${age.boundMs - 5000} ms old`);
    const at = await age.judge(age.boundMs + 500);
    assert.is(at.verdict, age.stale, `${name}, ${age.boundMs + 500} ms old: ${at.message}`);
    assert.match(at.message, age.says, name);
  }
});

test.run();
