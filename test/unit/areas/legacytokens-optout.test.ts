// Opting out of restarts (authpolicy.io/restart: "false"): the Secret still rotates, the workload is
// not restarted and is listed as waiting for a manual restart until one happens.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { LegacyTokensSpec } from '../../../src/api/types.ts';
import type { TokenSecret, Workload } from '../../../src/areas/legacytokens/caches.ts';
import { restartOptOut, type SecretFinding } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const ROTATED_AT = '2026-05-31T23:00:00Z';
const rotated: TokenSecret = {
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
  rotatedAt: ROTATED_AT,
  rotatedFrom: 'old',
  rotatedUnder: 'ap-1',
  rotatedForRequest: undefined,
};
const finding = (s: TokenSecret): SecretFinding => ({
  secret: s,
  serviceAccount: 'ok',
  verdict: { validity: 'valid', reason: 'Valid', detail: 'valid', source: 'offline' },
  staleCA: false,
  terminating: undefined,
});
const workload = (name: string, over: Partial<Workload> = {}): Workload => ({
  kind: 'Deployment',
  metadata: { name, namespace: 'apps', generation: 1, creationTimestamp: '2026-05-01T00:00:00Z' },
  secrets: ['a-token'],
  restartedAt: undefined,
  restartedFor: [],
  templateIsOurs: undefined,
  rolloutComplete: true,
  ...over,
});
const plan = (secret: TokenSecret, workloads: Workload[], legacy: LegacyTokensSpec = {}) =>
  planLegacyTokens(
    resolveSpec({ legacyTokens: { maxConcurrentRestarts: 5, ...legacy } }),
    {
      secrets: [finding(secret)],
      workloads,
      consumers: [],
      keySource: { kind: 'published', keys: 1 },
      externalSigning: undefined,
      apiservers: 'ap-1',
      now: NOW,
    },
    undefined,
  );

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
  assert.equal(
    p.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)),
    ['web'],
  );
  const done = plan(rotated, [workload('web', { restartedFor: ['r-1'], restartedAt: ROTATED_AT }), out]);
  const finish = done.actions.find((a) => a.kind === 'finish');
  assert.ok(finish?.kind === 'finish' && finish.notRestarted.some((x) => x.startsWith('deployment/apps/kept')), 'the Event names it');
  const c = done.report.conditions[1];
  assert.is(c?.status, 'False', 'WorkloadsRestarted does not claim it was restarted');
  assert.is(c?.reason, 'ManualRestartRequired');
  assert.match(c?.message ?? '', /deployment\/apps\/kept/);
  const listed = done.report.summary.notRestarted as { workload?: string }[];
  assert.equal(
    listed.map((x) => x.workload),
    ['deployment/apps/kept'],
  );
});

test('a dry run does not promise to restart an opted-out workload', () => {
  const dead: SecretFinding = {
    ...finding({ ...rotated, rotation: undefined, rotationState: undefined, rotatedAt: undefined, rotatedFrom: undefined, tokenHash: 'old' }),
    verdict: { validity: 'invalid', reason: 'KeyNotPublished', detail: 'old key', source: 'offline' },
  };
  const p = planLegacyTokens(
    resolveSpec({ dryRun: true }),
    {
      secrets: [dead],
      workloads: [workload('web'), workload('kept', { optOut: 'x' })],
      consumers: [],
      keySource: { kind: 'published', keys: 1 },
      externalSigning: undefined,
      apiservers: 'ap-1',
      now: NOW,
    },
    undefined,
  );
  assert.equal(p.report.summary.wouldRestart, ['deployment/apps/web']);
  assert.ok(p.report.findings.some((f) => f.subject === 'deployment/apps/kept' && /restart it yourself/.test(f.message)));
});

test('a manual restart (kubectl rollout restart) after the rotation ends the wait', () => {
  const out = workload('kept', { optOut: 'x', lastRestartAt: '2026-05-31T23:30:00Z' });
  const p = plan({ ...rotated, rotationState: 'done' }, [out]);
  assert.is(p.report.conditions[1]?.status, 'True');
  assert.is(p.report.summary.notRestarted, undefined);
  assert.equal(p.report.summary.restartsOptedOut, ['deployment/apps/kept (x)'], 'still shown as opted out');
});

test('outside the restart windows restarts wait and status says when the next opens; restartNow and the request override', () => {
  // NOW is Monday 2026-06-01 00:00 UTC.
  const closed = { restartWindows: [{ start: '02:00', end: '03:00' }] };
  const p = plan(rotated, [workload('web')], closed);
  assert.equal(
    p.actions.map((a) => a.kind),
    [],
    'no restart outside the window',
  );
  assert.is(p.report.conditions[1]?.reason, 'RestartsPending');
  assert.match(p.report.conditions[1]?.message ?? '', /opening at 2026-06-01T02:00:00.000Z/);
  assert.equal(p.report.summary.restartWindow, { open: false, nextOpensAt: '2026-06-01T02:00:00.000Z', waiting: ['deployment/apps/web'] });
  assert.is(p.report.requeueAfterMs, 3600_000, 'no polling while the window is closed: the opening is 2 h away, so it wakes after an hour (the cap)');
  const open = plan(rotated, [workload('web')], { restartWindows: [{ start: '23:30', end: '00:30' }] });
  assert.equal(
    open.actions.map((a) => a.kind),
    ['restart'],
    'inside a window across midnight',
  );
  const now = plan(rotated, [workload('web')], { ...closed, restartNow: '2026-05-31T23:30:00Z' });
  assert.equal(
    now.actions.map((a) => a.kind),
    ['restart'],
    'restartNow after the rotation overrides',
  );
  const stale = plan(rotated, [workload('web')], { ...closed, restartNow: '2026-05-31T22:00:00Z' });
  assert.equal(
    stale.actions.map((a) => a.kind),
    [],
    'a restartNow older than the rotation does not',
  );
  const requested = plan({ ...rotated, rotatedForRequest: '2026-05-31T22:59:00Z' }, [workload('web')], {
    ...closed,
    rotationRequestedAt: '2026-05-31T22:59:00Z',
  });
  assert.ok(
    requested.actions.some((a) => a.kind === 'restart'),
    'the requested rotation restarts at once',
  );
});

test.run();
