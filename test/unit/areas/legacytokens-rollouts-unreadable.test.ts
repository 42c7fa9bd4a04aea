// Argo Rollouts unreadable (403 on rollouts.argoproj.io), observed and planned: the pods a Rollout owns that still
// hold a replaced token are listed as not restarted, with the permission that would let the operator restart them;
// status never says that no running pod holds a replaced token. The rest of the area goes on.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import type { AreaContext } from '../../../src/areas/area.ts';
import { tokenSecretCache } from '../../../src/areas/legacytokens/caches.ts';
import { DeletedTokenSecrets } from '../../../src/areas/legacytokens/rotation/deleted-secrets.ts';
import { createObserver } from '../../../src/areas/legacytokens/observe.ts';
import { planLegacyTokens } from '../../../src/areas/legacytokens/plan.ts';
import { rolloutCache, toRolloutWorkload } from '../../../src/areas/legacytokens/restarts/rollouts.ts';
import { SecretRereader, TokenReviewer } from '../../../src/areas/legacytokens/rotation/validate.ts';
import { objectPath, Resources } from '../../../src/kube/paths.ts';
import { PublishedKeys } from '../../../src/kube/service-account-keys.ts';
import { apiError, cachedTokenSecret } from '../../support/builders.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

type Informer = ReturnType<AreaContext['cache']>;

const test = suite('legacyTokens with Argo Rollouts unreadable');

const DENIED =
  "the operator may not list rollouts.argoproj.io cluster-wide: grant list and watch rollouts.argoproj.io cluster-wide to the operator's ServiceAccount in its ClusterRole (config/rbac), then it recovers within seconds, no restart needed";

/** The cluster: apps/app-token rotated (refilled, rotation still open) after r1's pod started; that pod reads it. */
function cluster(clock: TestClock): MemoryClient {
  const client = new MemoryClient(clock.now);
  client.seed(objectPath(Resources.namespaces, 'apps'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  client.seed(objectPath(Resources.serviceAccounts, 'app-token', 'apps'), {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'app-token', namespace: 'apps' },
  });
  client.seed(objectPath(Resources.replicaSets, 'r1-6b7f', 'apps'), {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'r1-6b7f', namespace: 'apps', ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'r1', controller: true }] },
  });
  client.seed(objectPath(Resources.pods, 'r1-6b7f-x2x9q', 'apps'), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'r1-6b7f-x2x9q',
      namespace: 'apps',
      creationTimestamp: '2026-05-31T12:00:00Z',
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r1-6b7f', controller: true }],
    },
    spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] },
    status: { phase: 'Running' },
  });
  return client;
}

/** Rollout r1, its pod template reading apps/app-token, as Argo Rollouts stores it. */
const r1 = {
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'r1', namespace: 'apps', generation: 1, creationTimestamp: '2026-05-01T00:00:00Z' },
  spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] } } },
};
/** The Rollout cache: refused with a 403 (`denied`), or listed. */
const refused = {
  hasSynced: () => false,
  lastFailure: apiError(403, 'rollouts.argoproj.io is forbidden'),
  lastError: DENIED,
  list: () => [],
  get: () => undefined,
};
const listed = { hasSynced: () => true, lastFailure: undefined, on: () => undefined, list: () => [toRolloutWorkload(r1)], get: () => toRolloutWorkload(r1) };

