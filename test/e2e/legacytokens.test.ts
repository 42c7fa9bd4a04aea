// The dead-legacy-token incident on a real control plane: regenerate the SA signing key, every legacy
// token Secret goes dead; the operator rotates them in place (same names) and
// restarts exactly the workloads that use them, once.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { installOperatorPrereqs, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, rawGetStatus, tokenReview, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('legacy token rotation');
let cluster: Cluster;
let op: OperatorProcess | undefined;
const NS = 'apps';
const SECRETS = ['builder-token', 'deployer-token', 'ci-token'];
const seenTokens = new Set<string>();

type Container = Record<string, unknown>;
function deployment(name: string, podSpec: { volumes?: unknown[]; containers?: Container[]; initContainers?: Container[] }): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox' }], ...podSpec } },
    },
  };
}

async function tokenOf(secret: string): Promise<string> {
  const s = await getJson<{ data?: { token?: string } }>(cluster, ['secret', secret, '-n', NS]);
  const token = s?.data?.token ? Buffer.from(s.data.token, 'base64').toString() : '';
  if (token) seenTokens.add(token);
  return token;
}

async function replicaSets(deploy: string): Promise<number> {
  const out = await mustKubectl(cluster, ['get', 'rs', '-n', NS, '-l', `app=${deploy}`, '-o', 'name']);
  return out.split('\n').filter(Boolean).length;
}

async function policy(legacyTokens: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens, ...extra },
  });
}

async function converged(): Promise<void> {
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 120_000);
}

const DEPLOYMENTS = ['by-volume', 'by-projected', 'by-env', 'by-init-envfrom', 'unrelated'];
const rsBefore = new Map<string, number>();

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  for (const sa of ['builder', 'deployer', 'ci']) {
    await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: NS } });
    await apply(cluster, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: `${sa}-token`, namespace: NS, annotations: { 'kubernetes.io/service-account.name': sa } },
    });
  }
  await apply(cluster, deployment('by-volume', { volumes: [{ name: 't', secret: { secretName: 'builder-token' } }] }));
  await apply(cluster, deployment('by-projected', { volumes: [{ name: 't', projected: { sources: [{ secret: { name: 'deployer-token' } }] } }] }));
  await apply(
    cluster,
    deployment('by-env', {
      containers: [{ name: 'main', image: 'busybox', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'ci-token', key: 'token' } } }] }],
    }),
  );
  await apply(
    cluster,
    deployment('by-init-envfrom', { initContainers: [{ name: 'init', image: 'busybox', envFrom: [{ secretRef: { name: 'builder-token' } }] }] }),
  );
  await apply(cluster, deployment('unrelated', {}));
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: {
      replicas: 0,
      serviceName: 'db',
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'db', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'deployer-token' } }] },
      },
    },
  });
  for (const s of SECRETS) await waitFor(`secret ${NS}/${s} to get a token`, async () => (await tokenOf(s)) !== '');
  for (const d of DEPLOYMENTS)
    rsBefore.set(d, await waitFor(`deployment ${d} to have its first ReplicaSet`, async () => ((await replicaSets(d)) > 0 ? replicaSets(d) : undefined)));
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test("1. a new signing key kills every legacy token (the seed's failure)", async () => {
  const old = await Promise.all(SECRETS.map(tokenOf));
  for (const t of old) assert.ok((await tokenReview(cluster, t)).authenticated, 'valid before');
  await cluster.restart({ newSigningKey: true });
  for (const t of old) assert.not.ok((await tokenReview(cluster, t)).authenticated, 'rejected after the key changed');
  // check, as a CI pipeline would run it, names the dead tokens and the workloads to restart.
  const r = await runCheck(cluster);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /LegacyTokensReady\s+False/);
  for (const s of SECRETS) assert.match(r.stdout, new RegExp(`secret ${NS}/${s}: rotating: InvalidToken`));
  assert.match(r.stdout, /deployment\/apps\/by-init-envfrom: mounts a token Secret that needs rotation/);
  assert.match(r.stdout, /statefulset\/apps\/db/);
  assert.not.match(r.stdout, /deployment\/apps\/unrelated/);
});

test('2. the operator rotates every token in place and restarts exactly the dependents, once', async () => {
  const old = new Map(await Promise.all(SECRETS.map(async (s) => [s, await tokenOf(s)] as const)));
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await policy({ maxConcurrentRestarts: 2 });
  await converged();
  for (const s of SECRETS) {
    const token = await tokenOf(s);
    assert.ok(token && token !== old.get(s), `secret ${s} kept its name and got a new token`);
    const review = await tokenReview(cluster, token);
    assert.ok(review.authenticated, `TokenReview accepts the new ${s}`);
    assert.is(review.username, `system:serviceaccount:${NS}:${s.replace('-token', '')}`);
    const kubeconfig = await writeKubeconfig(`${cluster.dir}/kubeconfigs/${s}.kubeconfig`, cluster.server, cluster.caFile, s, { token });
    assert.is(await rawGetStatus(cluster, kubeconfig, '/api'), 'OK', `a real request with the new ${s} works`);
  }
  for (const d of DEPLOYMENTS) {
    const expected = (rsBefore.get(d) ?? 0) + (d === 'unrelated' ? 0 : 1);
    assert.is(
      await waitFor(`deployment ${d} to have ${expected} ReplicaSets`, async () => ((await replicaSets(d)) === expected ? expected : undefined)),
      expected,
      d,
    );
  }
  const sts = await getJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(cluster, ['statefulset', 'db', '-n', NS]);
  assert.ok(sts?.spec.template.metadata.annotations?.['authpolicy.io/restartedAt'], 'the StatefulSet was restarted');
  const summary = await areaStatus<{ secrets: number; valid: number }>(cluster, 'cluster', 'legacyTokens');
  assert.is(summary?.secrets, 3);
  assert.is(summary?.valid, 3);
});

