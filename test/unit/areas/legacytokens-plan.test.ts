// The legacy-token decision, one row per situation of the dead-legacy-token incident.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { LegacyTokensSpec } from '../../../src/api/types.ts';
import type { TokenSecret, Workload } from '../../../src/areas/legacytokens/caches.ts';
import type { LegacyTokensObservation, SecretFinding } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens, rotationId } from '../../../src/areas/legacytokens/plan.ts';
import { secretsReferencedBy, unrefreshedReadsOf } from '../../../src/areas/legacytokens/restarts/references.ts';
import { matchesSelector } from '../../../src/kube/selector.ts';
import { cachedTokenSecret } from '../../support/builders.ts';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const secret = (name: string, over: Partial<TokenSecret> = {}): TokenSecret =>
  cachedTokenSecret(name, { serviceAccountName: name.replace('-token', ''), ...over });
function finding(s: TokenSecret, validity: 'valid' | 'invalid' | undefined, over: Partial<SecretFinding> = {}): SecretFinding {
  const verdict: SecretFinding['verdict'] =
    validity === 'valid'
      ? { validity, reason: 'Valid', detail: 'valid', source: 'offline' }
      : validity === 'invalid'
        ? { validity, reason: 'KeyNotPublished', detail: 'signed by a key the API server no longer publishes', source: 'offline' }
        : { validity: 'noToken', reason: 'NoToken', detail: 'no token', source: 'offline' };
  return { secret: s, serviceAccount: 'ok', verdict, staleCA: false, terminating: undefined, ...over };
}
function workload(name: string, secrets: string[], over: Partial<Workload> = {}): Workload {
  return {
    kind: 'Deployment',
    metadata: { name, namespace: 'apps', generation: 1 },
    secrets,
    restartedAt: undefined,
    restartedFor: [],
    templateIsOurs: undefined,
    rolloutComplete: true,
    ...over,
  };
}
const plan = (
  legacy: LegacyTokensSpec,
  secrets: SecretFinding[],
  workloads: Workload[] = [],
  extra: { dryRun?: boolean } = {},
  observation: Partial<LegacyTokensObservation> = {},
) =>
  planLegacyTokens(
    resolveSpec({ legacyTokens: legacy, ...extra }),
    { secrets, workloads, consumers: [], keySource: { kind: 'published', keys: 1 }, externalSigning: undefined, apiservers: 'ap-1', now: NOW, ...observation },
    undefined,
  );
const kinds = (p: ReturnType<typeof plan>): string[] => p.actions.map((a) => a.kind);

const test = suite('legacyTokens plan');

test('a dead token is rotated in place; a valid one is left alone', () => {
  const p = plan({}, [finding(secret('a-token'), 'invalid'), finding(secret('b-token'), 'valid')]);
  assert.equal(kinds(p), ['rotate']);
  const a = p.actions[0];
  assert.ok(a?.kind === 'rotate' && a.secret.name === 'a-token' && a.triggers.join() === 'InvalidToken');
  assert.is(p.report.conditions[0]?.reason, 'Rotating');
});

test('never blank a valid token for invalidity; StaleCA, MaxAge and the one-shot request do rotate it', () => {
  assert.equal(kinds(plan({}, [finding(secret('a-token'), 'valid', { staleCA: true })])), ['rotate']);
  assert.equal(kinds(plan({ rotateOn: ['InvalidToken'] }, [finding(secret('a-token'), 'valid', { staleCA: true })])), []);
  assert.equal(kinds(plan({ rotateOn: ['MaxAge'], maxAge: '1h' }, [finding(secret('a-token'), 'valid')])), ['rotate'], 'a day old > 1h');
  assert.equal(kinds(plan({ rotationRequestedAt: '2026-01-01T00:00:00Z' }, [finding(secret('a-token'), 'valid')])), ['rotate']);
  assert.equal(
    kinds(plan({ rotationRequestedAt: '2026-01-01T00:00:00Z' }, [finding(secret('a-token', { rotatedForRequest: '2026-01-01T00:00:00Z' }), 'valid')])),
    [],
    'already done for this request',
  );
});

