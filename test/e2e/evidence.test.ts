// When evidence goes stale (issue #24), on a real control plane: the operator running, its permission to
// read /openid/v1/jwks taken away, then the signing key regenerated: the tokens are dead and the keys it
// read before prove nothing, so it never says "valid"; without the TokenReview fallback both legacy-token
// conditions are Unknown, the cause said once; with it, one method is named. Then: a Secret re-created
// under its name right after a requested rotation restarted its Deployment is not rotated again (one
// restart per request), and every run ends with one outcome Event; a Secret the real legacy-token cleaner
// deletes while a Deployment still names it is reported with the Deployment and the fix.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { DEFAULT_CONTROLLERS, mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, OPERATOR_NAMESPACE, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, waitForCondition, type ConditionView } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('evidence: stale keys, unjudged tokens, re-created and deleted Secrets');
let cluster: Cluster;
let op: OperatorProcess | undefined;
const NS = 'apps';
const NAMES = ['a', 'b', 'c'];
// The operator's identity as a client certificate (it survives the signing-key regeneration, as a bound
// token would not), without the system:serviceaccounts group: the default issuer-discovery binding would
// otherwise let it read the keys whatever its own ClusterRole says.
const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:authpolicy-operator`;
const REQUEST = '2026-10-01T00:00:00Z';

interface SecretJson {
  metadata: { name: string; uid: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  data?: Record<string, string>;
}
interface EventJson {
  reason: string;
  count?: number;
  message: string;
}

const tokenSecret = (name: string, sa: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/service-account-token',
  metadata: { name, namespace: NS, annotations: { 'kubernetes.io/service-account.name': sa } },
  ...extra,
});
const deployment = (name: string, secret: string): unknown => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: secret } }] },
    },
  },
});
async function policy(legacyTokens: Record<string, unknown> = {}): Promise<void> {
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens },
  });
}
async function secretJson(name: string): Promise<SecretJson | undefined> {
  return await getJson<SecretJson>(cluster, ['secret', name, '-n', NS]);
}
async function replicaSets(deploy: string): Promise<number> {
  const out = await mustKubectl(cluster, ['get', 'rs', '-n', NS, '-l', `app=${deploy}`, '-o', 'name']);
  return out.split('\n').filter(Boolean).length;
}
/** The operator's ClusterRole with or without its /openid/v1/jwks rule (replaced whole: its rules are one list). */
async function jwksRule(present: boolean): Promise<void> {
  const role = await getJson<{ rules: { nonResourceURLs?: string[] }[] }>(cluster, ['clusterrole', 'authpolicy-operator']);
  if (!role) throw new Error('clusterrole authpolicy-operator not found');
  const others = role.rules.filter((r) => !r.nonResourceURLs?.includes('/openid/v1/jwks'));
  role.rules = present ? [...others, { nonResourceURLs: ['/openid/v1/jwks'], verbs: ['get'] } as never] : others;
  await mustKubectl(cluster, ['replace', '-f', '-'], { input: JSON.stringify(role) });
}
/** Sum of the counts of the operator's Events with this reason on the policy. */
async function eventCount(reason: string): Promise<number> {
  const list = await getJson<{ items: EventJson[] }>(cluster, ['events', '-n', 'default', '--field-selector', `reason=${reason}`]);
  return (list?.items ?? []).reduce((n, e) => n + (e.count ?? 1), 0);
}
const condition = async (type: string): Promise<ConditionView | undefined> =>
  (await getJson<{ status?: { conditions?: ConditionView[] } }>(cluster, ['authpolicy', 'cluster']))?.status?.conditions?.find((c) => c.type === type);

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  for (const n of NAMES) {
    await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: n, namespace: NS } });
    await apply(cluster, tokenSecret(`${n}-token`, n));
    await apply(cluster, deployment(`uses-${n}`, `${n}-token`));
  }
  for (const n of NAMES) await waitFor(`secret ${n}-token to get its token`, async () => Boolean((await secretJson(`${n}-token`))?.data?.token));
  op = startOperator({ kubeconfig: await cluster.userKubeconfig(OPERATOR_USER, ['system:authenticated']), args: ['--no-leader-elect'] });
  await policy();
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test('baseline: valid, checked offline against the published keys, and status says when they were read', async () => {
  const ready = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.reason === 'TokensValid', 90_000);
  assert.match(
    ready.message,
    /^3 legacy token Secret\(s\) valid \(checked offline against the 1 signing key\(s\) published at \/openid\/v1\/jwks, unchanged since \S+Z \(re-read every 10 minutes\)\)/,
  );
  const summary = await areaStatus<{ keysSince?: string }>(cluster, 'cluster', 'legacyTokens');
  assert.ok(summary?.keysSince && Date.parse(summary.keysSince) > Date.now() - 15 * 60_000, `keysSince ${summary?.keysSince}`);
});

test('keys unreadable, then the signing key regenerated, no TokenReview allowed: never "valid"; both conditions Unknown, the cause once', async () => {
  await jwksRule(false);
  await cluster.restart({ newSigningKey: true });
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'Unknown', 90_000);
  // While the API server restarts its answers change (connection refused, 403 until its RBAC caches fill): then it settles.
  const tokens = await waitForCondition(
    cluster,
    'cluster',
    'LegacyTokensReady',
    (c) => c.status === 'Unknown' && c.message.includes('cannot get path "/openid/v1/jwks"') && c.message.includes('cannot create resource "tokenreviews"'),
    60_000,
  );
  assert.is(tokens.reason, 'ObserveFailed');
  assert.match(tokens.message, /^3 token Secret\(s\) could not be judged \(apps\/a-token, apps\/b-token, apps\/c-token\): the API servers restarted since/);
  assert.is(tokens.message.split('cannot create resource "tokenreviews"').length, 2, `the TokenReview refusal said once: ${tokens.message}`);
  assert.match(tokens.message, /get the non-resource URL \/openid\/v1\/jwks/);
  const restarts = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'Unknown', 30_000);
  assert.is(restarts.reason, 'TokensUnjudged');
  assert.match(restarts.message, /3 workload\(s\) use them/);
  const summary = await areaStatus<{ keySource?: string; keysUnusable?: string; undecidedCount?: number }>(cluster, 'cluster', 'legacyTokens');
  assert.is(summary?.keySource, 'none');
  assert.match(summary?.keysUnusable ?? '', /API servers restarted/);
  assert.is(summary?.undecidedCount, 3);
  // It stays so: the keys read before the regeneration are never taken for proof again.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const now = await condition('LegacyTokensReady');
    assert.is(now?.status, 'Unknown', `LegacyTokensReady went ${now?.status}/${now?.reason}: ${now?.message}`);
    assert.not.equal((await condition('Ready'))?.status, 'True');
    await new Promise((r) => setTimeout(r, 1000));
  }
});

test('TokenReview allowed while the keys stay unreadable: the dead tokens are rotated, judged by one method, named once', async () => {
  // Counted before the grant: once granted, the rotation and its restarts can start before a slow kubectl returns.
  const before = await Promise.all(NAMES.map((n) => replicaSets(`uses-${n}`)));
  await apply(cluster, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'evidence-tokenreviews' },
    rules: [{ apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] }],
  });
  await apply(cluster, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'evidence-tokenreviews' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'evidence-tokenreviews' },
    subjects: [{ kind: 'User', name: OPERATOR_USER, apiGroup: 'rbac.authorization.k8s.io' }],
  });
  const ready = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.reason === 'TokensValid', 180_000);
  assert.match(ready.message, /valid \(judged by TokenReview because \/openid\/v1\/jwks cannot be used/);
  assert.not.match(ready.message, /checked offline/);
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'AllRestarted', 120_000);
  assert.equal(
    await Promise.all(NAMES.map((n) => replicaSets(`uses-${n}`))),
    before.map((r) => r + 1),
    'each dependent restarted once',
  );
});

test('keys readable again: back to offline, naming since when the keys are the published set', async () => {
  await jwksRule(true);
  const ready = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => /checked offline/.test(c.message), 120_000);
  assert.match(ready.message, /checked offline against the 1 signing key\(s\) published at \/openid\/v1\/jwks, unchanged since \S+Z/);
  assert.not.match(ready.message, /TokenReview/);
});

test('a Secret re-created under its name right after a requested rotation restarted its Deployment: one restart per request, runs end once', async () => {
  const before = await replicaSets('uses-a');
  await policy({ rotationRequestedAt: REQUEST });
  await waitFor('deployment uses-a restarted for the request', async () => (await replicaSets('uses-a')) === before + 1, { timeoutMs: 120_000 });
  // As a GitOps tool or a backup restore would: same name and token, none of the operator's marks.
  const old = await waitFor('a-token refilled', async () => {
    const s = await secretJson('a-token');
    return s?.data?.token ? s : undefined;
  });
  await mustKubectl(cluster, ['delete', 'secret', 'a-token', '-n', NS, '--wait=true']);
  await apply(cluster, tokenSecret('a-token', 'a', { data: { token: old.data?.token } }));
  await waitFor(
    'the request recorded done',
    async () => (await areaStatus<{ lastRotationRequest?: string }>(cluster, 'cluster', 'legacyTokens'))?.lastRotationRequest === REQUEST,
    { timeoutMs: 120_000 },
  );
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.reason === 'TokensValid', 60_000);
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  // A second rotation would blank the new object within seconds: give it the time to (not) happen.
  await new Promise((r) => setTimeout(r, 15_000));
  const recreated = await secretJson('a-token');
  assert.is(recreated?.metadata.annotations?.['authpolicy.io/rotation'], undefined, 'the re-created Secret was not rotated');
  assert.is(recreated?.data?.token, old.data?.token);
  assert.is(await replicaSets('uses-a'), before + 1, 'uses-a restarted once for one request');
  await waitFor('every rotation run ended with one outcome Event', async () => {
    const [rotated, finished] = [await eventCount('TokenRotated'), await eventCount('RotationFinished')];
    return rotated > 0 && rotated === finished ? true : undefined;
  });
});

test('a Secret the legacy-token cleaner deletes while a Deployment still names it: reported with the Deployment and the fix', async () => {
  // The cleaner deletes what it invalidated a clean-up period ago, among the tokens a ServiceAccount lists,
  // when no Pod mounts it (a Deployment scaled to zero does not).
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'old', namespace: NS }, secrets: [{ name: 'old-token' }] });
  await apply(cluster, tokenSecret('old-token', 'old'));
  await waitFor('old-token to get its token', async () => Boolean((await secretJson('old-token'))?.data?.token));
  await mustKubectl(cluster, ['label', 'secret', 'old-token', '-n', NS, 'kubernetes.io/legacy-token-invalid-since=2025-01-01']);
  await apply(cluster, deployment('uses-old', 'old-token'));
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.reason === 'CleanerOwned' && c.message.includes('apps/old-token'), 60_000);
  // The cleaner acts only a clean-up period after the API server started tracking legacy-token use (a
  // day at least, from a date): the tracking is dated back, as on a cluster that has tracked for long.
  await mustKubectl(cluster, [
    'patch',
    'configmap',
    'kube-apiserver-legacy-service-account-token-tracking',
    '-n',
    'kube-system',
    '--type=merge',
    '-p',
    '{"data":{"since":"2025-01-01"}}',
  ]);
  await cluster.startControllerManager({
    controllers: [...DEFAULT_CONTROLLERS, 'legacy-serviceaccount-token-cleaner-controller'],
    args: ['--legacy-service-account-token-clean-up-period=1s'],
  });
  await waitFor('the cleaner to delete old-token', async () => ((await secretJson('old-token')) === undefined ? true : undefined), { timeoutMs: 60_000 });
  const ready = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.reason === 'DeletedSecretReferenced', 60_000);
  assert.is(ready.status, 'False');
  assert.match(ready.message, /secret apps\/old-token was deleted by kube-controller-manager's legacy-token cleaner \(invalid since 2025-01-01/);
  assert.match(ready.message, /still used by deployment\/apps\/uses-old/);
  assert.match(ready.message, /projected serviceAccountToken volumes/);
  // Fixed the way the message says: the report goes.
  await mustKubectl(cluster, ['delete', 'deployment', 'uses-old', '-n', NS]);
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.reason !== 'DeletedSecretReferenced', 60_000);
});

test.run();
