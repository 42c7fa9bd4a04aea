// Argo Rollouts as dependents: how a Rollout is read (its Secrets, the restart recorded on it, progress from
// status.restartedAt), that the plan restarts one like any other kind, and what a Rollout list still loading
// or refused changes in the plan.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { TokenSecret } from '../../../src/areas/legacytokens/caches.ts';
import type { SecretFinding } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';
import { restartDone, toRolloutWorkload, withRollouts } from '../../../src/areas/legacytokens/restarts/rollouts.ts';

const test = suite('legacyTokens Argo Rollouts');
const NOW = Date.parse('2026-06-01T00:00:00Z');

const raw = (over: { annotations?: Record<string, string>; restartAt?: string; restartedAt?: string; available?: number } = {}): unknown => ({
  metadata: { name: 'r1', namespace: 'apps', generation: 2, annotations: over.annotations ?? {} },
  spec: {
    ...(over.restartAt ? { restartAt: over.restartAt } : {}),
    template: { spec: { containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'env-token' } } }] }], volumes: [{ secret: { secretName: 'a-token' } }] } },
  },
  ...(over.restartedAt ? { status: { restartedAt: over.restartedAt, availableReplicas: over.available ?? 1 } } : {}),
});

test('restart progress: done when status.restartedAt has caught up with spec.restartAt and every replica is available', () => {
  assert.ok(restartDone({}), 'no restart asked');
  assert.not.ok(restartDone({ spec: { restartAt: '2026-06-01T00:00:00Z' } }), 'asked, Argo has not restarted yet');
  assert.not.ok(restartDone({ spec: { restartAt: '2026-06-01T00:00:00Z' }, status: { restartedAt: '2026-05-01T00:00:00Z' } }), 'an older restart');
  const restartAt = '2026-06-01T00:00:00Z';
  assert.not.ok(
    restartDone({ spec: { replicas: 2, restartAt }, status: { restartedAt: restartAt, availableReplicas: 1 } }),
    'the last old pod evicted, its replacement not available yet',
  );
  assert.not.ok(restartDone({ spec: { restartAt }, status: { restartedAt: restartAt } }), 'no replica reported available (spec.replicas defaults to 1)');
  assert.ok(restartDone({ spec: { replicas: 2, restartAt }, status: { restartedAt: restartAt, availableReplicas: 2 } }));
  assert.ok(restartDone({ spec: { replicas: 0, restartAt }, status: { restartedAt: restartAt } }), 'scaled to zero');
});

test('a Rollout is read like the other kinds: its Secrets, and the restart recorded on its metadata', () => {
  const w = toRolloutWorkload(
    raw({ annotations: { 'authpolicy.io/restartedAt': '2026-06-01T00:00:00Z', 'authpolicy.io/restarted-for': 'r-1,r-2' }, restartAt: '2026-06-01T00:00:00Z' }),
  );
  assert.is(w.kind, 'Rollout');
  assert.equal(w.secrets, ['a-token', 'env-token']);
  assert.equal(w.restartedFor, ['r-1', 'r-2']);
  assert.is(w.templateIsOurs, true);
  assert.is(w.rolloutComplete, false);
  assert.is(w.lastRestartAt, '2026-06-01T00:00:00Z');
  // Someone ran `kubectl argo rollouts restart` since: that restart is not the operator's to time.
  assert.is(
    toRolloutWorkload(raw({ annotations: { 'authpolicy.io/restartedAt': '2026-06-01T00:00:00Z' }, restartAt: '2026-06-02T00:00:00Z' })).templateIsOurs,
    false,
  );
  assert.is(toRolloutWorkload(raw()).templateIsOurs, undefined);
});

const secret: TokenSecret = {
  metadata: { name: 'a-token', namespace: 'apps', uid: 'uid-a', resourceVersion: '1', creationTimestamp: '2026-05-01T00:00:00Z' },
  serviceAccountName: 'a',
  serviceAccountUid: '',
  tokenHash: 'new',
  token: undefined,
  caHash: 'ca',
  lastUsed: undefined,
  invalidSince: undefined,
  rotation: 'r-1',
  rotationState: 'pending',
  rotatedAt: '2026-05-31T23:00:00Z',
  rotatedFrom: 'old',
  rotatedUnder: 'ap-1',
  rotatedForRequest: undefined,
};
const finding: SecretFinding = {
  secret,
  serviceAccount: 'ok',
  verdict: { validity: 'valid', reason: 'Valid', detail: 'valid', source: 'offline' },
  staleCA: false,
  terminating: undefined,
};
const plan = (rollouts: unknown[]) =>
  planLegacyTokens(
    resolveSpec({ legacyTokens: { workloadKinds: ['Rollout'] } }),
    {
      secrets: [finding],
      workloads: rollouts.map(toRolloutWorkload),
      consumers: [],
      keySource: { kind: 'published', keys: 1 },
      externalSigning: undefined,
      apiservers: 'ap-1',
      now: NOW,
    },
    undefined,
  );

