// Issue #18 item 4: clocks judged against each other. The operator's own view of
// time is shifted 5 minutes ahead (test hook AUTHPOLICY_TEST_CLOCK_SHIFT_SECONDS):
// every API server's renewal then looks 5 minutes behind the operator, yet the
// operator names itself as the skewed clock and no API server or node.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { startKubelet, type SimulatedKubelet } from '../cluster/kubelet.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, waitForCondition } from '../cluster/requests.ts';

const test = suite('a skewed operator host names itself');
let cluster: Cluster;
let op: OperatorProcess | undefined;
const kubelets: SimulatedKubelet[] = [];

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  for (const n of ['node-a', 'node-b']) {
    await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    kubelets.push(await startKubelet(cluster, n));
  }
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'], env: { AUTHPOLICY_TEST_CLOCK_SHIFT_SECONDS: '300' } });
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, clock: { maxSkew: '30s' } },
  });
});
test.after(async () => {
  for (const k of kubelets) k.stop();
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

interface Worst {
  kind: string;
  name: string;
  offsetSeconds: number;
}

test('the operator 5 minutes ahead: OperatorClockSkewed names the operator, not the API server or the nodes', async () => {
  const c = await waitForCondition(cluster, 'cluster', 'ClockSynchronized', (x) => x.reason === 'OperatorClockSkewed', 60_000);
  assert.is(c.status, 'False');
  assert.match(c.message, /operator's own clock is ahead by 5m/);
  assert.not.match(c.message, /node-a|node-b|apiserver-/);
  const summary = await areaStatus<{ worst: Worst[]; operatorOffsetSeconds?: number }>(cluster, 'cluster', 'clock');
  assert.ok(
    summary?.operatorOffsetSeconds !== undefined && Math.abs(summary.operatorOffsetSeconds - 300) <= 5,
    `operator measured at ${summary?.operatorOffsetSeconds ?? '?'} s`,
  );
  const worst = summary.worst;
  assert.ok(worst.some((w) => w.kind === 'apiserver') && worst.some((w) => w.name === 'node-a'), `API server and nodes measured: ${JSON.stringify(worst)}`);
  assert.ok(
    worst.every((w) => Math.abs(w.offsetSeconds) < 5),
    `no API server or node is skewed: ${JSON.stringify(worst)}`,
  );
  const exported = metricValue(await op!.metrics(), 'authpolicy_clock_offset_seconds', { kind: 'operator', name: 'self' });
  assert.ok(exported !== undefined && Math.abs(exported - 300) <= 5, `exported as a metric: ${exported ?? 'missing'}`);
});

test('check (an honest clock) agrees that every API server and node is in sync', async () => {
  const r = await runCheck(cluster, ['--name=cluster']);
  assert.match(r.stdout, /ClockSynchronized\s+True\s+ClocksInSync/, r.stdout);
});

test.run();
