// BoundTokensHealthy's rules, one table per rule: when it applies, and the status, reason
// and message it gives; then the order (the first rule that applies decides), the facts the
// spec filters, and the findings and summary.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import {
  AUDIT_SILENCE_BOUND_MS,
  auditSilent,
  boundTokensFacts,
  boundTokensFindings,
  boundTokensRules,
  decideBoundTokensHealthy,
  expiryText,
  legacyMountsUnchecked,
  legacyTokensMounted,
  noStaleTokens,
  planBoundTokens,
  staleTokensInUse,
  type BoundTokensFacts,
  type BoundTokensObservation,
  type BoundTokensRule,
  type StaleWorkload,
} from '../../../src/areas/boundtokens/plan.ts';
import type { StaleTokenUser } from '../../../src/areas/boundtokens/stale-tokens.ts';
import { checkRuleTable, type RuleRow } from '../../support/rule-table.ts';

const test = suite('bound-token rules');

const unknownFlags = { source: 'unknown' } as const;
const staticPodFlags = { source: 'staticPod', extendTokenExpiration: true, maxTokenExpiration: '24h' } as const;
const user = (serviceAccount: string): StaleTokenUser => ({ serviceAccount, requests: 3, maxSecondsAfterWarning: 3600, lastSeen: '', userAgents: [] });
const workload = (name: string, refreshesTokens: boolean | undefined): StaleWorkload => ({
  workload: `Deployment ${name}`,
  serviceAccount: name,
  client: 'Python client v11.0.0',
  refreshesTokens,
  advice: 'upgrade it',
  userAgent: 'OpenAPI-Generator/11.0.0/python',
  pods: ['app-1'],
  nodes: ['node-a'],
  credentialIds: [],
  requests: 2,
  maxSecondsAfterWarning: 60,
});

/** Nothing wrong, flags not visible; a row overrides what it is about. */
const facts = (over: Partial<BoundTokensFacts> = {}): BoundTokensFacts => ({
  mounts: [],
  mountsUnchecked: undefined,
  staleUsers: [],
  staleWorkloads: [],
  flags: unknownFlags,
  ...over,
});

function checkRule(rule: BoundTokensRule, rows: RuleRow<BoundTokensFacts>[]): void {
  checkRuleTable(rule, rows);
}

test('staleTokensInUse: False naming the service accounts and their workloads', () => {
  checkRule(staleTokensInUse, [
    { what: 'no stale users', facts: facts(), applies: false },
    {
      what: 'one stale user, no workloads known',
      facts: facts({ staleUsers: [user('ci/app')] }),
      applies: true,
      status: 'False',
      reason: 'StaleTokensInUse',
      message: [
        /^1 service account\(s\) use stale bound tokens, .*: ci\/app\. /,
        /Their clients never refresh tokens; upgrade them \(Go client v0\.15\.7.*or newer\)\. Whether the API server/,
      ],
    },
    {
      what: 'workloads named with what their client does',
      facts: facts({ staleUsers: [user('ci/a')], staleWorkloads: [workload('ci/a', false), workload('ci/b', true), workload('ci/c', undefined)] }),
      applies: true,
      status: 'False',
      reason: 'StaleTokensInUse',
      message: [
        /Workloads: Deployment ci\/a \(Python client v11\.0\.0: must upgrade\), /,
        /, Deployment ci\/b \(Python client v11\.0\.0: refreshes, the program keeps the token\), /,
        /Deployment ci\/c \(Python client v11\.0\.0\)\./,
      ],
    },
    {
      what: 'at most five named',
      facts: facts({ staleUsers: ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => user(`ci/${name}`)) }),
      applies: true,
      status: 'False',
      reason: 'StaleTokensInUse',
      message: /^6 service account\(s\) .*: ci\/a, ci\/b, ci\/c, ci\/d, ci\/e\. /,
    },
  ]);
});

test('legacyTokensMounted: False naming pods and their Secrets', () => {
  checkRule(legacyTokensMounted, [
    { what: 'no mounts', facts: facts(), applies: false },
    {
      what: 'a pod mounting a legacy token',
      facts: facts({ mounts: [{ pod: 'ci/app-1', secret: 'build-token' }], flags: staticPodFlags }),
      applies: true,
      status: 'False',
      reason: 'LegacyTokensMounted',
      message: [
        /^1 pod\(s\) still mount legacy token Secrets instead of projected, expiring tokens: ci\/app-1 \(build-token\)\. /,
        /--service-account-extend-token-expiration is on .*max-token-expiration is 24h\.$/,
      ],
    },
  ]);
});

test('legacyMountsUnchecked: True, saying what was not checked and why', () => {
  checkRule(legacyMountsUnchecked, [
    { what: 'checked', facts: facts(), applies: false },
    {
      what: 'Secret cache not synced',
      facts: facts({ mountsUnchecked: 'secrets are forbidden' }),
      applies: true,
      status: 'True',
      reason: 'NoStaleTokens',
      message: /^No service account uses a stale bound token\. Pods mounting legacy token Secrets were not checked: secrets are forbidden\. Whether/,
    },
  ]);
});

test('auditSilent: Unknown once the audit webhook has been silent for the bound, naming what to check', () => {
  checkRule(auditSilent, [
    { what: 'receiver off', facts: facts(), applies: false },
    { what: 'a batch within the bound', facts: facts({ auditSilentForMs: AUDIT_SILENCE_BOUND_MS - 1000 }), applies: false },
    {
      what: 'silent for the bound',
      facts: facts({ auditSilentForMs: AUDIT_SILENCE_BOUND_MS, auditSilentSince: '2026-06-01T00:00:00.000Z' }),
      applies: true,
      status: 'Unknown',
      reason: 'AuditSilent',
      message: [
        /^No audit event has reached the operator's receiver since 2026-06-01T00:00:00\.000Z, so whether a client uses a stale bound token is not known/,
        /--audit-webhook-config-file/,
      ],
    },
  ]);
});