/** An AreaContext whose token-Secret cache holds the rotated Secret, with the Rollout cache given. */
function context(
  client: MemoryClient,
  clock: TestClock,
  rollouts: typeof refused | typeof listed,
): { ctx: AreaContext; secrets: ReturnType<typeof tokenSecretCache> } {
  const secrets = tokenSecretCache(new PublishedKeys());
  const rotated = cachedTokenSecret('app-token', {
    serviceAccountName: 'app-token',
    tokenHash: 'new',
    rotation: 'r-1',
    rotationState: 'pending',
    rotatedAt: '2026-05-31T23:00:00Z',
    rotatedFrom: 'old',
    rotatedUnder: 'ap-1',
  });
  const { ctx } = memoryContext(client, clock, resolveSpec({ legacyTokens: { workloadKinds: ['Deployment', 'Rollout'] } }));
  const unsynced = rollouts as unknown as Informer;
  const fixed = {
    hasSynced: () => true,
    on: () => undefined,
    list: () => [rotated],
    get: (name: string, ns?: string) => (name === 'app-token' && ns === 'apps' ? rotated : undefined),
  } as unknown as Informer;
  const cache = ((handle: Parameters<AreaContext['cache']>[0]) =>
    handle === rolloutCache ? unsynced : handle === secrets ? fixed : client.cache(handle)) as AreaContext['cache'];
  return { ctx: { ...ctx, cache, unsynced: (handle) => (handle === rolloutCache && rollouts === refused ? DENIED : undefined) }, secrets };
}

test("403 on rollouts: the Rollout's pod holding the replaced token is listed as not restarted, never as settled; the rotation stays open, and the Rollout is restarted once it can be read", async () => {
  const clock = new TestClock('2026-06-01T00:00:00Z');
  const client = cluster(clock);
  const keys = new PublishedKeys();
  const observeWith = async (rollouts: typeof refused | typeof listed) => {
    const { ctx, secrets } = context(client, clock, rollouts);
    const observe = createObserver(new SecretRereader(client, keys), new TokenReviewer(client), new Map(), new DeletedTokenSecrets(), keys, secrets);
    return { spec: ctx.spec, observation: await observe(ctx) };
  };
  const { spec, observation } = await observeWith(refused);
  assert.equal(observation.rollouts, { state: 'unreadable', message: DENIED });
  assert.equal(
    observation.consumers.map((c) => [c.pod, c.owner, c.secret, c.restartable]),
    [['r1-6b7f-x2x9q', 'Rollout r1', 'app-token', undefined]],
    "the Rollout's pod is observed (its owner named), not restartable while Rollouts cannot be read",
  );

  const plan = planLegacyTokens(spec, observation, undefined);
  const workloads = plan.report.conditions.find((c) => c.type === 'WorkloadsRestarted');
  assert.is(workloads?.status, 'False');
  assert.is(workloads?.reason, 'ConsumersNotRestarted');
  assert.match(workloads?.message ?? '', /1 running pod\(s\) still hold a replaced token.*pod apps\/r1-6b7f-x2x9q \(Rollout r1; volume of app-token\)/);
  assert.match(workloads?.message ?? '', /Argo Rollouts were not checked, so no Rollout is restarted: the operator may not list rollouts\.argoproj\.io.*grant/);
  assert.match(workloads?.message ?? '', /restarting a Rollout also needs patch on rollouts\.argoproj\.io/, 'the whole permission is named');
  assert.not.match(workloads?.message ?? '', /no other running pod holds a replaced token/);
  assert.equal(
    (plan.report.summary.notRestarted as { pod: string; owner: string }[]).map((p) => `${p.pod} ${p.owner}`),
    ['apps/r1-6b7f-x2x9q Rollout r1'],
  );
  assert.is(plan.report.summary.rolloutsUnchecked, DENIED);
  // Not closed while a Rollout that could not be read leaves its pod holding the replaced token: closed, the
  // rotation would never restart that Rollout, and once Rollouts are read its pod would count as restarted.
  assert.equal(
    plan.actions.map((a) => a.kind),
    [],
    `the rotation stays open: ${JSON.stringify(plan.actions)}`,
  );

  // Granted again: the Rollout is a dependent of the rotation still open, and is restarted for it.
  const granted = await observeWith(listed);
  assert.equal(granted.observation.rollouts, { state: 'ready' });
  const after = planLegacyTokens(spec, granted.observation, undefined);
  assert.equal(after.actions, [{ kind: 'restart', workload: { kind: 'Rollout', namespace: 'apps', name: 'r1' }, rotations: ['r-1'] }]);
  const now = after.report.conditions.find((c) => c.type === 'WorkloadsRestarted');
  assert.is(now?.reason, 'RestartsPending', now?.message);
  assert.not.match(now?.message ?? '', /no other running pod holds a replaced token/);
});

test.run();
