// Opting out of restarts (authpolicy.io/restart: "false"): the Secret still rotates, the workload is
// not restarted and is listed as waiting for a manual restart until one happens.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { TokenSecret, Workload } from '../../../src/areas/legacytokens/caches.ts';
import { restartOptOut, type SecretFinding } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ROTATED_AT = '2026-05-31T23:00:00Z';
const rotated: TokenSecret = {
  metadata: { name: 'a-token', namespace: 'apps', uid: 'uid-a', resourceVersion: '1', creationTimestamp: '2026-05-01T00:00:00Z' },
  serviceAccountName: 'a', serviceAccountUid: '', tokenHash: 'new', token: undefined, caHash: 'ca', lastUsed: undefined, invalidSince: undefined,
  rotation: 'r-1', rotationState: 'pending', rotatedAt: ROTATED_AT, rotatedFrom: 'old', rotatedUnder: 'ap-1', rotatedForRequest: undefined,
};
const finding = (s: TokenSecret): SecretFinding => ({ secret: s, serviceAccount: 'ok', verdict: { validity: 'valid', reason: 'Valid', detail: 'valid', source: 'offline' }, staleCA: false, terminating: undefined });
const workload = (name: string, over: Partial<Workload> = {}): Workload => ({
  kind: 'Deployment', metadata: { name, namespace: 'apps', generation: 1, creationTimestamp: '2026-05-01T00:00:00Z' }, secrets: ['a-token'],
  restartedAt: undefined, restartedFor: [], templateIsOurs: undefined, rolloutComplete: true, ...over,
});
const plan = (secret: TokenSecret, workloads: Workload[]) => planLegacyTokens(resolveSpec({ legacyTokens: { maxConcurrentRestarts: 5 } }),
  { secrets: [finding(secret)], workloads, consumers: [], keySource: { kind: 'published', keys: 1 }, externalSigning: undefined, apiservers: 'ap-1', now: NOW }, undefined);

const test = suite('legacyTokens restart opt-out');

test('the annotation on the workload, or on its namespace unless the workload says "true"', () => {
  assert.match(restartOptOut({ kind: 'Deployment', restart: 'false' }, undefined) ?? '', /"false" on the Deployment/);
  assert.match(restartOptOut({ kind: 'Deployment' }, { name: 'apps', restart: 'false' }) ?? '', /"false" on namespace apps/);
  assert.is(restartOptOut({ kind: 'Deployment', restart: 'true' }, { name: 'apps', restart: 'false' }), undefined);
  assert.is(restartOptOut({ kind: 'Deployment' }, { name: 'apps' }), undefined);
  assert.is(restartOptOut({ kind: 'Deployment', restart: 'yes' }, undefined), undefined, 'only "false" opts out');
});

test('an opted-out dependent is not restarted, does not hold the rotation open, and is listed', () => {
  const out = workload('kept', { optOut: 'authpolicy.io/restart: "false" on the Deployment' });
  const p = plan(rotated, [workload('web'), out]);
  assert.equal(p.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)), ['web']);
  const done = plan(rotated, [workload('web', { restartedFor: ['r-1'], restartedAt: ROTATED_AT }), out]);
  const finish = done.actions.find((a) => a.kind === 'finish');
  assert.ok(finish?.kind === 'finish' && finish.notRestarted.some((x) => x.startsWith('deployment/apps/kept')), 'the Event names it');
  const c = done.report.conditions[1];
  assert.is(c?.status, 'False', 'WorkloadsRestarted does not claim it was restarted');
  assert.is(c?.reason, 'ManualRestartRequired');
  assert.match(c?.message ?? '', /deployment\/apps\/kept/);
  const listed = done.report.summary.notRestarted as { workload?: string }[];
  assert.equal(listed.map((x) => x.workload), ['deployment/apps/kept']);
});

test('a manual restart (kubectl rollout restart) after the rotation ends the wait', () => {
  const out = workload('kept', { optOut: 'x', lastRestartAt: '2026-05-31T23:30:00Z' });
  const p = plan({ ...rotated, rotationState: 'done' }, [out]);
  assert.is(p.report.conditions[1]?.status, 'True');
  assert.is(p.report.summary.notRestarted, undefined);
  assert.equal(p.report.summary.restartsOptedOut, ['deployment/apps/kept (x)'], 'still shown as opted out');
});

test.run();