test('orphans and cleaner-invalidated tokens are reported, never rotated (unless revival is asked)', () => {
  const orphan = plan({}, [finding(secret('a-token'), 'invalid', { serviceAccount: 'missing' })]);
  assert.equal(kinds(orphan), []);
  assert.is(orphan.report.conditions[0]?.reason, 'TokensInvalid');
  assert.match(orphan.report.conditions[0]?.message ?? '', /orphans are never rotated/);
  const invalidated = plan({}, [finding(secret('a-token', { invalidSince: '2026-01-01', lastUsed: '2025-01-01' }), 'invalid')]);
  assert.equal(kinds(invalidated), []);
  assert.match(invalidated.report.conditions[0]?.message ?? '', /last used 2025-01-01/);
  assert.equal(kinds(plan({ reviveInvalidated: true }, [finding(secret('a-token', { invalidSince: '2026-01-01' }), 'invalid')])), ['revive']);
});

test('after the tokens controller refills a rotated Secret, each dependent restarts once, paced', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending', tokenHash: 'new' });
  const ws = [workload('w1', ['a-token']), workload('w2', ['a-token']), workload('w3', ['a-token']), workload('other', [])];
  const p = plan({ maxConcurrentRestarts: 2 }, [finding(rotated, 'valid')], ws);
  assert.equal(
    p.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)),
    ['w1', 'w2'],
  );
  assert.is(p.report.conditions[1]?.reason, 'RestartsPending');
});

test('restarts in flight use up the slots; done ones are never repeated', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending' });
  const inFlight = workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt: new Date(NOW - 1000).toISOString(), rolloutComplete: false });
  const p = plan({ maxConcurrentRestarts: 1 }, [finding(rotated, 'valid')], [inFlight, workload('w2', ['a-token'])]);
  assert.equal(kinds(p), [], 'w2 waits for w1');
  const done = workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt: new Date(NOW - 1000).toISOString() });
  const p2 = plan({ maxConcurrentRestarts: 1 }, [finding(rotated, 'valid')], [done, workload('w2', ['a-token'])]);
  assert.equal(
    p2.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)),
    ['w2'],
  );
});

test('a workload using several rotated Secrets waits for all, then restarts once for all', () => {
  const a = secret('a-token', { rotation: 'r-a', rotationState: 'pending' });
  const b = secret('b-token', { rotation: 'r-b', rotationState: 'pending', tokenHash: undefined });
  const w = workload('w', ['a-token', 'b-token']);
  assert.equal(kinds(plan({}, [finding(a, 'valid'), finding(b, undefined)], [w])), [], 'b is still being refilled');
  const b2 = { ...b, tokenHash: 'new' };
  const p = plan({}, [finding(a, 'valid'), finding(b2, 'valid')], [w]);
  assert.equal(
    p.actions.flatMap((x) => (x.kind === 'restart' ? [x.rotations] : [])),
    [['r-a', 'r-b']],
  );
});

test('a crash split the rotations: a workload does not restart until its other Secret is rotated too', () => {
  const done = secret('a-token', { rotation: 'r-a', rotationState: 'pending' });
  const dead = secret('b-token');
  const p = plan({}, [finding(done, 'valid'), finding(dead, 'invalid')], [workload('w', ['a-token', 'b-token']), workload('v', ['a-token'])]);
  assert.equal(
    p.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)),
    ['rotate', 'v'],
  );
});

test('an identical re-issued token that is still rejected is reported, never rotated again', () => {
  const same = secret('a-token', { rotation: 'r-1', rotationState: 'done', rotatedFrom: 'h-a-token', rotatedUnder: 'ap-1' });
  const p = plan({}, [finding(same, 'invalid')]);
  assert.equal(kinds(p), []);
  assert.match(p.report.conditions[0]?.message ?? '', /signs with a key the API server does not accept/);
  const afterRestart = secret('a-token', { rotation: 'r-1', rotationState: 'done', rotatedFrom: 'h-a-token', rotatedUnder: 'ap-0' });
  assert.equal(kinds(plan({}, [finding(afterRestart, 'invalid')])), ['rotate'], 'the API servers restarted since: the keys may have changed, rotate again');
});