test('noStaleTokens: True, always applies (the last rule)', () => {
  checkRule(noStaleTokens, [
    {
      what: 'all healthy',
      facts: facts({ flags: { source: 'staticPod', extendTokenExpiration: false } }),
      applies: true,
      status: 'True',
      reason: 'NoStaleTokens',
      message: /^No pod mounts a legacy token Secret\. .* is off; .* is unset \(no limit\)\.$/,
    },
  ]);
});

test('the first rule that applies decides', () => {
  assert.equal(
    boundTokensRules.map((rule) => rule.name),
    ['staleTokensInUse', 'legacyTokensMounted', 'auditSilent', 'legacyMountsUnchecked', 'noStaleTokens'],
  );
  const mounts = [{ pod: 'ci/app-1', secret: 'build-token' }];
  const rows: [string, BoundTokensFacts, string, string][] = [
    ['stale users, mounts and unchecked', facts({ staleUsers: [user('ci/a')], mounts, mountsUnchecked: 'why' }), 'False', 'StaleTokensInUse'],
    ['mounts and unchecked', facts({ mounts, mountsUnchecked: 'why' }), 'False', 'LegacyTokensMounted'],
    ['mounts, audit silent', facts({ mounts, auditSilentForMs: AUDIT_SILENCE_BOUND_MS }), 'False', 'LegacyTokensMounted'],
    ['audit silent, unchecked', facts({ mountsUnchecked: 'why', auditSilentForMs: AUDIT_SILENCE_BOUND_MS }), 'Unknown', 'AuditSilent'],
    ['unchecked', facts({ mountsUnchecked: 'why' }), 'True', 'NoStaleTokens'],
    ['nothing', facts(), 'True', 'NoStaleTokens'],
  ];
  for (const [what, input, status, reason] of rows) {
    const condition = decideBoundTokensHealthy(input);
    assert.equal([condition.status, condition.reason], [status, reason], what);
  }
});

const observation = (over: Partial<BoundTokensObservation> = {}): BoundTokensObservation => ({
  legacyMounts: [{ pod: 'ci/app-1', secret: 'build-token' }],
  legacyMountsUnchecked: undefined,
  flags: unknownFlags,
  staleUsers: undefined,
  counters: { staleTokens: 7, legacyTokens: 2 },
  lastCounters: undefined,
  ...over,
});

test('facts: legacy mounts count only when the spec reports them', () => {
  const reporting = resolveSpec({});
  const silent = resolveSpec({ boundTokens: { reportLegacyMounts: false } });
  const rows: [string, ReturnType<typeof resolveSpec>, BoundTokensObservation, number, string | undefined][] = [
    ['reported', reporting, observation(), 1, undefined],
    ['not reported', silent, observation(), 0, undefined],
    ['unchecked, reported', reporting, observation({ legacyMounts: [], legacyMountsUnchecked: 'forbidden' }), 0, 'forbidden'],
    ['unchecked, not reported', silent, observation({ legacyMounts: [], legacyMountsUnchecked: 'forbidden' }), 0, undefined],
  ];
  for (const [what, spec, input, mounts, unchecked] of rows) {
    const result = boundTokensFacts(spec, input);
    assert.equal([result.mounts.length, result.mountsUnchecked], [mounts, unchecked], what);
  }
});

test('findings: mounts, what was not checked, stale users, then their workloads', () => {
  const result = boundTokensFindings(
    facts({
      mounts: [{ pod: 'ci/app-1', secret: 'build-token' }],
      mountsUnchecked: 'why',
      staleUsers: [user('ci/a')],
      staleWorkloads: [workload('ci/a', false)],
    }),
  );
  assert.equal(
    result.map((finding) => [finding.subject, finding.health]),
    [
      ['pod/ci/app-1', 'action'],
      ['pods', 'unknown'],
      ['serviceaccount/ci/a', 'action'],
      ['deployment/ci/a', 'action'],
    ],
  );
  assert.match(
    result[3]?.message ?? '',
    /^Python client v11\.0\.0 \(a version that never refreshes tokens; user agent ".*"\) .* from pod\(s\) app-1 on node-a: upgrade it$/,
  );
  assert.is(boundTokensFindings(facts({ mounts: Array.from({ length: 60 }, (_, i) => ({ pod: `ci/p${i}`, secret: 's' })) })).length, 50, 'bounded');
});

test('summary: counters grow from the last written ones; flags say whether they are visible', () => {
  const first = planBoundTokens(resolveSpec({}), observation());
  assert.equal(first.summary.apiserverCounters, { staleTokensTotal: 7, legacyTokensTotal: 2 });
  const next = planBoundTokens(resolveSpec({}), observation({ lastCounters: { staleTokens: 5, legacyTokens: 2 } }));
  assert.equal(next.summary.apiserverCounters, { staleTokensTotal: 7, legacyTokensTotal: 2, staleTokensGrowth: 2, legacyTokensGrowth: 0 });
  const down = planBoundTokens(resolveSpec({}), observation({ counters: { staleTokens: undefined, legacyTokens: undefined, unavailable: 'forbidden' } }));
  assert.equal(down.summary.apiserverCounters, { unavailable: 'forbidden' });
  assert.is((first.summary.apiserverFlags as { visible: boolean }).visible, false);
  assert.is(first.summary.staleTokenReporting, 'off: the operator runs no audit webhook receiver (see config/audit)');
  assert.equal(first.summary.podsWithLegacyMounts, ['ci/app-1: build-token']);
  assert.match(expiryText(staticPodFlags), /is on \(projected tokens silently live up to 1 year/);
});

test.run();
