// Issue #18 item 3 on a real control plane: two Deployments' pods whose clients keep
// extended bound tokens, one with an old Python client (never refreshes tokens), one
// with a recent Go client. Status and `check` name both workloads, their client
// libraries and versions, and which must be upgraded; the token itself is never kept.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startAuditedCluster } from '../cluster/audit-webhook.ts';
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('stale bound tokens by workload and client');
let cluster: Cluster;
let op: OperatorProcess | undefined;
let dir: string;

const OLD_UA = 'OpenAPI-Generator/11.0.0/python';
const NEW_UA = 'reporter/v1.30.2 (linux/amd64) kubernetes/39683505';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authpolicy-audit-'));
  const { cluster: started, receiverArgs } = await startAuditedCluster(dir);
  cluster = started;
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', 'ci']);
  for (const app of ['old-app', 'new-app']) {
    await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: app, namespace: 'ci' } });
    // No scheduler: the pods stay Pending, but they exist, so tokens bound to them are valid.
    await apply(cluster, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: app, namespace: 'ci' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app } },
        template: { metadata: { labels: { app } }, spec: { serviceAccountName: app, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
      },
    });
  }
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect', ...receiverArgs] });
  await op.waitForLog('the receiver', (l) => l.message === 'audit webhook receiver listening');
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' } },
  });
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface PodList {
  items: { metadata: { name: string; uid: string } }[];
}

/** An extended token bound to the Deployment's pod, as the API server issues one: valid for a year, past its warnafter. */
async function podToken(app: string, jti: string): Promise<{ token: string; pod: string }> {
  const pod = await waitFor(`a pod of ${app}`, async () => (await getJson<PodList>(cluster, ['pods', '-n', 'ci', '-l', `app=${app}`]))?.items[0], {
    timeoutMs: 60_000,
  });
  const account = await getJson<{ metadata: { uid: string } }>(cluster, ['serviceaccount', app, '-n', 'ci']);
  const key = await importPKCS8(await readFile(cluster.signingKey().key, 'utf8'), 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    'kubernetes.io': {
      namespace: 'ci',
      serviceaccount: { name: app, uid: account?.metadata.uid ?? '' },
      pod: { name: pod.metadata.name, uid: pod.metadata.uid },
      warnafter: now - 3600,
    },
  })
    .setProtectedHeader({ alg: 'RS256' })
    .setJti(jti)
    .setIssuer('https://kubernetes.default.svc.cluster.local')
    .setAudience('https://kubernetes.default.svc.cluster.local')
    .setSubject(`system:serviceaccount:ci:${app}`)
    .setIssuedAt(now - 7200)
    .setNotBefore(now - 7200)
    .setExpirationTime(now + 365 * 86400)
    .sign(key);
  return { token, pod: pod.metadata.name };
}

/** GET /api with a bearer token and a user agent, as that client would. */
async function get(token: string, userAgent: string): Promise<number> {
  const url = new URL('/api', cluster.server);
  const ca = await readFile(cluster.caFile);
  return await new Promise<number>((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, ca, headers: { authorization: `Bearer ${token}`, 'user-agent': userAgent } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface Workload {
  workload: string;
  client: string;
  refreshesTokens?: boolean;
  userAgent: string;
  pods: string[];
  credentialIds: string[];
}

test('status and check name both workloads, their client library and version, and which must upgrade', async () => {
  const oldJti = randomUUID();
  const old = await podToken('old-app', oldJti);
  const fresh = await podToken('new-app', randomUUID());
  for (let i = 0; i < 3; i++) {
    assert.is(await get(old.token, OLD_UA), 200, 'the extended token still works (that is the problem)');
    assert.is(await get(fresh.token, NEW_UA), 200);
  }
  const c = await waitForCondition(
    cluster,
    'cluster',
    'BoundTokensHealthy',
    (x) => x.reason === 'StaleTokensInUse' && /new-app/.test(x.message) && /old-app/.test(x.message),
    60_000,
  );
  assert.match(c.message, /Deployment ci\/old-app \(Python client v11\.0\.0: must upgrade\)/);
  assert.match(c.message, /Deployment ci\/new-app \(Go client-go v0\.30\.2: refreshes/);
  const summary = await areaStatus<{ staleTokenWorkloads?: Workload[]; staleTokenClientsToUpgrade?: number }>(cluster, 'cluster', 'boundTokens');
  const byName = new Map((summary?.staleTokenWorkloads ?? []).map((w) => [w.workload, w]));
  const o = byName.get('Deployment ci/old-app');
  const n = byName.get('Deployment ci/new-app');
  assert.equal([o?.client, o?.refreshesTokens, o?.userAgent, o?.pods], ['Python client v11.0.0', false, OLD_UA, [old.pod]]);
  assert.equal([n?.client, n?.refreshesTokens, n?.userAgent, n?.pods], ['Go client-go v0.30.2', true, NEW_UA, [fresh.pod]]);
  assert.ok(
    o?.credentialIds.some((id) => id.includes(oldJti)),
    `the credential id (the token's jti, not the token): ${JSON.stringify(o?.credentialIds)}`,
  );
  assert.is(summary?.staleTokenClientsToUpgrade, 1);
  assert.not.ok(JSON.stringify(summary).includes(old.token), 'the token itself is never in status');
  const check = await runCheck(cluster, ['--name=cluster']);
  assert.is(check.code, 1, check.stdout);
  assert.match(
    check.stdout,
    /deployment\/ci\/old-app: Python client v11\.0\.0 \(a version that never refreshes tokens.*upgrade to Python client v12\.0\.0 or newer/,
  );
  assert.match(check.stdout, /deployment\/ci\/new-app: Go client-go v0\.30\.2 \(a version that refreshes tokens/);
  assert.not.ok(check.stdout.includes(old.token));
});

test.run();
