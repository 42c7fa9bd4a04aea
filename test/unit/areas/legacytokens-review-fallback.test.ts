// The TokenReview fallback (published keys unreadable) when reviews are refused: one failure stays one. The first
// refused review is the pass's answer for every Secret left to review: N Secrets cost one Secret read and one
// review, not N of each (a restarted API server refuses reviews while its authorizer warms up; at 5,000 Secrets a
// pass cost 10,000 requests). Each Secret is still reported undecided, with the cause said once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AreaContext } from '../../../src/areas/area.ts';
import { tokenSecretCache } from '../../../src/areas/legacytokens/caches.ts';
import { createObserver } from '../../../src/areas/legacytokens/observe.ts';
import { DeletedTokenSecrets } from '../../../src/areas/legacytokens/rotation/deleted-secrets.ts';
import { SecretRereader, TokenReviewer } from '../../../src/areas/legacytokens/rotation/validate.ts';
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
  client.fail('create', /tokenreviews/, 403, 100);
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
});

test.run();
