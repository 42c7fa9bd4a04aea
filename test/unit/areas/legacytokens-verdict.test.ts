// The offline verdict on a legacy token, one row per state the e2e suites create:
// what kube-apiserver's JWT authenticator and legacy validator would answer.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { TokenSecret } from '../../../src/areas/legacytokens/caches.ts';
import { offlineVerdict, type AccountFacts } from '../../../src/areas/legacytokens/rotation/verdict.ts';
import { parseApiserverFlags } from '../../../src/kube/apiserver-flags.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { keySetFrom, PublishedKeys, tokenFacts, type KeySet } from '../../../src/kube/service-account-keys.ts';
import { fingerprint, toTokenSecret } from '../../../src/kube/token-secrets.ts';

const test = suite('legacyTokens offline verdict');

const oldKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const newKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = (k: KeyObject, kid: string) => ({ ...k.export({ format: 'jwk' }), kid, use: 'sig', alg: k.asymmetricKeyType === 'ec' ? 'ES256' : 'RS256' });
const published = (...ks: [KeyObject, string][]): KeySet => keySetFrom({ keys: ks.map(([k, kid]) => jwk(k, kid)) });

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwt(key: KeyObject, kid: string, claims: Record<string, unknown>, alg = 'RS256'): string {
  const input = `${b64({ alg, kid })}.${b64(claims)}`;
  const sig = sign('sha256', Buffer.from(input), alg.startsWith('ES') ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${sig.toString('base64url')}`;
}
const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: 'kubernetes/serviceaccount',
  sub: 'system:serviceaccount:apps:builder',
  'kubernetes.io/serviceaccount/namespace': 'apps',
  'kubernetes.io/serviceaccount/secret.name': 'builder-token',
  'kubernetes.io/serviceaccount/service-account.name': 'builder',
  'kubernetes.io/serviceaccount/service-account.uid': 'sa-uid',
  ...over,
});
function secretWith(token: string | undefined, keys: KeySet | undefined, meta: Record<string, unknown> = {}, labels: Record<string, string> = {}): TokenSecret {
  const data = token === undefined ? undefined : Buffer.from(token).toString('base64');
  const s = toTokenSecret(
    {
      metadata: { name: 'builder-token', namespace: 'apps', uid: 's-uid', labels, annotations: { 'kubernetes.io/service-account.name': 'builder' }, ...meta },
      data: data ? { token: data } : {},
    },
    undefined,
  );
  return { ...s, token: data ? tokenFacts(token ?? '', keys) : undefined, tokenHash: fingerprint(data) };
}
const SA: AccountFacts = { uid: 'sa-uid' };
const OLD = published([oldKey.publicKey, 'old']);
const NEW = published([newKey.publicKey, 'new']);
const valid = jwt(oldKey.privateKey, 'old', claims());

const rows: {
  name: string;
  token: string | undefined;
  seenWith: KeySet | undefined;
  now: KeySet | undefined;
  sa?: AccountFacts | undefined;
  meta?: Record<string, unknown>;
  labels?: Record<string, string>;
  want: [string, string];
}[] = [
  { name: 'valid', token: valid, seenWith: OLD, now: OLD, want: ['valid', 'Valid'] },
  {
    name: 'valid, both keys published',
    token: valid,
    seenWith: published([oldKey.publicKey, 'old'], [newKey.publicKey, 'new']),
    now: published([oldKey.publicKey, 'old'], [newKey.publicKey, 'new']),
    want: ['valid', 'Valid'],
  },
  {
    name: 'EC key',
    token: jwt(ecKey.privateKey, 'ec', claims(), 'ES256'),
    seenWith: published([ecKey.publicKey, 'ec']),
    now: published([ecKey.publicKey, 'ec']),
    want: ['valid', 'Valid'],
  },
  { name: 'signed by a replaced key (verified when seen, key gone now)', token: valid, seenWith: OLD, now: NEW, want: ['invalid', 'KeyNotPublished'] },
  { name: 'signed by a key never published', token: valid, seenWith: NEW, now: NEW, want: ['invalid', 'SignatureInvalid'] },
  { name: 'keys changed since it was seen unverified: undecided', token: valid, seenWith: NEW, now: OLD, want: ['undecided', 'Undecided'] },
  { name: 'no keys known', token: valid, seenWith: undefined, now: undefined, want: ['undecided', 'Undecided'] },
  {
    name: 'invalid-since label',
    token: valid,
    seenWith: OLD,
    now: OLD,
    labels: { 'kubernetes.io/legacy-token-invalid-since': '2026-01-01' },
    want: ['invalid', 'Invalidated'],
  },
  { name: 'ServiceAccount deleted', token: valid, seenWith: OLD, now: OLD, sa: undefined, want: ['invalid', 'ServiceAccountMissing'] },
  {
    name: 'ServiceAccount terminating',
    token: valid,
    seenWith: OLD,
    now: OLD,
    sa: { uid: 'sa-uid', deletionTimestamp: '2026-06-01T00:00:00Z' },
    want: ['invalid', 'ServiceAccountTerminating'],
  },
  {
    name: 'Secret terminating',
    token: valid,
    seenWith: OLD,
    now: OLD,
    meta: { deletionTimestamp: '2026-06-01T00:00:00Z' },
    want: ['invalid', 'SecretTerminating'],
  },
  {
    name: 'ServiceAccount UID mismatch (recreated)',
    token: valid,
    seenWith: OLD,
    now: OLD,
    sa: { uid: 'other-uid' },
    want: ['invalid', 'ServiceAccountUidMismatch'],
  },
  {
    name: 'forged: right claims, its own key',
    token: jwt(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'old', claims()),
    seenWith: OLD,
    now: OLD,
    want: ['invalid', 'SignatureInvalid'],
  },
  {
    name: 'foreign issuer',
    token: jwt(oldKey.privateKey, 'old', claims({ iss: 'https://evil.example' })),
    seenWith: OLD,
    now: OLD,
    want: ['invalid', 'ForeignIssuer'],
  },
  {
    name: 'claims name another Secret',
    token: jwt(oldKey.privateKey, 'old', claims({ 'kubernetes.io/serviceaccount/secret.name': 'other' })),
    seenWith: OLD,
    now: OLD,
    want: ['invalid', 'OtherSecret'],
  },
  {
    name: 'subject does not match the claims',
    token: jwt(oldKey.privateKey, 'old', claims({ sub: 'system:serviceaccount:apps:admin' })),
    seenWith: OLD,
    now: OLD,
    want: ['invalid', 'ClaimsInvalid'],
  },
  { name: 'not a JWT', token: 'garbage', seenWith: OLD, now: OLD, want: ['invalid', 'Malformed'] },
  { name: 'alg none', token: `${b64({ alg: 'none' })}.${b64(claims())}.x`, seenWith: OLD, now: OLD, want: ['invalid', 'Malformed'] },
  { name: 'empty token', token: undefined, seenWith: OLD, now: OLD, want: ['noToken', 'NoToken'] },
];

for (const r of rows) {
  test(r.name, () => {
    const s = secretWith(r.token, r.seenWith, r.meta, r.labels);
    const v = offlineVerdict(s, 'sa' in r ? r.sa : SA, r.now);
    assert.equal([v.validity, v.reason], r.want, v.detail);
    assert.not.ok(JSON.stringify(s).includes(r.token?.split('.')[2] ?? '\u0000'), 'the cached Secret holds no signature');
  });
}

test('the cached Secret never holds the token, only its facts', () => {
  const s = secretWith(valid, OLD);
  assert.not.ok(JSON.stringify(s).includes(valid.split('.')[1] ?? ''), 'no claims segment');
  assert.is(s.token?.kid, 'old');
  assert.ok(s.token?.signedBy);
});

test('the key set is fetched again only when the API servers change, a kid is unknown or it is old; the same keys keep their version', async () => {
  let calls = 0;
  let doc = { keys: [jwk(oldKey.publicKey, 'old')] };
  const client = {
    get: () => {
      calls++;
      return Promise.resolve(doc);
    },
  } as unknown as KubeClient;
  const keys = new PublishedKeys();
  const first = await keys.ensureFresh(client, 'apiserver-a');
  await keys.ensureFresh(client, 'apiserver-a');
  assert.is(calls, 1, 'no refetch while nothing changed');
  doc = { keys: [jwk(newKey.publicKey, 'new')] };
  const second = await keys.ensureFresh(client, 'apiserver-b');
  assert.is(calls, 2, 'an API server restarted: refetched');
  assert.is.not(second?.version, first?.version);
  await keys.ensureFresh(client, 'apiserver-b', 0);
  assert.is(calls, 3, 'older than the bounded period: refetched');
  assert.is(keySetFrom({ keys: [jwk(oldKey.publicKey, 'renamed')] }).version, first?.version, 'a version names the keys, not their kids');
});

test('--service-account-signing-endpoint (KEP-740) is read from the kube-apiserver command line', () => {
  assert.is(parseApiserverFlags(['kube-apiserver', '--service-account-signing-endpoint=/run/kms/signer.sock']).signingEndpoint, '/run/kms/signer.sock');
  assert.is(parseApiserverFlags(['kube-apiserver', '--service-account-key-file=/k.pub']).signingEndpoint, undefined);
});

test.run();
