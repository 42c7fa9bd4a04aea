// The clock-skew incident on a real control plane: a clock 2 minutes off makes fresh bound
// tokens "not valid yet"; the operator measures offsets from Lease renewals and
// says who is off before the 401s start.
import { readFile } from 'node:fs/promises';
import { importPKCS8, SignJWT } from 'jose';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { KubeClient } from '../../src/kube/client.ts';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { startKubelet, type SimulatedKubelet } from '../cluster/kubelet.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, tokenReview, waitForCondition } from '../cluster/requests.ts';

const test = suite('clock skew');
let cluster: Cluster;
let op: OperatorProcess;
const renewers: NodeJS.Timeout[] = [];
const kubelets = new Map<string, SimulatedKubelet>();

const micro = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  for (const n of ['node-a', 'node-b']) await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
  // Simulated kubelets renewing their Leases with their real client certificates; node-b's clock is 120 s ahead.
  kubelets.set('node-a', await startKubelet(cluster, 'node-a'));
  kubelets.set('node-b', await startKubelet(cluster, 'node-b', { skewSeconds: 120 }));
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, clock: { maxSkew: '30s' } },
  });
});
test.after(async () => {
  for (const t of renewers) clearInterval(t);
  for (const k of kubelets.values()) k.stop();
  await (op as OperatorProcess | undefined)?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

interface Worst {
  kind: string;
  name: string;
  offsetSeconds: number;
}

test('1. a kubelet renewing 120 s ahead is flagged, with its offset; an honest node never is', async () => {
  // The deadline allows for the warm-up: every clock needs 3 renewals (10 s apart) before a verdict replaces the last one.
  const c = await waitForCondition(cluster, 'cluster', 'ClockSynchronized', (x) => x.status === 'False' && /node-b/.test(x.message), 60_000);
  assert.is(c.reason, 'ClockSkewDetected');
  assert.not.match(c.message, /node-a/);
  const worst = (await areaStatus<{ worst: Worst[] }>(cluster, 'cluster', 'clock'))?.worst ?? [];
  const b = worst.find((w) => w.name === 'node-b');
  assert.ok(b && Math.abs(b.offsetSeconds - 120) <= 5, `node-b measured at ${b?.offsetSeconds ?? '?'} s`);
  const a = worst.find((w) => w.name === 'node-a');
  assert.ok(!a || Math.abs(a.offsetSeconds) < 5, 'node-a is honest');
  const exported = metricValue(await op.metrics(), 'authpolicy_clock_offset_seconds', { kind: 'node', name: 'node-b' });
  assert.ok(exported !== undefined && Math.abs(exported - 120) <= 5, `exported as a metric: ${exported ?? 'missing'}`);
});

test('1b. when node-b renews correctly again, the condition returns to True', async () => {
  kubelets.get('node-b')?.setClockSkew(0);
  // Once 3 of its last 5 listed renewals agree (every 10 s at this size): the crossing wakes a reconcile at once.
  await waitForCondition(cluster, 'cluster', 'ClockSynchronized', (x) => x.status === 'True', 120_000);
});

test("2. a token whose nbf is 120 s in the future is rejected by the API server (the seed's 401)", async () => {
  const sa = await getJson<{ metadata: { uid: string } }>(cluster, ['serviceaccount', 'default', '-n', 'default']);
  const key = await importPKCS8(await readFile(cluster.signingKey().key, 'utf8'), 'RS256');
  const sign = async (skew: number): Promise<string> => {
    const now = Math.floor(Date.now() / 1000) + skew;
    return await new SignJWT({ 'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'default', uid: sa?.metadata.uid ?? '' } } })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://kubernetes.default.svc.cluster.local')
      .setAudience('https://kubernetes.default.svc.cluster.local')
      .setSubject('system:serviceaccount:default:default')
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 3600)
      .sign(key);
  };
  const honest = await tokenReview(cluster, await sign(0));
  assert.ok(honest.authenticated, `a token signed now is accepted: ${honest.error ?? ''}`);
  const fromTheFuture = await tokenReview(cluster, await sign(120));
  assert.not.ok(fromTheFuture.authenticated, 'nbf 120 s ahead, beyond the 60 s leeway: rejected');
});

test('2b. an API server whose clock is 120 s behind is named; the real one is not', async () => {
  const fake = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'apiserver-skewed', namespace: 'kube-system', labels: { 'apiserver.kubernetes.io/identity': 'kube-apiserver' } },
    spec: { holderIdentity: 'apiserver-skewed_1', leaseDurationSeconds: 3600, renewTime: micro(Date.now() - 120_000) },
  };
  await apply(cluster, fake);
  const admin = KubeClient.fromOptions({ kubeconfig: cluster.adminKubeconfig });
  renewers.push(
    setInterval(() => {
      void admin
        .mergePatch('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/apiserver-skewed', { spec: { renewTime: micro(Date.now() - 120_000) } })
        .catch(() => undefined);
    }, 2000),
  );
  const c = await waitForCondition(cluster, 'cluster', 'ClockSynchronized', (x) => x.status === 'False' && /apiserver-skewed/.test(x.message), 60_000);
  assert.match(c.message, /not valid yet/);
  const worst = (await areaStatus<{ worst: Worst[] }>(cluster, 'cluster', 'clock'))?.worst ?? [];
  const skewed = worst.find((w) => w.name === 'apiserver-skewed');
  assert.ok(skewed && Math.abs(skewed.offsetSeconds + 120) <= 5, `apiserver-skewed measured at ${skewed?.offsetSeconds ?? '?'} s`);
  const real = worst.filter((w) => w.kind === 'apiserver' && w.name !== 'apiserver-skewed');
  assert.ok(
    real.every((w) => Math.abs(w.offsetSeconds) < 5),
    `the real API server is not flagged: ${JSON.stringify(real)}`,
  );
});

test('5. check reports the clock offsets and exits 1 when one exceeds the policy', async () => {
  const r = await runCheck(cluster, ['--name=cluster']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /ClockSynchronized\s+False\s+ClockSkewDetected/);
  // 2 minutes behind, within the estimate's precision of about a second (a renewal's delivery delays it).
  assert.match(r.stdout, /apiserver\/apiserver-skewed: clock behind by (1m59s|2m0s|2m1s)/);
  await mustKubectl(cluster, ['delete', 'lease', 'apiserver-skewed', '-n', 'kube-system']);
});

test.run();
