// Legacy tokens judged without touching them (issue #12), on a real control plane:
// over a dry run and a signing-key regeneration with rotation and restarts, the
// operator never authenticates a legacy token (no legacy-token-last-used label, the
// API server's serviceaccount_legacy_*_token_uses_total do not move); what is being
// deleted is never rotated nor restarted; pods it cannot restart are listed; and its
// offline verdict agrees with TokenReview on every token state.
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { offlineVerdict } from '../../src/areas/legacytokens/rotation/verdict.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { PublishedKeys } from '../../src/kube/service-account-keys.ts';
import { toTokenSecret } from '../../src/kube/token-secrets.ts';
import { DEFAULT_CONTROLLERS, startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, tokenReview, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('legacy tokens: judged offline, never touched');
let cluster: Cluster;
let op: OperatorProcess | undefined;
let oldSigningKey: KeyObject;
const NS = 'apps';

interface SecretJson {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

const container = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'main', image: 'busybox', ...extra });
const tpl = (app: string, spec: Record<string, unknown>): unknown => ({ metadata: { labels: { app } }, spec: { containers: [container()], ...spec } });
const volume = (secret: string): Record<string, unknown> => ({ volumes: [{ name: 't', secret: { secretName: secret } }] });
const deployment = (name: string, namespace: string, spec: Record<string, unknown>, finalizers?: string[]): unknown => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, ...(finalizers ? { finalizers } : {}) },
  spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: tpl(name, spec) },
});
const tokenSecret = (name: string, namespace: string, sa: string, extra: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/service-account-token',
  metadata: { name, namespace, annotations: { 'kubernetes.io/service-account.name': sa }, ...extra },
});

async function tokenOf(name: string, namespace = NS): Promise<string> {
  const s = await getJson<SecretJson>(cluster, ['secret', name, '-n', namespace]);
  return s?.data?.token ? Buffer.from(s.data.token, 'base64').toString() : '';
}
async function replicaSets(deploy: string, namespace = NS): Promise<number> {
  const out = await mustKubectl(cluster, ['get', 'rs', '-n', namespace, '-l', `app=${deploy}`, '-o', 'name']);
  return out.split('\n').filter(Boolean).length;
}
async function policy(legacyTokens: Record<string, unknown>, dryRun = false): Promise<void> {
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { dryRun, nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens },
  });
}
/** Every legacy-token-last-used label on any token Secret: the API server writes one whenever a legacy token authenticates. */
async function lastUsedLabels(): Promise<string[]> {
  const list = JSON.parse(await mustKubectl(cluster, ['get', 'secrets', '-A', '--field-selector=type=kubernetes.io/service-account-token', '-o', 'json'])) as {
    items: SecretJson[];
  };
  return list.items.flatMap((s) =>
    s.metadata.labels?.['kubernetes.io/legacy-token-last-used']
      ? [`${s.metadata.namespace}/${s.metadata.name}=${s.metadata.labels['kubernetes.io/legacy-token-last-used']}`]
      : [],
  );
}
/** The API server's count of legacy-token authentications (auto-generated and manual Secrets). */
async function legacyUses(): Promise<number> {
  const text = await mustKubectl(cluster, ['get', '--raw', '/metrics']);
  let total = 0;
  for (const line of text.split('\n')) if (/^serviceaccount_legacy_(auto|manual)_token_uses_total/.test(line)) total += Number(line.split(/\s+/).pop());
  return total;
}
/** The operator's own count of requests to a resource (authpolicy_api_requests_total), all verbs but WATCH. */
async function operatorRequests(resource: string): Promise<number> {
  const text = (await op?.metrics()) ?? '';
  return ['GET', 'LIST', 'POST', 'PATCH', 'PUT', 'DELETE'].reduce(
    (n, verb) => n + (metricValue(text, 'authpolicy_api_requests_total', { verb, resource }) ?? 0),
    0,
  );
}
async function observed(): Promise<void> {
  await waitFor(
    'the policy to be observed at its generation',
    async () => {
      const p = await getJson<{ metadata: { generation: number }; status?: { observedGeneration?: number } }>(cluster, ['authpolicy', 'cluster']);
      return p?.status?.observedGeneration === p?.metadata.generation;
    },
    { timeoutMs: 60_000 },
  );
}

const RESTARTED = ['web', 'api'];
const LEFT_ALONE = ['uses-leaving', 'uses-held'];
const rsBefore = new Map<string, number>();