test('a restart keeps the rotations the workload already restarted for that are still under way', () => {
  const a = secret('a-token', { rotation: 'r-a', rotationState: 'pending' });
  const b = secret('b-token', { rotation: 'r-b', rotationState: 'pending' });
  const w = workload('w', ['a-token', 'b-token'], { restartedFor: ['r-a'], restartedAt: new Date(NOW - 1000).toISOString() });
  const p = plan({ maxConcurrentRestarts: 2 }, [finding(a, 'valid'), finding(b, 'valid')], [w, workload('v', ['a-token'])]);
  assert.equal(
    p.actions.flatMap((x) => (x.kind === 'restart' && x.workload.name === 'w' ? [x.rotations] : [])),
    [['r-a', 'r-b']],
  );
});

test('a rotation finishes when every dependent restarted for it and rolled out', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending' });
  const p = plan({}, [finding(rotated, 'valid')], [workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt: new Date(NOW).toISOString() })]);
  assert.equal(kinds(p), ['finish']);
  assert.equal(kinds(plan({ restartWorkloads: false }, [finding(rotated, 'valid')], [workload('w1', ['a-token'])])), ['finish']);
});

test('restartDependents NotRefreshable: only dependents that cannot see a new value without a new Pod restart; the rest are left to the kubelet, said per rotation', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending', tokenHash: 'new' });
  const ws = [
    workload('env', ['a-token'], { unrefreshedReads: { 'a-token': ['env of container app'] } }),
    workload('subpath', ['a-token'], { unrefreshedReads: { 'a-token': ['subPath mount of container app'] } }),
    workload('volume', ['a-token'], { unrefreshedReads: {} }),
    workload('projected', ['a-token'], { unrefreshedReads: { other: ['env of container app'] } }),
    workload('unknown', ['a-token']),
  ];
  const restarts = (p: ReturnType<typeof plan>): string[] => p.actions.flatMap((a) => (a.kind === 'restart' ? [a.workload.name] : []));
  // All (the default, the seeds' remedy): every dependent, whatever it reads the Secret through.
  assert.equal(restarts(plan({ maxConcurrentRestarts: 10 }, [finding(rotated, 'valid')], ws)), ['env', 'projected', 'subpath', 'unknown', 'volume']);
  const p = plan({ maxConcurrentRestarts: 10, restartDependents: 'NotRefreshable' }, [finding(rotated, 'valid')], ws);
  // A workload whose reads were not recorded (a cache without them) is restarted: never assume a refresh.
  assert.equal(restarts(p), ['env', 'subpath', 'unknown']);
  assert.equal(p.report.summary.rotationRestarts, [
    {
      rotation: 'r-1',
      secret: 'apps/a-token',
      restart: [
        'deployment/apps/env (env of container app)',
        'deployment/apps/subpath (subPath mount of container app)',
        'deployment/apps/unknown (how it reads the Secret is not known)',
      ],
      leftToKubelet: [
        'deployment/apps/volume (reads it only through a Secret or projected volume without subPath: the kubelet rewrites the file in place)',
        'deployment/apps/projected (reads it only through a Secret or projected volume without subPath: the kubelet rewrites the file in place)',
      ],
    },
  ]);
  // Once those restarted and rolled out, the rotation finishes, naming both lists.
  const done = ws.map((w) =>
    ['env', 'subpath', 'unknown'].includes(w.metadata.name) ? { ...w, restartedFor: ['r-1'], restartedAt: new Date(NOW).toISOString() } : w,
  );
  const fin = plan({ restartDependents: 'NotRefreshable' }, [finding(rotated, 'valid')], done);
  const finish = fin.actions.find((a) => a.kind === 'finish');
  assert.ok(finish?.kind === 'finish');
  assert.equal(finish.restarted, ['deployment/apps/env', 'deployment/apps/subpath', 'deployment/apps/unknown']);
  assert.equal(finish.leftToKubelet, ['deployment/apps/volume', 'deployment/apps/projected']);
  // A finished rotation's record stays (from the last status) once nothing is pending; All writes none.
  const later = planLegacyTokens(
    resolveSpec({ legacyTokens: { restartDependents: 'NotRefreshable' } }),
    { secrets: [], workloads: [], consumers: [], keySource: { kind: 'published', keys: 1 }, externalSigning: undefined, apiservers: 'ap-1', now: NOW },
    { rotationRestarts: p.report.summary.rotationRestarts as never },
  );
  assert.equal(later.report.summary.rotationRestarts, p.report.summary.rotationRestarts);
  assert.is(plan({}, [finding(rotated, 'valid')], ws).report.summary.rotationRestarts, undefined);
  // Only volume readers: nothing to wait for; the rotation finishes as soon as it is refilled.
  assert.equal(kinds(plan({ restartDependents: 'NotRefreshable' }, [finding(rotated, 'valid')], [ws[2] as Workload])), ['finish']);
  // Dry run says which it would restart and which it would leave.
  const dry = plan({ restartDependents: 'NotRefreshable' }, [finding(secret('a-token'), 'invalid')], ws, { dryRun: true });
  assert.equal(dry.report.summary.wouldRestart, ['deployment/apps/env', 'deployment/apps/subpath', 'deployment/apps/unknown']);
  assert.equal(dry.report.summary.wouldLeaveToKubelet, ['deployment/apps/volume', 'deployment/apps/projected']);
});

