// Restart controls on a real control plane: workloads and namespaces opted out of restarts
// (authpolicy.io/restart: "false") keep their pods while their Secret rotates, and are listed as
// waiting for a manual restart; every other dependent restarts exactly once.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, runCheck, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('restart controls');
let cluster: Cluster;
const operators: OperatorProcess[] = [];

const deploy = (namespace: string, name: string, annotations: Record<string, string> = {}): unknown => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, annotations },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] },
    },
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
    await apply(cluster, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 'app-token', namespace: ns, annotations: { 'kubernetes.io/service-account.name': 'app' } },
    });
  }
  await apply(cluster, deploy('apps', 'web'));
  await apply(cluster, deploy('apps', 'kept', { 'authpolicy.io/restart': 'false' }));
  await apply(cluster, deploy('quiet', 'q'));
  await apply(cluster, deploy('quiet', 'back', { 'authpolicy.io/restart': 'true' }));
  for (const [ns, name] of [
    ['apps', 'web'],
    ['apps', 'kept'],
    ['quiet', 'q'],
    ['quiet', 'back'],
  ] as const) {
    await waitFor(`${ns}/${name}'s first ReplicaSet`, async () => (await replicaSets(ns, name)) === 1);
  }
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 2 } },
  });
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
  for (const [ns, name] of [
    ['apps', 'web'],
    ['quiet', 'back'],
  ] as const) {
    assert.is(
      await waitFor(`${ns}/${name} to restart`, async () => ((await replicaSets(ns, name)) >= 2 ? replicaSets(ns, name) : undefined)),
      2,
      `${ns}/${name} restarted once`,
    );
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

const RESTARTABLE = [
  ['apps', 'web'],
  ['quiet', 'back'],
] as const;
const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
const policy = (legacyTokens: Record<string, unknown>): Promise<string> =>
  apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 1, ...legacyTokens } },
  });
async function counts(): Promise<number[]> {
  return await Promise.all(RESTARTABLE.map(([ns, name]) => replicaSets(ns, name)));
}
async function restartedOnce(before: number[], what: string): Promise<void> {
  for (const [i, [ns, name]] of RESTARTABLE.entries()) {
    const want = (before[i] ?? 0) + 1;
    assert.is(
      await waitFor(`${ns}/${name} to restart`, async () => ((await replicaSets(ns, name)) >= want ? replicaSets(ns, name) : undefined), {
        timeoutMs: 150_000,
      }),
      want,
      `${what}: ${ns}/${name} restarted once`,
    );
  }
}
const restartMark = async (ns: string, name: string): Promise<string | undefined> =>
  (await getJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(cluster, ['deployment', name, '-n', ns]))?.spec.template
    .metadata.annotations?.['authpolicy.io/restartedAt'];

test('a restart window opening ~40 s in: the rotation runs at once, restarts wait for the window, then run paced', async () => {
  const before = await counts();
  await cluster.restart({ newSigningKey: true });
  const kubeconfig = await operatorKubeconfig(cluster);
  const opens = Math.ceil((Date.now() + 40_000) / 60_000) * 60_000; // windows are whole minutes
  await policy({ restartWindows: [{ start: hhmm(opens), end: hhmm(opens + 10 * 60_000), timeZone: 'UTC' }] });
  const o = startOperator({ kubeconfig, args: ['--no-leader-elect'] });
  operators.push(o);
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  const pending = await waitForCondition(
    cluster,
    'cluster',
    'WorkloadsRestarted',
    (c) => c.reason === 'RestartsPending' && /restart windows/.test(c.message),
    30_000,
  );
  assert.ok(Date.now() < opens, 'the rotation finished before the window opened');
  assert.match(pending.message, new RegExp(`opening at ${new Date(opens).toISOString()}`));
  const status = await areaStatus<{ restartWindow?: { open: boolean; nextOpensAt?: string; waiting?: string[] } }>(cluster, 'cluster', 'legacyTokens');
  assert.equal(status?.restartWindow?.nextOpensAt, new Date(opens).toISOString());
  assert.is(status?.restartWindow?.open, false);
  assert.equal(await counts(), before, 'nothing restarted before the window');
  await restartedOnce(before, 'in the window');
  for (const [ns, name] of RESTARTABLE) {
    const mark = await restartMark(ns, name);
    assert.ok(mark !== undefined && Date.parse(mark) >= opens, `${ns}/${name} restarted at ${mark ?? '(none)'}, not before the window opened`);
  }
  const restarts = o.logs.filter((l) => l.message === 'restarted workload');
  assert.is(restarts.length, 2, 'one restart each, one at a time (maxConcurrentRestarts 1)');
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'ManualRestartRequired', 60_000);
  assert.equal(
    await counts(),
    before.map((n) => n + 1),
    'no second restart',
  );
  await o.stop();
});

test('restartNow overrides a closed window', async () => {
  const before = await counts();
  await cluster.restart({ newSigningKey: true });
  const kubeconfig = await operatorKubeconfig(cluster);
  const far = Date.now() + 3 * 3600_000;
  await policy({ restartWindows: [{ start: hhmm(far), end: hhmm(far + 3600_000), timeZone: 'UTC' }] });
  const o = startOperator({ kubeconfig, args: ['--no-leader-elect'] });
  operators.push(o);
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'RestartsPending' && /restartNow/.test(c.message), 30_000);
  assert.equal(await counts(), before, 'the window is closed');
  await policy({ restartWindows: [{ start: hhmm(far), end: hhmm(far + 3600_000), timeZone: 'UTC' }], restartNow: new Date().toISOString() });
  await restartedOnce(before, 'restartNow');
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'ManualRestartRequired', 60_000);
  assert.equal(
    await counts(),
    before.map((n) => n + 1),
    'no second restart',
  );
  await o.stop();
});

test.run();
