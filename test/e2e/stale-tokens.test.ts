// The token-expiry-extension incident's stale tokens on a real control plane: the API server's audit
// webhook points at the operator, and requests made with a token past its
// `warnafter` make the operator name that service account — and no other.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startAuditedCluster } from '../cluster/audit-webhook.ts';
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { installOperatorPrereqs, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, rawGetStatus, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('stale bound tokens (audit webhook)');
let cluster: Cluster;
let op: OperatorProcess | undefined;
let dir: string;
let receiverPort: number;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authpolicy-audit-'));
  let receiverArgs: string[];
  ({ cluster, receiverPort, receiverArgs } = await startAuditedCluster(dir));
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', 'ci']);
  for (const sa of ['old-client', 'new-client']) await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'ci' } });
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

/** A bound token as the API server issues an extended one: valid for a year, but past its warnafter. */
async function staleToken(sa: string): Promise<string> {
  const account = await getJson<{ metadata: { uid: string } }>(cluster, ['serviceaccount', sa, '-n', 'ci']);
  const key = await importPKCS8(await readFile(cluster.signingKey().key, 'utf8'), 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: sa, uid: account?.metadata.uid ?? '' }, warnafter: now - 3600 } })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer('https://kubernetes.default.svc.cluster.local')
    .setAudience('https://kubernetes.default.svc.cluster.local')
    .setSubject(`system:serviceaccount:ci:${sa}`)
    .setIssuedAt(now - 7200)
    .setNotBefore(now - 7200)
    .setExpirationTime(now + 365 * 86400)
    .sign(key);
}

test('3. requests with a token past its warnafter name that service account; others are not listed', async () => {
  const stale = await writeKubeconfig(join(dir, 'stale.kubeconfig'), cluster.server, cluster.caFile, 'old', { token: await staleToken('old-client') });
  const fresh = await cluster.serviceAccountKubeconfig('ci', 'new-client');
  for (let i = 0; i < 3; i++) {
    assert.is(await rawGetStatus(cluster, stale, '/api'), 'OK', 'the extended token still works (that is the problem)');
    assert.is(await rawGetStatus(cluster, fresh, '/api'), 'OK');
  }
  const c = await waitForCondition(cluster, 'cluster', 'BoundTokensHealthy', (x) => x.reason === 'StaleTokensInUse', 60_000);
  assert.is(c.status, 'False');
  assert.match(c.message, /ci\/old-client/);
  assert.not.match(c.message, /new-client/);
  assert.match(c.message, /Go client v0\.15\.7/);
  const summary = await areaStatus<{ staleTokenUsers?: { serviceAccount: string; requests: number }[] }>(cluster, 'cluster', 'boundTokens');
  assert.equal(
    summary?.staleTokenUsers?.map((u) => u.serviceAccount),
    ['ci/old-client'],
  );
  const check = await runCheck(cluster, ['--name=cluster']);
  assert.is(check.code, 1, check.stdout);
  assert.match(check.stdout, /serviceaccount\/ci\/old-client: \d+ request\(s\) with a token up to \d+s past its refresh time/);
  // The API server's own counter (read at most every 30 s) shows the stale use too.
  await waitFor(
    'status to report serviceaccount_stale_tokens_total >= 1',
    async () =>
      ((await areaStatus<{ apiserverCounters?: { staleTokensTotal?: number } }>(cluster, 'cluster', 'boundTokens'))?.apiserverCounters?.staleTokensTotal ??
        0) >= 1,
    { timeoutMs: 60_000 },
  );
});

test("the receiver refuses a caller without the API server's client certificate", async () => {
  const { request } = await import('node:https');
  const code = await new Promise<string>((resolve) => {
    const req = request({ host: '127.0.0.1', port: receiverPort, method: 'POST', path: '/audit', ca: [], rejectUnauthorized: false }, (res) => {
      resolve(String(res.statusCode));
    });
    req.on('error', (e) => {
      resolve(e.message);
    });
    req.end('{"items":[]}');
  });
  assert.is.not(code, '200', `an unauthenticated caller was answered ${code}`);
});

test.run();