test('the reads the kubelet never refreshes: env, envFrom and subPath mounts of a Secret or projected volume; a plain volume mount is refreshed', () => {
  const template = {
    spec: {
      volumes: [
        { name: 'plain', secret: { secretName: 'vol' } },
        { name: 'sub', secret: { secretName: 'sub' } },
        { name: 'proj', projected: { sources: [{ secret: { name: 'proj' } }, { secret: { name: 'projsub' } }] } },
        { name: 'projsub', projected: { sources: [{ secret: { name: 'projsub' } }] } },
      ],
      containers: [
        {
          name: 'app',
          env: [{ valueFrom: { secretKeyRef: { name: 'env' } } }],
          envFrom: [{ secretRef: { name: 'envfrom' } }],
          volumeMounts: [
            { name: 'plain', mountPath: '/plain' },
            { name: 'sub', mountPath: '/sub/token', subPath: 'token' },
            { name: 'proj', mountPath: '/proj' },
            { name: 'projsub', mountPath: '/p/token', subPathExpr: '$(X)' },
          ],
        },
      ],
      initContainers: [{ name: 'init', env: [{ valueFrom: { secretKeyRef: { name: 'vol' } } }] }],
    },
  };
  assert.equal(unrefreshedReadsOf(template), {
    env: ['env of container app'],
    envfrom: ['envFrom of container app'],
    projsub: ['subPath mount of container app'],
    sub: ['subPath mount of container app'],
    vol: ['env of init container init'],
  });
  assert.equal(
    unrefreshedReadsOf({
      spec: { volumes: [{ name: 'plain', secret: { secretName: 'vol' } }], containers: [{ name: 'a', volumeMounts: [{ name: 'plain' }] }] },
    }),
    {},
  );
});

test('a rollout past rolloutTimeout is reported and frees its slot', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending' });
  const stuck = workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt: new Date(NOW - 3_600_000).toISOString(), rolloutComplete: false });
  const p = plan({ rolloutTimeout: '10m', maxConcurrentRestarts: 1 }, [finding(rotated, 'valid')], [stuck, workload('w2', ['a-token'])]);
  assert.equal(
    p.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)),
    ['w2'],
  );
  assert.is(p.report.conditions[1]?.reason, 'RolloutTimedOut');
});

test('a timed-out rollout keeps its rotation pending and RolloutTimedOut reported until it finishes', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending' });
  const restartedAt = new Date(NOW - 3_600_000).toISOString();
  const stuck = plan(
    { rolloutTimeout: '10m' },
    [finding(rotated, 'valid')],
    [workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt, rolloutComplete: false })],
  );
  assert.equal(kinds(stuck), [], 'no finish, no second restart');
  assert.is(stuck.report.conditions[1]?.reason, 'RolloutTimedOut');
  assert.is(stuck.report.conditions[1]?.status, 'False');
  assert.equal(stuck.report.summary.timedOutWorkloads, ['deployment/apps/w1'], 'status.legacyTokens names it too');
  const recovered = plan(
    { rolloutTimeout: '10m' },
    [finding(rotated, 'valid')],
    [workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt, rolloutComplete: true })],
  );
  assert.equal(kinds(recovered), ['finish']);
});

