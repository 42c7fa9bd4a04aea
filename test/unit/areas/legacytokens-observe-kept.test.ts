// A rotation reconciles about once a second over every token Secret: observe hands back the same finding for a
// Secret while nothing it is judged from changed (the Secret, its ServiceAccount, the namespace's root CA, the
// namespace, the published keys), and judges it again as soon as one did. The in-memory caches hand out the same
// object until the stored one changes, as an informer does.
import { generateKeyPairSync } from 'node:crypto';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AreaContext } from '../../../src/areas/area.ts';
import { createObserver } from '../../../src/areas/legacytokens/observe.ts';
import { DeletedTokenSecrets } from '../../../src/areas/legacytokens/rotation/deleted-secrets.ts';
import { SecretRereader, TokenReviewer } from '../../../src/areas/legacytokens/rotation/validate.ts';
import { tokenSecretCache } from '../../../src/areas/legacytokens/caches.ts';
import { objectPath, Resources } from '../../../src/kube/paths.ts';
import { keySetFrom, LEGACY_ISSUER, PublishedKeys, type KeyEvidence, type KeySet } from '../../../src/kube/service-account-keys.ts';
import type { TokenSecret } from '../../../src/kube/token-secrets.ts';
import { cachedTokenSecret } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const test = suite('legacyTokens observe: findings kept while nothing they rest on changed');

test('the same finding while nothing changed; judged again when its ServiceAccount, the Secret or the keys change', async () => {
  const clock = new TestClock('2026-06-01T00:00:00Z');
  const client = new MemoryClient(clock.now);
  client.seed(objectPath(Resources.namespaces, 'apps'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  const saPath = objectPath(Resources.serviceAccounts, 'a', 'apps');
  client.seed(saPath, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a', namespace: 'apps', uid: 'uid-sa' } });
  const token = (over: Partial<TokenSecret> = {}): TokenSecret =>
    cachedTokenSecret('a', {
      serviceAccountUid: 'uid-sa',
      token: {
        issuer: LEGACY_ISSUER,
        subject: 'system:serviceaccount:apps:a',
        namespace: 'apps',
        secretName: 'a',
        serviceAccountName: 'a',
        serviceAccountUid: 'uid-sa',
        signedBy: 'a-key-no-longer-published',
        checkedAgainst: '',
      },
      ...over,
    });
  let cached = [token()];
  let set: KeySet = keySetFrom({ keys: [] });
  const keys = new PublishedKeys(() => clock.now().getTime());
  keys.evidence = (): Promise<KeyEvidence> => Promise.resolve({ keys: set, confirmedAtMs: clock.now().getTime(), sinceMs: undefined, error: undefined });
  const secrets = tokenSecretCache(keys);
  const fixed = { list: () => cached, get: (n: string) => cached.find((s) => s.metadata.name === n) } as unknown as ReturnType<AreaContext['cache']>;
  const { ctx } = memoryContext(client, clock, resolveSpec({}), { mode: 'check' });
  const cache = ((handle: Parameters<AreaContext['cache']>[0]) => (handle === secrets ? fixed : client.cache(handle))) as AreaContext['cache'];
  const observe = createObserver(new SecretRereader(client, keys), new TokenReviewer(client), new Map(), new DeletedTokenSecrets(), keys, secrets);
  const finding = async () => (await observe({ ...ctx, cache })).secrets[0];

  const first = await finding();
  assert.is(first?.verdict.reason, 'KeyNotPublished');
  assert.ok((await finding()) === first, 'nothing changed: the same finding');

  client.poke(saPath, (o) => {
    o.metadata.uid = 'uid-recreated';
  });
  const recreated = await finding();
  assert.ok(recreated !== first, 'its ServiceAccount changed: judged again');
  assert.is(recreated?.serviceAccount, 'uidMismatch');
  assert.ok((await finding()) === recreated, 'and kept again');

  cached = [token({ serviceAccountUid: 'uid-recreated', lastUsed: '2026-05-31' })];
  const updated = await finding();
  assert.ok(updated !== recreated && updated?.secret === cached[0], 'the Secret changed (a new cached object): judged again');

  set = keySetFrom({ keys: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })] });
  assert.is(set.keys.length, 1);
  assert.ok((await finding()) !== updated, 'the published keys changed: judged again');
});

test.run();
