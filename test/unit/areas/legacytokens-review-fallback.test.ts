// The TokenReview fallback (published keys unreadable) when reviews are refused: one failure stays one. The first
// refused review is the pass's answer for every Secret left to review: N Secrets cost one Secret read and one
// review, not N of each (a restarted API server refuses reviews while its authorizer warms up; at 5,000 Secrets a
// pass cost 10,000 requests). Each Secret is still reported undecided, with the cause said once. The refusal is
// remembered for a minute (no read, no review) and the fallback works again within a minute of a grant.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AreaContext } from '../../../src/areas/area.ts';
import { tokenSecretCache } from '../../../src/areas/legacytokens/caches.ts';
import { createObserver } from '../../../src/areas/legacytokens/observe.ts';
import { DeletedTokenSecrets } from '../../../src/areas/legacytokens/rotation/deleted-secrets.ts';
import { REVIEW_REFUSAL_MEMORY_MS, SecretRereader, TokenReviewer } from '../../../src/areas/legacytokens/rotation/validate.ts';
import { objectPath, Resources } from '../../../src/kube/paths.ts';
import { LEGACY_ISSUER, PublishedKeys } from '../../../src/kube/service-account-keys.ts';
import type { TokenSecret } from '../../../src/kube/token-secrets.ts';
import { cachedTokenSecret } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const test = suite('legacyTokens TokenReview fallback refused');
const NAMES = ['a-token', 'b-token', 'c-token'];

test('keys unreadable and reviews refused: one Secret read and one review for the pass, every Secret undecided, the cause said once', async () => {
  const clock = new TestClock('2026-06-01T00:00:00Z');
  const client = new MemoryClient(clock.now);
  client.seed(objectPath(Resources.namespaces, 'apps'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  const cached: TokenSecret[] = NAMES.map((name) => {
    const uid = `uid-sa-${name}`;
    client.seed(objectPath(Resources.serviceAccounts, name, 'apps'), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'apps', uid } });
    client.seed(objectPath(Resources.secrets, name, 'apps'), {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name, namespace: 'apps', annotations: { 'kubernetes.io/service-account.name': name } },
      data: { token: Buffer.from(`token-of-${name}`).toString('base64') },
    });
    // Every check but the signature passes: only a TokenReview could decide it.
    return cachedTokenSecret(name, {
      serviceAccountUid: uid,
      token: {
        issuer: LEGACY_ISSUER,
        subject: `system:serviceaccount:apps:${name}`,
        namespace: 'apps',
        secretName: name,
        serviceAccountName: name,
        serviceAccountUid: uid,
        checkedAgainst: '',
      },
    });
  });
  client.fail('create', /tokenreviews/, 403, 1);
  // Once granted, the API server authenticates each token as its own ServiceAccount.
  client.review(/tokenreviews/, (body) => {
    const name = (body.spec as { token: string }).token.replace('token-of-', '');
    return { status: { authenticated: true, user: { username: `system:serviceaccount:apps:${name}` } } };
  });
  const keys = new PublishedKeys(() => clock.now().getTime());
  const secrets = tokenSecretCache(keys);
  const { ctx } = memoryContext(client, clock, resolveSpec({}));
  const fixed = {
    hasSynced: () => true,
    on: () => undefined,
    list: () => cached,
    get: (n: string) => cached.find((s) => s.metadata.name === n),
  } as unknown as ReturnType<AreaContext['cache']>;
  const cache = ((handle: Parameters<AreaContext['cache']>[0]) => (handle === secrets ? fixed : client.cache(handle))) as AreaContext['cache'];
  const observe = createObserver(new SecretRereader(client, keys), new TokenReviewer(client), new Map(), new DeletedTokenSecrets(), keys, secrets);

  const observation = await observe({ ...ctx, cache });

  assert.is(client.callsOf('create', 'tokenreviews').length, 1, 'one refused review, not one per Secret');
  assert.is(client.callsOf('list', '/secrets').length, 1, "one Secret read (the first review's), not one per Secret");
  assert.equal(
    observation.secrets.map((f) => [f.secret.metadata.name, f.verdict.validity]),
    NAMES.map((n) => [n, 'undecided']),
  );
  for (const f of observation.secrets) assert.match(f.verdict.detail, /the TokenReview fallback failed/);
  assert.match(observation.keySource.reviewError ?? '', /403|forbidden/i, 'the cause, once');

  // The refusal is remembered for a minute: the next passes cost no Secret read and no review, and still say why.
  clock.advance(REVIEW_REFUSAL_MEMORY_MS - 1_000);
  const again = await observe({ ...ctx, cache });
  assert.is(client.callsOf('create', 'tokenreviews').length, 1, 'no review while the refusal is remembered');
  assert.is(client.callsOf('list', '/secrets').length, 1, 'no Secret read while the refusal is remembered');
  assert.match(again.keySource.reviewError ?? '', /403|forbidden/i, 'the remembered cause');
  for (const f of again.secrets) assert.is(f.verdict.validity, 'undecided');

  // Granted (the fault is used up) and a minute passed: every Secret is reviewed again, with no error.
  clock.advance(2_000);
  const granted = await observe({ ...ctx, cache });
  assert.is(client.callsOf('create', 'tokenreviews').length, 1 + NAMES.length, 'reviewed again within a minute of the grant');
  assert.is(granted.keySource.reviewError, undefined);
  assert.equal(
    granted.secrets.map((f) => [f.verdict.source, f.verdict.validity]),
    NAMES.map(() => ['tokenReview', 'valid']),
  );
});

test.run();
