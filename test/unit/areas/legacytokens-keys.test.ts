// The published keys as evidence (issue #24): a key set that can no longer be re-read
// is trusted for a bounded time under the same API servers, never after they restarted;
// conditions resting on it say one method, once, and turn Unknown when it proves nothing.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { KeySource, LegacyTokensObservation, SecretFinding } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';
import type { JsonWebKey } from 'node:crypto';
import type { KubeClient } from '../../../src/kube/client.ts';
import { cachedTokenSecret } from '../../support/builders.ts';
import { KEY_EVIDENCE_BOUND_MS, keyEvidence, keySetFrom, PublishedKeys, type KeyReadState } from '../../../src/kube/service-account-keys.ts';

const test = suite('legacyTokens: the published keys as evidence');
const NOW = Date.parse('2026-06-01T00:10:00Z');
const SET = keySetFrom({ keys: [] });

const state = (over: Partial<KeyReadState>): KeyReadState => ({
  current: SET,
  error: undefined,
  confirmedAtMs: NOW - 300_000,
  confirmedUnder: 'ap-1',
  failingSinceMs: undefined,
  ...over,
});

test('key evidence: the bound, and what turns the keys unusable', () => {
  const rows: [string, KeyReadState, string, 'used' | 'unused', RegExp | undefined][] = [
    ['read fine', state({}), 'ap-1', 'used', undefined],
    ['never read, failing', state({ current: undefined, error: '403', confirmedAtMs: undefined, failingSinceMs: NOW - 5000 }), 'ap-1', 'unused', undefined],
    [
      'failing for less than the bound, same API servers',
      state({ error: '403', failingSinceMs: NOW - (KEY_EVIDENCE_BOUND_MS - 1000) }),
      'ap-1',
      'used',
      undefined,
    ],
    [
      'failing for the bound',
      state({ error: '403', failingSinceMs: NOW - KEY_EVIDENCE_BOUND_MS }),
      'ap-1',
      'unused',
      /could not be re-read since 2026-06-01T00:09:00\.000Z \(last read at 2026-06-01T00:05:00\.000Z\), longer than 60s/,
    ],
    [
      'failing just after the API servers restarted',
      state({ error: '403', failingSinceMs: NOW - 1000 }),
      'ap-2',
      'unused',
      /API servers restarted since the signing keys were last read \(at 2026-06-01T00:05:00\.000Z\).*may have changed/,
    ],
    ['API servers restarted, keys re-read fine', state({ confirmedUnder: 'ap-2' }), 'ap-2', 'used', undefined],
  ];
  for (const [name, s, apiservers, want, stale] of rows) {
    const e = keyEvidence(s, NOW, apiservers);
    assert.is(e.keys ? 'used' : 'unused', want, name);
    if (stale) assert.match(e.stale ?? '', stale, name);
    else assert.is(e.stale, undefined, name);
    assert.is(e.confirmedAtMs, s.confirmedAtMs, `${name}: when the keys were last confirmed`);
  }
});

const finding = (name: string, verdict: SecretFinding['verdict']): SecretFinding => ({
  secret: cachedTokenSecret(name),
  serviceAccount: 'ok',
  verdict,
  staleCA: false,
  terminating: undefined,
});
const UNDECIDED: SecretFinding['verdict'] = {
  validity: 'undecided',
  reason: 'Undecided',
  detail: 'the published signing keys are not known, and the TokenReview fallback failed',
  source: 'offline',
};
const REVIEWED: SecretFinding['verdict'] = { validity: 'valid', reason: 'Valid', detail: 'TokenReview: authenticated', source: 'tokenReview' };
const OFFLINE: SecretFinding['verdict'] = { validity: 'valid', reason: 'Valid', detail: 'the API server would accept it', source: 'offline' };
const FORBIDDEN = 'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:authpolicy-system:authpolicy-operator" cannot create resource';

function plan(secrets: SecretFinding[], keySource: KeySource): ReturnType<typeof planLegacyTokens> {
  const workloads = secrets.map((f) => ({
    kind: 'Deployment' as const,
    metadata: { name: `uses-${f.secret.metadata.name}`, namespace: 'apps', generation: 1 },
    secrets: [f.secret.metadata.name],
    restartedAt: undefined,
    restartedFor: [],
    templateIsOurs: undefined,
    rolloutComplete: true,
  }));
  const obs: LegacyTokensObservation = { secrets, workloads, consumers: [], keySource, externalSigning: undefined, apiservers: 'ap-1', now: NOW };
  return planLegacyTokens(resolveSpec({}), obs, undefined);
}
const condition = (p: ReturnType<typeof planLegacyTokens>, type: string) => p.report.conditions.find((c) => c.type === type);