test("a user's own later rollout of a restarted workload is neither timed nor counted as ours", () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'pending' });
  const restartedAt = new Date(NOW - 3_600_000).toISOString();
  // w1: restarted by us an hour ago, since rolled out again by its owner (another template, in progress).
  const theirs = workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt, templateIsOurs: false, rolloutComplete: false });
  const p = plan({ rolloutTimeout: '10m', maxConcurrentRestarts: 1 }, [finding(rotated, 'valid')], [theirs, workload('w2', ['a-token'])]);
  assert.is.not(p.report.conditions[1]?.reason, 'RolloutTimedOut');
  assert.equal(
    p.actions.map((a) => (a.kind === 'restart' ? a.workload.name : a.kind)),
    ['w2'],
    'w1 does not hold the only restart slot',
  );
  // The same with the template our restart produced (or none recorded): ours, and timed out.
  for (const templateIsOurs of [true, undefined]) {
    const ours = plan({ rolloutTimeout: '10m' }, [finding(rotated, 'valid')], [{ ...theirs, templateIsOurs }]);
    assert.is(ours.report.conditions[1]?.reason, 'RolloutTimedOut');
  }
});

test('a dead token whose rotation is still pending is rotated again only after the API servers restarted', () => {
  // Dependents still rolling out (or stuck past rolloutTimeout) keep the rotation pending.
  const stuck = [workload('w1', ['a-token'], { restartedFor: ['r-1'], restartedAt: new Date(NOW - 3_600_000).toISOString(), rolloutComplete: false })];
  const underNewKey = secret('a-token', { rotation: 'r-1', rotationState: 'pending', rotatedFrom: 'h-old', rotatedUnder: 'ap-0' });
  const again = plan({ rolloutTimeout: '10m' }, [finding(underNewKey, 'invalid')], stuck);
  assert.equal(
    again.actions.flatMap((a) => (a.kind === 'rotate' ? [a.triggers.join()] : [])),
    ['InvalidToken'],
  );
  const sameServers = secret('a-token', { rotation: 'r-1', rotationState: 'pending', rotatedFrom: 'h-old', rotatedUnder: 'ap-1' });
  const mismatch = plan({ rolloutTimeout: '10m' }, [finding(sameServers, 'invalid')], stuck);
  assert.not.ok(
    mismatch.actions.some((a) => a.kind === 'rotate'),
    'no rotation loop',
  );
  assert.is(mismatch.report.conditions[0]?.reason, 'TokensInvalid');
  assert.match(
    mismatch.report.conditions[0]?.message ?? '',
    /re-issued a token whose signature verifies against none of the keys the API server publishes: kube-controller-manager signs with a key/,
  );
});

test('dry run plans but reports what it would do', () => {
  const p = plan({}, [finding(secret('a-token'), 'invalid')], [workload('w1', ['a-token'])], { dryRun: true });
  assert.ok(p.dryRun);
  assert.match(p.report.conditions[0]?.message ?? '', /dry run: would rotate 1/);
  assert.match(p.report.conditions[1]?.message ?? '', /would restart 1 workload/);
  assert.equal(p.report.summary.wouldRestart, ['deployment/apps/w1']);
});

test('all valid: True', () => {
  const p = plan({}, [finding(secret('a-token'), 'valid')]);
  assert.is(p.report.conditions[0]?.reason, 'TokensValid');
  assert.is(p.report.conditions[1]?.reason, 'NothingToRestart');
  assert.is(plan({}, []).report.conditions[0]?.reason, 'NoLegacyTokens');
});

test('a rotation id is stable for a retry, and new for the next rotation of the same token', () => {
  assert.is(rotationId(secret('a-token'), undefined), rotationId(secret('a-token'), undefined));
  assert.is.not(rotationId(secret('a-token'), undefined), rotationId(secret('a-token', { tokenHash: 'other' }), undefined));
  const first = rotationId(secret('a-token'), 'req-1');
  assert.is.not(rotationId(secret('a-token', { rotation: first }), 'req-2'), first, 'same token re-issued, next request: a new id');
});

test('secret references: volumes, projected, env, envFrom, init containers', () => {
  assert.equal(
    secretsReferencedBy({
      spec: {
        volumes: [{ secret: { secretName: 'v' } }, { projected: { sources: [{ secret: { name: 'p' } }, {}] } }, {}],
        containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'e' } } }, {}] }],
        initContainers: [{ envFrom: [{ secretRef: { name: 'i' } }] }],
      },
    }),
    ['e', 'i', 'p', 'v'],
  );
  assert.equal(secretsReferencedBy(undefined), []);
});