test('3. valid tokens are not rotated without a trigger; the one-shot trigger rotates them once and only once', async () => {
  const before = await Promise.all(SECRETS.map(tokenOf));
  await policy({ maxConcurrentRestarts: 3 });
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True');
  assert.equal(await Promise.all(SECRETS.map(tokenOf)), before, 'no trigger: no rotation');
  const rs = new Map(await Promise.all(DEPLOYMENTS.map(async (d) => [d, await replicaSets(d)] as const)));
  await policy({ maxConcurrentRestarts: 3, rotationRequestedAt: '2026-01-01T00:00:00Z' });
  await waitFor(
    'the one-shot request to be recorded',
    async () => (await areaStatus<{ lastRotationRequest?: string }>(cluster, 'cluster', 'legacyTokens'))?.lastRotationRequest === '2026-01-01T00:00:00Z',
    { timeoutMs: 120_000 },
  );
  await converged();
  // A legacy token has no time claims: re-issued with the same key it is the same token.
  // The rotation shows on the Secret (same name, new rotation record) and in the restarts.
  for (const s of SECRETS) {
    const a = (await getJson<{ metadata: { annotations?: Record<string, string> } }>(cluster, ['secret', s, '-n', NS]))?.metadata.annotations ?? {};
    assert.is(a['authpolicy.io/rotated-for-request'], '2026-01-01T00:00:00Z', `${s} rotated for the request`);
    assert.is(a['authpolicy.io/rotation-state'], 'done');
  }
  const after = await Promise.all(SECRETS.map(tokenOf));
  for (const t of after) assert.ok((await tokenReview(cluster, t)).authenticated, 'the re-issued token works');
  for (const d of DEPLOYMENTS) assert.is(await replicaSets(d), (rs.get(d) ?? 0) + (d === 'unrelated' ? 0 : 1), `${d}: one restart for the request`);
  await policy({ maxConcurrentRestarts: 2, rotationRequestedAt: '2026-01-01T00:00:00Z' });
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True');
  assert.equal(await Promise.all(SECRETS.map(tokenOf)), after, 'the same request does not rotate again');
});

test('7. dryRun changes nothing and reports the full plan', async () => {
  const before = await Promise.all(SECRETS.map(tokenOf));
  const rs = new Map(await Promise.all(DEPLOYMENTS.map(async (d) => [d, await replicaSets(d)] as const)));
  await policy({ rotationRequestedAt: '2026-02-02T00:00:00Z' }, { dryRun: true });
  const c = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (x) => /dry run/.test(x.message));
  assert.match(c.message, /would rotate 3 token Secret/);
  const summary = await areaStatus<{ wouldRotate?: string[]; wouldRestart?: string[] }>(cluster, 'cluster', 'legacyTokens');
  assert.is(summary?.wouldRotate?.length, 3);
  assert.equal([...(summary?.wouldRestart ?? [])].sort(), [
    'deployment/apps/by-env',
    'deployment/apps/by-init-envfrom',
    'deployment/apps/by-projected',
    'deployment/apps/by-volume',
    'statefulset/apps/db',
  ]);
  assert.equal(await Promise.all(SECRETS.map(tokenOf)), before);
  for (const d of DEPLOYMENTS) assert.is(await replicaSets(d), rs.get(d));
});

test('8. no token value appears in logs, Events or status', async () => {
  const events = await mustKubectl(cluster, ['get', 'events', '-A', '-o', 'json']);
  const status = await mustKubectl(cluster, ['get', 'authpolicy', 'cluster', '-o', 'json']);
  const logs = op?.output() ?? '';
  assert.ok(seenTokens.size >= 6, `tokens to look for: ${seenTokens.size}`);
  for (const token of seenTokens) {
    const fragment = token.split('.')[2]?.slice(0, 24) ?? token; // the signature part is unique to each token
    assert.not.ok(logs.includes(fragment), 'no token in the operator log');
    assert.not.ok(events.includes(fragment), 'no token in Events');
    assert.not.ok(status.includes(fragment), 'no token in status');
  }
  assert.match(events, /TokenRotated/);
  assert.match(events, /WorkloadRestarted/);
});

test('5. with the tokens controller disabled, no live Secret is left blank and the condition says why', async () => {
  await policy({ rotationRequestedAt: '2026-03-03T00:00:00Z', tokenControllerTimeout: '5s' });
  // Regenerate the key again, with kube-controller-manager started without it: nothing can re-issue tokens.
  await op?.stop();
  await cluster.restart({ newSigningKey: true, tokensController: false });
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  const c = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (x) => x.reason === 'TokenControllerUnavailable');
  assert.is(c.status, 'False');
  assert.match(c.message, /--service-account-private-key-file/);
  for (const s of SECRETS) assert.ok(await tokenOf(s), `secret ${s} still has its (old) token`);
  const canaries = await mustKubectl(cluster, ['get', 'secrets', '-n', 'authpolicy-system', '-o', 'name']);
  assert.not.match(canaries, /authpolicy-canary/, 'the canary was cleaned up');
});

test.run();