test('keys unusable, fallback forbidden: both conditions Unknown, the cause said once with its fix', () => {
  const stale = 'the API servers restarted since the signing keys were last read (40s ago), and reading them again failed: the keys may have changed';
  const p = plan(
    ['a', 'b', 'c'].map((n) => finding(n, UNDECIDED)),
    { kind: 'none', keys: 0, error: 'forbidden', stale, reviewError: FORBIDDEN },
  );
  const tokens = condition(p, 'LegacyTokensReady');
  assert.is(`${tokens?.status}/${tokens?.reason}`, 'Unknown/ObserveFailed');
  assert.match(tokens?.message ?? '', /^3 token Secret\(s\) could not be judged \(apps\/a, apps\/b, apps\/c\): the API servers restarted/);
  assert.is(tokens?.message.split(FORBIDDEN).length, 2, 'the TokenReview failure is said once, not per Secret');
  assert.match(tokens?.message ?? '', /\/openid\/v1\/jwks/);
  const restarts = condition(p, 'WorkloadsRestarted');
  assert.is(`${restarts?.status}/${restarts?.reason}`, 'Unknown/TokensUnjudged', 'not "NothingToRestart" while three Deployments mount unjudged tokens');
  assert.match(restarts?.message ?? '', /3 workload\(s\) use them/);
  assert.equal(p.report.summary.undecidedCount, 3);
  assert.is(p.report.summary.keysUnusable, stale);
  assert.is(p.report.summary.keysSince, undefined);
  assert.is(p.report.requeueAfterMs, undefined, 'stale already: nothing to wait for');
});

test('one method, once: offline keys name when they were read; TokenReview says why, and never "checked offline"', () => {
  const offline = condition(plan([finding('a', OFFLINE)], { kind: 'published', keys: 2, keysSince: '2026-06-01T00:09:30Z' }), 'LegacyTokensReady')?.message;
  assert.match(
    offline ?? '',
    /valid \(checked offline against the 2 signing key\(s\) published at \/openid\/v1\/jwks, unchanged since 2026-06-01T00:09:30Z \(re-read every 10 minutes\)\)/,
  );
  assert.not.match(offline ?? '', /TokenReview/);
  const reviewed = condition(plan([finding('a', REVIEWED)], { kind: 'tokenReview', keys: 0, error: 'forbidden' }), 'LegacyTokensReady')?.message;
  assert.match(reviewed ?? '', /valid \(judged by TokenReview because \/openid\/v1\/jwks cannot be used \(reading it failed: forbidden\)/);
  assert.not.match(reviewed ?? '', /checked offline/);
});

test('keys failing but within the bound: verdicts stand, and the reconcile comes back before the bound runs out', () => {
  const p = plan([finding('a', OFFLINE)], { kind: 'published', keys: 1, error: 'forbidden', keysSince: '2026-06-01T00:09:30Z' });
  assert.is(condition(p, 'LegacyTokensReady')?.status, 'True');
  assert.ok((p.report.requeueAfterMs ?? Infinity) < KEY_EVIDENCE_BOUND_MS, `requeue ${p.report.requeueAfterMs}`);
  assert.is(p.report.summary.keysSince, '2026-06-01T00:09:30Z');
});

test('status names since when the keys have been the same set: an unchanged re-read moves nothing (no status write every 10 minutes)', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const jwk = (): JsonWebKey => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  let doc = { keys: [jwk()] };
  const client = { get: () => Promise.resolve(doc) } as unknown as KubeClient;
  const keys = new PublishedKeys();
  let now = NOW;
  await keys.refresh(client, 'ap-1', () => now);
  assert.is(keys.currentSinceMs, NOW);
  now += 600_000;
  await keys.refresh(client, 'ap-1', () => now);
  assert.is(keys.confirmedAtMs, NOW + 600_000, 'confirmed again');
  assert.is(keyEvidence(keys, now, 'ap-1').sinceMs, NOW, 'the same set since the first read');
  doc = { keys: [jwk()] };
  now += 600_000;
  await keys.refresh(client, 'ap-1', () => now);
  assert.is(keyEvidence(keys, now, 'ap-1').sinceMs, NOW + 1_200_000, 'a new set: a new since');
});

test.run();