test('being deleted is not being dead: a terminating Secret, ServiceAccount or namespace is reported, never rotated nor its dependents restarted', () => {
  for (const what of ['Secret', 'ServiceAccount', 'Namespace'] as const) {
    const pending = secret('a-token', { rotation: 'r-1', rotationState: 'pending', rotatedAt: '2026-05-31T12:00:00Z', rotatedFrom: 'old' });
    const p = plan({ rotationRequestedAt: '2026-05-01T00:00:00Z' }, [finding(pending, 'invalid', { terminating: what })], [workload('w', ['a-token'])]);
    assert.equal(kinds(p), [], what);
    assert.equal((p.report.summary.terminating as { what: string }[])[0]?.what, what);
    assert.is(p.report.conditions[0]?.status, 'True', what);
  }
});

test('the cleaner owns invalidated and long-unused tokens: listed with dates, never rotated, LegacyTokensReady stays True', () => {
  const p = plan({}, [
    finding(secret('a-token', { invalidSince: '2026-01-01', lastUsed: '2025-01-01' }), 'invalid'),
    finding(
      secret('b-token', { lastUsed: '2025-03-01', metadata: { name: 'b-token', namespace: 'apps', uid: 'u', creationTimestamp: '2024-01-01T00:00:00Z' } }),
      'invalid',
    ),
    finding(secret('c-token'), 'valid'),
  ]);
  assert.equal(kinds(p), []);
  assert.equal([p.report.conditions[0]?.status, p.report.conditions[0]?.reason], ['True', 'CleanerOwned']);
  assert.match(p.report.conditions[0]?.message ?? '', /delete them, or move their users to TokenRequest/);
  assert.equal(p.report.summary.invalidated, [{ secret: 'apps/a-token', invalidSince: '2026-01-01', lastUsed: '2025-01-01' }]);
  assert.equal(p.report.summary.unused, [{ secret: 'apps/b-token', lastUsed: '2025-03-01', created: '2024-01-01T00:00:00Z' }]);
});

test("the signing key is blamed only when the re-issued token's signature fails against the published keys", () => {
  const same = secret('a-token', { rotation: 'r-1', rotationState: 'done', rotatedFrom: 'h-a-token', rotatedUnder: 'ap-1' });
  const claims = plan({}, [
    finding(same, 'invalid', {
      verdict: { validity: 'invalid', reason: 'ServiceAccountUidMismatch', detail: 'ServiceAccount apps/a has UID x', source: 'offline' },
    }),
  ]);
  assert.not.match(claims.report.conditions[0]?.message ?? '', /signs with a key/);
  assert.match(claims.report.conditions[0]?.message ?? '', /still rejected: ServiceAccount apps\/a has UID x/);
});

test('external signing (KEP-740): nothing is blanked; the condition says legacy tokens cannot be re-issued and advises projected tokens', () => {
  const p = plan({}, [finding(secret('a-token'), 'invalid')], [], {}, { externalSigning: 'unix:///run/signer.sock' });
  assert.equal(kinds(p), []);
  assert.equal([p.report.conditions[0]?.status, p.report.conditions[0]?.reason], ['False', 'LegacyTokensNotReissuable']);
  assert.match(p.report.conditions[0]?.message ?? '', /projected serviceAccountToken volumes/);
  assert.not.match(p.report.conditions[0]?.message ?? '', /private-key-file/);
});

test('pods the operator cannot restart that still hold a replaced token are listed; WorkloadsRestarted is not True', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'done', rotatedAt: '2026-05-31T12:00:00Z', rotatedFrom: 'old-hash' });
  const consumer = (pod: string, owner: string, createdAt: string, over: Record<string, unknown> = {}) => ({
    pod,
    namespace: 'apps',
    secret: 'a-token',
    how: ['env of container main'],
    createdAt,
    owner,
    restartable: undefined,
    cronJob: undefined,
    ...over,
  });
  const p = plan(
    {},
    [finding(rotated, 'valid')],
    [],
    {},
    {
      consumers: [
        consumer('bare', 'none (bare Pod)', '2026-05-31T00:00:00Z'),
        consumer('cj-1-x', 'Job cj-1 of CronJob cj', '2026-05-31T00:00:00Z', { cronJob: 'cj' }),
        consumer('fresh', 'none (bare Pod)', '2026-05-31T13:00:00Z'),
      ],
    },
  );
  assert.equal([p.report.conditions[1]?.status, p.report.conditions[1]?.reason], ['False', 'ConsumersNotRestarted']);
  assert.is(p.report.summary.notRestartedCount, 2, 'the pod created after the rotation reads the new token');
  assert.match(p.report.conditions[1]?.message ?? '', /CronJob apps\/cj needs no restart/);
  const same = plan(
    {},
    [finding({ ...rotated, rotatedFrom: 'h-a-token' }, 'valid')],
    [],
    {},
    { consumers: [consumer('bare', 'none (bare Pod)', '2026-05-31T00:00:00Z')] },
  );
  assert.is(same.report.conditions[1]?.status, 'True', 're-issued identical (same key): the pod holds a token that still works');
});

