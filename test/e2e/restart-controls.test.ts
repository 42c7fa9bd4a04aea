// Restart controls on a real control plane: workloads and namespaces opted out of restarts
// (authpolicy.io/restart: "false") keep their pods while their Secret rotates, and are listed as
// waiting for a manual restart; every other dependent restarts exactly once.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('restart controls');
let cluster: Cluster;
const operators: OperatorProcess[] = [];

const deploy = (namespace: string, name: string, annotations: Record<string, string> = {}): unknown => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, annotations },
  spec: {
    replicas: 0, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] } },
  },
});
async function replicaSets(namespace: string, name: string): Promise<number> {
  return (await mustKubectl(cluster, ['get', 'rs', '-n', namespace, '-l', `app=${name}`, '-o', 'name'])).split('\n').filter(Boolean).length;
}

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await apply(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  await apply(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quiet', annotations: { 'authpolicy.io/restart': 'false' } } });
  for (const ns of ['apps', 'quiet']) {
    await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } });
    await apply(cluster, { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'app-token', namespace: ns, annotations: { 'kubernetes.io/service-account.name': 'app' } } });
  }
  await apply(cluster, deploy('apps', 'web'));
  await apply(cluster, deploy('apps', 'kept', { 'authpolicy.io/restart': 'false' }));
  await apply(cluster, deploy('quiet', 'q'));
  await apply(cluster, deploy('quiet', 'back', { 'authpolicy.io/restart': 'true' }));
  for (const [ns, name] of [['apps', 'web'], ['apps', 'kept'], ['quiet', 'q'], ['quiet', 'back']] as const) {
    await waitFor(`${ns}/${name}'s first ReplicaSet`, async () => (await replicaSets(ns, name)) === 1);
  }
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 2 } } });
});
test.after(async () => {
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await (cluster as Cluster | undefined)?.stop();
});

test('opted-out workloads and namespaces: Secrets rotate, they are not restarted and are listed; the others restart once', async () => {
  await cluster.restart({ newSigningKey: true }); // every legacy token dies
  const o = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  operators.push(o);
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  const manual = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'ManualRestartRequired', 120_000);
  assert.is(manual.status, 'False', 'never claims the opted-out ones were restarted');
  assert.match(manual.message, /deployment\/apps\/kept/);
  assert.match(manual.message, /deployment\/quiet\/q/);
  assert.not.match(manual.message, /deployment\/apps\/web|deployment\/quiet\/back/);
  // The restartable ones restarted exactly once: a second ReplicaSet each, never a third.
  for (const [ns, name] of [['apps', 'web'], ['quiet', 'back']] as const) {
    assert.is(await waitFor(`${ns}/${name} to restart`, async () => ((await replicaSets(ns, name)) >= 2 ? replicaSets(ns, name) : undefined)), 2, `${ns}/${name} restarted once`);
  }
  assert.is(await replicaSets('apps', 'kept'), 1, 'apps/kept (opted out) not restarted');
  assert.is(await replicaSets('quiet', 'q'), 1, 'quiet/q (namespace opted out) not restarted');
  const status = await areaStatus<{ notRestarted?: { workload?: string; optOut?: string }[]; restartsOptedOut?: string[] }>(cluster, 'cluster', 'legacyTokens');
  assert.equal((status?.notRestarted ?? []).map((x) => x.workload).sort(), ['deployment/apps/kept', 'deployment/quiet/q']);
  assert.match(status?.notRestarted?.find((x) => x.workload === 'deployment/quiet/q')?.optOut ?? '', /on namespace quiet/);

  const check = await runCheck(cluster);
  assert.match(check.stdout, /deployment\/apps\/kept/, `check shows the opt-out: ${check.stdout}`);

  // A manual restart ends the wait; nothing else restarts.
  await mustKubectl(cluster, ['rollout', 'restart', 'deployment/kept', '-n', 'apps']);
  await mustKubectl(cluster, ['rollout', 'restart', 'deployment/q', '-n', 'quiet']);
  const done = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(done.reason, 'AllRestarted');
  assert.is(await replicaSets('apps', 'web'), 2, 'web not restarted again');
  assert.is(await replicaSets('quiet', 'back'), 2, 'back not restarted again');
  await o.stop();
});

test.run();
