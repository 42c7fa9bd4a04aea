// Stale tokens by workload and client (issue #18 item 3): user agents parsed into
// client libraries and versions, judged by the token-expiry-extension incident's table of refreshing versions.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { parseClient } from '../../../src/areas/boundtokens/clients.ts';
import { planBoundTokens } from '../../../src/areas/boundtokens/plan.ts';
import { StaleTokenClients, staleTokenUse } from '../../../src/areas/boundtokens/stale-tokens.ts';

const test = suite('stale tokens by workload and client');

test('user agents: library, version and whether it refreshes tokens (the token-expiry-extension incident)', () => {
  const rows: [string, string, boolean | undefined][] = [
    ['OpenAPI-Generator/11.0.0/python', 'Python client v11.0.0', false],
    ['OpenAPI-Generator/12.0.0/python', 'Python client v12.0.0', true],
    ['OpenAPI-Generator/8.0.2/java', 'Java client v8.0.2', false],
    ['OpenAPI-Generator/9.0.0/java', 'Java client v9.0.0', true],
    ['my-operator/v1.15.6 (linux/amd64) kubernetes/abc1234', 'Go client-go v0.15.6', false],
    ['my-operator/v1.15.7 (linux/amd64) kubernetes/abc1234', 'Go client-go v0.15.7', true],
    ['kubectl/v1.30.2 (linux/amd64) kubernetes/39683505', 'Go client-go v0.30.2', true],
    ['@kubernetes/client-node/0.10.2', 'JavaScript client v0.10.2', false],
    ['kubernetes-client-haskell/0.3.0.0', 'Haskell client v0.3.0.0', true],
    ['kubeclient/4.11.0', 'Ruby client v4.11.0', false],
    ['curl/8.5.0', 'an unrecognised client', undefined],
    ['', 'an unrecognised client', undefined],
  ];
  for (const [ua, name, refreshes] of rows) {
    const c = parseClient(ua);
    assert.is(c.name, name, ua);
    assert.is(c.refreshesTokens, refreshes, ua);
  }
});

const event = (ua: string, pod: string, uid: string): Record<string, unknown> => ({
  annotations: { 'authentication.k8s.io/stale-token': 'subject: system:serviceaccount:ci:app, seconds after warning threshold: 3600' },
  userAgent: ua,
  user: {
    username: 'system:serviceaccount:ci:app',
    extra: {
      'authentication.kubernetes.io/pod-name': [pod],
      'authentication.kubernetes.io/pod-uid': [uid],
      'authentication.kubernetes.io/node-name': ['node-a'],
      'authentication.kubernetes.io/credential-id': ['JTI=1234'],
    },
  },
});

test('an audit event gives pod, node, credential id and user agent; grouped per pod and client, bounded', () => {
  const use = staleTokenUse(event('OpenAPI-Generator/11.0.0/python', 'old-1', 'u1'));
  assert.equal(use, {
    serviceAccount: 'ci/app',
    secondsAfter: 3600,
    pod: { namespace: 'ci', name: 'old-1', uid: 'u1' },
    node: 'node-a',
    credentialId: 'JTI=1234',
    userAgent: 'OpenAPI-Generator/11.0.0/python',
  });
  assert.is(staleTokenUse({ annotations: {}, userAgent: 'x' }), undefined, 'no stale-token annotation: nothing kept');
  const clients = new StaleTokenClients(60_000, 2);
  for (const [ua, pod] of [
    ['a', 'p1'],
    ['a', 'p1'],
    ['b', 'p1'],
    ['a', 'p2'],
  ] as const) {
    const u = staleTokenUse(event(ua, pod, pod));
    if (u) clients.record(u, 0);
  }
  const listed = clients.list(0);
  assert.equal(
    listed.map((c) => [c.pod?.name, c.userAgent, c.requests]),
    [
      ['p1', 'a', 2],
      ['p1', 'b', 1],
    ],
    'bounded at 2 clients',
  );
  assert.equal(clients.list(120_000), [], 'forgotten after the TTL');
});

test('plan: each workload named with its client, and which must upgrade', () => {
  const r = planBoundTokens(resolveSpec({}), {
    legacyMounts: [],
    flags: { source: 'unknown' } as never,
    counters: { staleTokens: 0, legacyTokens: 0 },
    lastCounters: undefined,
    staleUsers: [{ serviceAccount: 'ci/app', requests: 3, maxSecondsAfterWarning: 3600, lastSeen: '', userAgents: [] }],
    staleWorkloads: [
      {
        workload: 'Deployment ci/old-app',
        serviceAccount: 'ci/app',
        client: 'Python client v11.0.0',
        refreshesTokens: false,
        advice: 'upgrade to Python client v12.0.0 or newer, which refreshes tokens',
        userAgent: 'OpenAPI-Generator/11.0.0/python',
        pods: ['old-app-1'],
        nodes: ['node-a'],
        credentialIds: [],
        requests: 2,
        maxSecondsAfterWarning: 3600,
      },
      {
        workload: 'Deployment ci/new-app',
        serviceAccount: 'ci/app',
        client: 'Go client-go v0.30.2',
        refreshesTokens: true,
        advice: 'the program keeps a copy',
        userAgent: 'x/v1.30.2 (linux/amd64) kubernetes/abc',
        pods: ['new-app-1'],
        nodes: [],
        credentialIds: [],
        requests: 1,
        maxSecondsAfterWarning: 10,
      },
    ],
  });
  assert.match(r.conditions[0]?.message ?? '', /Deployment ci\/old-app \(Python client v11\.0\.0: must upgrade\)/);
  assert.match(r.conditions[0]?.message ?? '', /Deployment ci\/new-app \(Go client-go v0\.30\.2: refreshes/);
  const f = r.findings.find((x) => x.subject === 'deployment/ci/old-app');
  assert.match(f?.message ?? '', /Python client v11\.0\.0 \(a version that never refreshes tokens.*upgrade to Python client v12\.0\.0/);
  assert.is(r.summary.staleTokenClientsToUpgrade, 1);
});

test('plan: without the Secret cache, no stale users is still True, saying the legacy mounts were not checked and why', () => {
  const base = {
    legacyMounts: [],
    flags: { source: 'unknown' } as never,
    counters: { staleTokens: 0, legacyTokens: 0 },
    lastCounters: undefined,
    staleUsers: [],
  };
  const why = 'the operator may not list secrets cluster-wide: grant list and watch secrets cluster-wide';
  const r = planBoundTokens(resolveSpec({}), { ...base, legacyMountsUnchecked: why });
  assert.is(r.conditions[0]?.status, 'True');
  assert.match(r.conditions[0]?.message ?? '', `Pods mounting legacy token Secrets were not checked: ${why}`);
  assert.is(r.summary.legacyMounts, 'not checked');
  assert.equal(
    r.findings.map((f) => [f.subject, f.health]),
    [['pods', 'unknown']],
  );
  const stale = planBoundTokens(resolveSpec({}), {
    ...base,
    legacyMountsUnchecked: why,
    staleUsers: [{ serviceAccount: 'ci/app', requests: 1, maxSecondsAfterWarning: 60, lastSeen: '', userAgents: [] }],
  });
  assert.is(stale.conditions[0]?.reason, 'StaleTokensInUse', 'stale users still make it False');
  const off = planBoundTokens(resolveSpec({ boundTokens: { reportLegacyMounts: false } }), { ...base, legacyMountsUnchecked: why });
  assert.not.match(off.conditions[0]?.message ?? '', /not checked/, 'nothing to say when legacy mounts are not reported anyway');
});

test.run();