test('the plan restarts a Rollout for a rotation once, and closes the rotation only when status.restartedAt says it is done', () => {
  assert.equal(plan([raw()]).actions, [{ kind: 'restart', workload: { kind: 'Rollout', namespace: 'apps', name: 'r1' }, rotations: ['r-1'] }]);
  const restarted = {
    annotations: { 'authpolicy.io/restartedAt': '2026-05-31T23:55:00Z', 'authpolicy.io/restarted-for': 'r-1' },
    restartAt: '2026-05-31T23:55:00Z',
  };
  const running = plan([raw(restarted)]);
  assert.equal(running.actions, [], 'in flight: neither restarted again nor finished');
  assert.match(running.report.conditions[1]?.message ?? '', /1 rollout\(s\) in progress.*rollout\/apps\/r1/);
  const evicted = plan([raw({ ...restarted, restartedAt: '2026-05-31T23:55:00Z', available: 0 })]);
  assert.equal(evicted.actions, [], 'status.restartedAt set when the old pod is evicted, its replacement not yet available: still in flight');
  const done = plan([raw({ ...restarted, restartedAt: '2026-05-31T23:55:00Z' })]);
  assert.equal(
    done.actions.map((a) => a.kind),
    ['finish'],
  );
});

test('an opted-out Rollout is not restarted and waits for a manual restart, which `kubectl argo rollouts restart` (spec.restartAt) ends', () => {
  const optedOut = {
    ...toRolloutWorkload(raw({ annotations: { 'authpolicy.io/restart': 'false' } })),
    optOut: 'authpolicy.io/restart: "false" on the Rollout',
  };
  const waiting = planLegacyTokens(
    resolveSpec({ legacyTokens: { workloadKinds: ['Rollout'] } }),
    {
      secrets: [finding],
      workloads: [optedOut],
      consumers: [],
      keySource: { kind: 'published', keys: 1 },
      externalSigning: undefined,
      apiservers: 'ap-1',
      now: NOW,
    },
    undefined,
  );
  assert.equal(
    waiting.actions.map((a) => a.kind),
    ['finish'],
    'the rotation does not wait for it',
  );
  assert.is(waiting.report.conditions[1]?.reason, 'ManualRestartRequired');
  const manually = { ...optedOut, lastRestartAt: '2026-05-31T23:59:00Z' };
  const after = planLegacyTokens(
    resolveSpec({ legacyTokens: { workloadKinds: ['Rollout'] } }),
    {
      secrets: [{ ...finding, secret: { ...secret, rotationState: 'done' } }],
      workloads: [manually],
      consumers: [],
      keySource: { kind: 'published', keys: 1 },
      externalSigning: undefined,
      apiservers: 'ap-1',
      now: NOW,
    },
    undefined,
  );
  assert.is.not(after.report.conditions[1]?.reason, 'ManualRestartRequired');
});

test('a Rollout list still loading holds back closing rotations; a refused one is said, and the rest goes on', () => {
  const p = plan([
    raw({
      annotations: { 'authpolicy.io/restartedAt': '2026-05-31T23:55:00Z', 'authpolicy.io/restarted-for': 'r-1' },
      restartAt: '2026-05-31T23:55:00Z',
      restartedAt: '2026-05-31T23:55:00Z',
    }),
  ]);
  assert.equal(withRollouts(p, { state: 'listing' }).actions, []);
  assert.is(withRollouts(p, { state: 'ready' }), p);
  assert.is(withRollouts(p, { state: 'absent' }), p, 'no CRD: nothing changes');
  const refused = withRollouts(p, { state: 'unreadable', message: 'the operator may not list rollouts.argoproj.io cluster-wide' });
  assert.equal(refused.actions, p.actions);
  assert.match(
    refused.report.conditions.find((c) => c.type === 'WorkloadsRestarted')?.message ?? '',
    /Argo Rollouts were not checked, so no Rollout is restarted: the operator may not list/,
  );
  assert.is(refused.report.conditions.find((c) => c.type === 'WorkloadsRestarted')?.status, p.report.conditions[1]?.status, 'the condition keeps its status');
  assert.is(refused.report.summary.rolloutsUnchecked, 'the operator may not list rollouts.argoproj.io cluster-wide');
  assert.ok(refused.report.findings.some((f) => f.subject === 'rollouts.argoproj.io' && f.health === 'unknown'));
});

test.run();