test.before(async () => {
  cluster = await startCluster({ scheduler: false, controllers: [...DEFAULT_CONTROLLERS, 'job-controller'] });
  await installOperatorPrereqs(cluster);
  oldSigningKey = createPrivateKey(await readFile(cluster.signingKey().key, 'utf8'));
  for (const ns of [NS, 'doomed']) await mustKubectl(cluster, ['create', 'namespace', ns]);
  for (const sa of ['builder', 'deployer', 'leaving', 'held'])
    await apply(cluster, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: sa, namespace: NS, ...(sa === 'leaving' ? { finalizers: ['test.authpolicy.io/hold'] } : {}) },
    });
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: 'doomed', finalizers: ['test.authpolicy.io/hold'] } });
  for (const sa of ['builder', 'deployer', 'leaving']) await apply(cluster, tokenSecret(`${sa}-token`, NS, sa));
  await apply(cluster, tokenSecret('held-token', NS, 'held', { finalizers: ['test.authpolicy.io/hold'] }));
  await apply(cluster, tokenSecret('app-token', 'doomed', 'app', { finalizers: ['test.authpolicy.io/hold'] }));
  // Restartable dependents, and dependents of what is about to be deleted.
  await apply(cluster, deployment('web', NS, volume('builder-token')));
  await apply(
    cluster,
    deployment('api', NS, { containers: [container({ env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'deployer-token', key: 'token' } } }] })] }),
  );
  await apply(cluster, deployment('uses-leaving', NS, volume('leaving-token')));
  await apply(cluster, deployment('uses-held', NS, volume('held-token')));
  await apply(cluster, deployment('doomed-web', 'doomed', volume('app-token'), ['test.authpolicy.io/hold']));
  // Consumers the operator cannot restart: bare Pods (env and volume), a Job, a CronJob's Job, a bare ReplicaSet.
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bare-env', namespace: NS },
    spec: { containers: [container({ env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'builder-token', key: 'token' } } }] })] },
  });
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'bare-vol', namespace: NS },
    spec: { containers: [container()], ...volume('deployer-token') },
  });
  const job = (name: string, spec: Record<string, unknown>, owner?: Record<string, unknown>): unknown => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: NS, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [container()], ...spec } } },
  });
  await apply(cluster, job('once', { containers: [container({ envFrom: [{ secretRef: { name: 'builder-token' } }] })] }));
  await apply(cluster, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'nightly', namespace: NS },
    spec: {
      schedule: '0 0 1 1 *',
      suspend: true,
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [container()], ...volume('deployer-token') } } } },
    },
  });
  const cron = await getJson<{ metadata: { uid: string } }>(cluster, ['cronjob', 'nightly', '-n', NS]);
  await apply(
    cluster,
    job('nightly-1', volume('deployer-token'), { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: cron?.metadata.uid, controller: true }),
  );
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'lonely', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'lonely' } },
      template: tpl('lonely', { volumes: [{ name: 't', projected: { sources: [{ secret: { name: 'builder-token' } }] } }] }),
    },
  });
  for (const s of ['builder-token', 'deployer-token', 'leaving-token', 'held-token'])
    await waitFor(`secret ${NS}/${s} to get a token`, async () => (await tokenOf(s)) !== '');
  await waitFor('secret doomed/app-token to get a token', async () => (await tokenOf('app-token', 'doomed')) !== '');
  for (const d of [...RESTARTED, ...LEFT_ALONE])
    rsBefore.set(d, await waitFor(`deployment ${d}'s first ReplicaSet`, async () => ((await replicaSets(d)) > 0 ? replicaSets(d) : undefined)));
  rsBefore.set(
    'doomed-web',
    await waitFor("deployment doomed/doomed-web's first ReplicaSet", async () =>
      (await replicaSets('doomed-web', 'doomed')) > 0 ? replicaSets('doomed-web', 'doomed') : undefined,
    ),
  );
  await waitFor(
    "the Jobs' and the ReplicaSet's pods",
    async () => (await mustKubectl(cluster, ['get', 'pods', '-n', NS, '-o', 'name'])).split('\n').filter(Boolean).length >= 5,
  );
  // Being deleted, held by finalizers: a ServiceAccount in a live namespace, a Secret, and a whole namespace.
  await mustKubectl(cluster, ['delete', 'serviceaccount', 'leaving', '-n', NS, '--wait=false']);
  await mustKubectl(cluster, ['delete', 'secret', 'held-token', '-n', NS, '--wait=false']);
  await mustKubectl(cluster, ['delete', 'namespace', 'doomed', '--wait=false']);
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test('a dry run over several reconciles authenticates no legacy token and lists what it would and could not do', async () => {
  const uses = await legacyUses();
  const tokens = await Promise.all(['builder-token', 'deployer-token'].map((s) => tokenOf(s)));
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await policy({ rotationRequestedAt: '2026-01-01T00:00:00Z' }, true);
  const c = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (x) => /dry run/.test(x.message));
  assert.match(c.message, /would rotate 2 token Secret/);
  for (const n of [2, 3, 4]) {
    await policy({ rotationRequestedAt: '2026-01-01T00:00:00Z', maxConcurrentRestarts: n }, true);
    await observed();
  }
  const summary = await areaStatus<{
    wouldRotate?: string[];
    terminating?: { secret: string; what: string }[];
    wouldNotRestart?: { pod: string; owner: string }[];
    keySource?: string;
  }>(cluster, 'cluster', 'legacyTokens');
  assert.equal(summary?.wouldRotate?.map((s) => s.split(':')[0]).sort(), ['apps/builder-token', 'apps/deployer-token']);
  assert.equal(summary?.terminating?.map((t) => `${t.secret}:${t.what}`).sort(), [
    'apps/held-token:Secret',
    'apps/leaving-token:ServiceAccount',
    'doomed/app-token:Namespace',
  ]);
  assert.match(summary?.keySource ?? '', /^\/openid\/v1\/jwks \(1 key\(s\)\); no TokenReview/);
  const owners = (summary?.wouldNotRestart ?? []).map((p) => p.owner);
  for (const o of ['none (bare Pod)', 'Job once', 'Job nightly-1 of CronJob nightly', 'ReplicaSet lonely (no Deployment)'])
    assert.ok(owners.includes(o), `${o} in ${JSON.stringify(owners)}`);
  assert.equal(await Promise.all(['builder-token', 'deployer-token'].map((s) => tokenOf(s))), tokens, 'dry run: nothing rotated');
  assert.equal(await lastUsedLabels(), [], 'no Secret marked used');
  assert.is(await legacyUses(), uses, 'the API server counted no legacy-token use');
  assert.is(await operatorRequests('tokenreviews'), 0, 'no TokenReview');
  await op.stop();
});