test('a pod whose owner became restartable after its rotation closed is listed, not assumed restarted; one restarted for it or pending is not', () => {
  const rotated = secret('a-token', { rotation: 'r-1', rotationState: 'done', rotatedAt: '2026-05-31T12:00:00Z', rotatedFrom: 'old-hash' });
  const oldPod = (pod: string, kind: Workload['kind'], name: string) => ({
    pod,
    namespace: 'apps',
    secret: 'a-token',
    how: ['volume'],
    createdAt: '2026-05-31T00:00:00Z',
    owner: `${kind} ${name}`,
    restartable: { kind, name },
    cronJob: undefined,
  });
  // Rollout added to workloadKinds after r-1 closed: the operator never restarted it for r-1 and will not now.
  const late = plan(
    { workloadKinds: ['Deployment', 'Rollout'] },
    [finding(rotated, 'valid')],
    [workload('canary', ['a-token'], { kind: 'Rollout' })],
    {},
    {
      consumers: [oldPod('canary-1', 'Rollout', 'canary')],
    },
  );
  const restarted = late.report.conditions.find((c) => c.type === 'WorkloadsRestarted');
  assert.equal([restarted?.status, restarted?.reason], ['False', 'ConsumersNotRestarted'], 'before: True (AllRestarted), though the pod holds the dead token');
  assert.match(restarted?.message ?? '', /apps\/canary-1/);
  assert.match(JSON.stringify(late.report.findings), /kubectl argo rollouts restart canary -n apps/);

  // The same pod when its owner was restarted for r-1 (a pod still terminating), or while r-1 is under way: not listed.
  const done = plan(
    {},
    [finding(rotated, 'valid')],
    [workload('web', ['a-token'], { restartedFor: ['r-1'] })],
    {},
    { consumers: [oldPod('web-1', 'Deployment', 'web')] },
  );
  assert.is(done.report.conditions.find((c) => c.type === 'WorkloadsRestarted')?.status, 'True');
  const underWay = plan(
    {},
    [finding({ ...rotated, rotationState: 'pending' }, 'valid')],
    [workload('web', ['a-token'])],
    {},
    {
      consumers: [oldPod('web-1', 'Deployment', 'web')],
    },
  );
  assert.is(underWay.report.conditions.find((c) => c.type === 'WorkloadsRestarted')?.reason, 'RestartsPending');
  // restartDependents NotRefreshable: a volume reader left to the kubelet reads the new token in place.
  const inPlace = plan(
    { restartDependents: 'NotRefreshable' },
    [finding(rotated, 'valid')],
    [workload('web', ['a-token'], { unrefreshedReads: {} })],
    {},
    { consumers: [oldPod('web-1', 'Deployment', 'web')] },
  );
  assert.is(inPlace.report.conditions.find((c) => c.type === 'WorkloadsRestarted')?.status, 'True');
});

test('label selectors', () => {
  assert.ok(matchesSelector({}, {}));
  assert.ok(matchesSelector({ matchLabels: { env: 'prod' } }, { env: 'prod', x: 'y' }));
  assert.not.ok(matchesSelector({ matchLabels: { env: 'prod' } }, { env: 'dev' }));
  assert.ok(matchesSelector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }] }, { env: 'b' }));
  assert.not.ok(matchesSelector({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['a'] }] }, { env: 'a' }));
  assert.ok(matchesSelector({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, {}));
  assert.not.ok(matchesSelector({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, {}));
});

test.run();