test('a signing-key regeneration: live tokens rotated, dependents restarted once; nothing being deleted touched; unrestartable pods listed', async () => {
  const before = new Map(
    await Promise.all(['builder-token', 'deployer-token', 'leaving-token', 'held-token'].map(async (s) => [s, await tokenOf(s)] as const)),
  );
  const doomedToken = await tokenOf('app-token', 'doomed');
  const doomedGeneration = (await getJson<{ metadata: { generation: number } }>(cluster, ['deployment', 'doomed-web', '-n', 'doomed']))?.metadata.generation;
  await cluster.restart({ newSigningKey: true });
  await policy({ maxConcurrentRestarts: 2 });
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  const w = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'ConsumersNotRestarted', 120_000);
  assert.is(w.status, 'False', 'pods still holding the dead token: never True');
  for (const s of ['builder-token', 'deployer-token']) assert.ok((await tokenOf(s)) !== before.get(s), `${s} rotated in place`);
  for (const s of ['leaving-token', 'held-token']) {
    assert.is(await tokenOf(s), before.get(s), `${s} (being deleted) not rotated`);
    const a = (await getJson<SecretJson>(cluster, ['secret', s, '-n', NS]))?.metadata.annotations ?? {};
    assert.is(a['authpolicy.io/rotation'], undefined, `${s} carries no rotation`);
  }
  assert.is(await tokenOf('app-token', 'doomed'), doomedToken, "the terminating namespace's Secret not rotated");
  for (const d of RESTARTED)
    assert.is(await waitFor(`${d} restarted`, async () => ((await replicaSets(d)) === (rsBefore.get(d) ?? 0) + 1 ? true : undefined)), true);
  for (const d of LEFT_ALONE) assert.is(await replicaSets(d), rsBefore.get(d), `${d} (uses what is being deleted) not restarted`);
  assert.is(
    (await getJson<{ metadata: { generation: number } }>(cluster, ['deployment', 'doomed-web', '-n', 'doomed']))?.metadata.generation,
    doomedGeneration,
    'nothing in the terminating namespace restarted',
  );
  const summary = await areaStatus<{ notRestarted?: { pod: string; owner: string; secret: string; reads: string; note?: string }[] }>(
    cluster,
    'cluster',
    'legacyTokens',
  );
  const listed = summary?.notRestarted ?? [];
  const find = (pred: (p: (typeof listed)[number]) => boolean, what: string) => {
    const p = listed.find(pred);
    assert.ok(p, `${what} listed in ${JSON.stringify(listed)}`);
    return p;
  };
  assert.match(find((p) => p.pod === 'apps/bare-env', 'bare pod (env)').reads, /^env of container main$/);
  assert.match(find((p) => p.pod === 'apps/bare-vol', 'bare pod (volume)').reads, /^volume$/);
  assert.match(find((p) => p.owner === 'Job once', 'the Job').reads, /envFrom of container main/);
  assert.match(find((p) => p.owner === 'Job nightly-1 of CronJob nightly', "the CronJob's Job").note ?? '', /needs no restart/);
  assert.match(find((p) => p.owner === 'ReplicaSet lonely (no Deployment)', 'the bare ReplicaSet').reads, /projected volume/);
  assert.match(w.message, /delete or recreate them/);
  // Events say exactly what was and was not restarted.
  const events = await mustKubectl(cluster, [
    'get',
    'events',
    '-n',
    'default',
    '--field-selector=reason=RotationFinished',
    '-o',
    'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
  ]);
  const builder = events.split('\n').find((m) => m.includes('apps/builder-token')) ?? '';
  assert.match(builder, /restarted deployment\/apps\/web/);
  assert.match(builder, /NOT restarted, still holding the replaced token: .*bare-env/);
  assert.not.match(events, /every workload using it was restarted/);
  assert.equal(await lastUsedLabels(), [], 'no Secret marked used by the rotation');
  assert.is(await legacyUses(), 0, 'the restarted API server counted no legacy-token use');
});

test('steady state makes no request per token Secret, and no TokenReview', async () => {
  const secrets = await operatorRequests('secrets');
  for (const n of [3, 4, 5]) {
    await policy({ maxConcurrentRestarts: n });
    await observed();
  }
  assert.is(await operatorRequests('secrets'), secrets, 'no Secret read or written in steady state (the cache decides)');
  assert.is(await operatorRequests('tokenreviews'), 0);
  assert.equal(await lastUsedLabels(), []);
  assert.is(await legacyUses(), 0);
  await op?.stop();
  op = undefined;
});

test('agreement: the offline verdict equals a TokenReview for every token state', async () => {
  await cluster.stopControllerManager(); // the fixtures stay exactly as written (the tokens controller would fill or delete some)
  await mustKubectl(cluster, ['create', 'namespace', 'agree']);
  for (const sa of ['agent', 'going'])
    await apply(cluster, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: sa, namespace: 'agree', ...(sa === 'going' ? { finalizers: ['test.authpolicy.io/hold'] } : {}) },
    });
  await mustKubectl(cluster, ['delete', 'serviceaccount', 'going', '-n', 'agree', '--wait=false']);
  const uid = (await getJson<{ metadata: { uid: string } }>(cluster, ['serviceaccount', 'agent', '-n', 'agree']))?.metadata.uid ?? '';
  const goingUid = (await getJson<{ metadata: { uid: string } }>(cluster, ['serviceaccount', 'going', '-n', 'agree']))?.metadata.uid ?? '';
  const current = createPrivateKey(await readFile(cluster.signingKey().key, 'utf8'));
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = (key: KeyObject, secret: string, over: Record<string, unknown> = {}): string => {
    const claims = {
      iss: 'kubernetes/serviceaccount',
      sub: 'system:serviceaccount:agree:agent',
      'kubernetes.io/serviceaccount/namespace': 'agree',
      'kubernetes.io/serviceaccount/secret.name': secret,
      'kubernetes.io/serviceaccount/service-account.name': 'agent',
      'kubernetes.io/serviceaccount/service-account.uid': uid,
      ...over,
    };
    const input = `${b64({ alg: 'RS256' })}.${b64(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  };
  const rootCA = (await getJson<{ data: Record<string, string> }>(cluster, ['configmap', 'kube-root-ca.crt', '-n', 'agree']))?.data['ca.crt'] ?? '';
  const states: Record<string, { token: string; labels?: Record<string, string>; ca?: string; terminate?: boolean; sa?: string }> = {
    valid: { token: jwt(current, 'valid') },
    'replaced-key': { token: jwt(oldSigningKey, 'replaced-key') },
    'invalid-since': { token: jwt(current, 'invalid-since'), labels: { 'kubernetes.io/legacy-token-invalid-since': '2026-01-01' } },
    'sa-deleted': {
      token: jwt(current, 'sa-deleted', { sub: 'system:serviceaccount:agree:ghost', 'kubernetes.io/serviceaccount/service-account.name': 'ghost' }),
    },
    'sa-terminating': {
      token: jwt(current, 'sa-terminating', {
        sub: 'system:serviceaccount:agree:going',
        'kubernetes.io/serviceaccount/service-account.name': 'going',
        'kubernetes.io/serviceaccount/service-account.uid': goingUid,
      }),
      sa: 'going',
    },
    'secret-terminating': { token: jwt(current, 'secret-terminating'), terminate: true },
    'uid-mismatch': { token: jwt(current, 'uid-mismatch', { 'kubernetes.io/serviceaccount/service-account.uid': 'recreated-since' }) },
    forged: { token: jwt(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'forged') },
    'foreign-issuer': { token: jwt(current, 'foreign-issuer', { iss: 'https://issuer.example' }) },
    'stale-ca': { token: jwt(current, 'stale-ca'), ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
    empty: { token: '' },
  };
  for (const [name, s] of Object.entries(states)) {
    await apply(cluster, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name,
        namespace: 'agree',
        labels: s.labels ?? {},
        annotations: { 'kubernetes.io/service-account.name': s.sa ?? 'agent' },
        ...(s.terminate ? { finalizers: ['test.authpolicy.io/hold'] } : {}),
      },
      data: {
        ...(s.token ? { token: Buffer.from(s.token).toString('base64') } : {}),
        'ca.crt': Buffer.from(s.ca ?? rootCA).toString('base64'),
        namespace: Buffer.from('agree').toString('base64'),
      },
    });
    if (s.terminate) await mustKubectl(cluster, ['delete', 'secret', name, '-n', 'agree', '--wait=false']);
  }
  // The operator's own code, with the operator's own identity for the published keys.
  const client = KubeClient.fromOptions({ kubeconfig: await operatorKubeconfig(cluster) });
  const publishedKeys = new PublishedKeys();
  const keys = await publishedKeys.refresh(client);
  assert.ok(keys && keys.keys.length > 0, `the operator reads /openid/v1/jwks: ${publishedKeys.error ?? ''}`);
  const accounts = JSON.parse(await mustKubectl(cluster, ['get', 'serviceaccounts', '-n', 'agree', '-o', 'json'])) as {
    items: { metadata: { name: string; uid: string; deletionTimestamp?: string } }[];
  };
  const rows: string[] = [];
  for (const name of Object.keys(states)) {
    const raw = await getJson<SecretJson>(cluster, ['secret', name, '-n', 'agree']);
    const cached = toTokenSecret(raw, publishedKeys);
    const sa = accounts.items.find((a) => a.metadata.name === (cached.token?.serviceAccountName ?? cached.serviceAccountName));
    const verdict = offlineVerdict(cached, sa ? { uid: sa.metadata.uid, deletionTimestamp: sa.metadata.deletionTimestamp } : undefined, keys);
    const token = states[name]?.token ?? '';
    const review = token ? await tokenReview(cluster, token) : { authenticated: false, error: 'no token to review' };
    rows.push(
      `${name}: offline ${verdict.validity} (${verdict.reason}), TokenReview ${review.authenticated ? 'authenticated' : `rejected (${review.error ?? ''})`}`,
    );
    assert.is(verdict.validity === 'valid', review.authenticated, rows.at(-1));
  }
  const valid = rows.filter((r) => r.includes('offline valid')).map((r) => r.split(':')[0]);
  assert.equal(valid, ['valid', 'stale-ca'], rows.join('\n'));
  await cluster.startControllerManager();
});

test('external signing (KEP-740) seen on the kube-apiserver static pod: nothing blanked, projected tokens advised', async () => {
  // A kubeadm-style static pod's command is where the flags are visible (the harness runs kube-apiserver as a process).
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kube-apiserver-cp-1', namespace: 'kube-system' },
    spec: {
      containers: [
        {
          name: 'kube-apiserver',
          image: 'registry.k8s.io/kube-apiserver:v1.37.2',
          command: ['kube-apiserver', '--authorization-mode=Node,RBAC', '--service-account-signing-endpoint=/run/kms/signer.sock'],
        },
      ],
    },
  });
  const before = await Promise.all(['builder-token', 'deployer-token'].map((s) => tokenOf(s)));
  await policy({ rotationRequestedAt: '2026-04-04T00:00:00Z' });
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  const c = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (x) => x.reason === 'LegacyTokensNotReissuable', 60_000);
  assert.is(c.status, 'False');
  assert.match(c.message, /cannot be re-issued in this cluster/);
  assert.match(c.message, /projected serviceAccountToken volumes/);
  assert.not.match(c.message, /private-key-file/);
  assert.equal(await Promise.all(['builder-token', 'deployer-token'].map((s) => tokenOf(s))), before, 'nothing blanked');
  await mustKubectl(cluster, ['delete', 'pod', 'kube-apiserver-cp-1', '-n', 'kube-system', '--wait=false']);
});

test.run();
