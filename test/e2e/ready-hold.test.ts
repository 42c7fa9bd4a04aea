// Ready holds on a healthy cluster across an operator restart and a leader
// failover: every status write the API server sends (a kubectl watch) has
// Ready=True, and `kubectl wait --for=condition=Ready --timeout=1s` succeeds
// throughout. Then, over 3 idle minutes, the operator writes no status at all.
import { spawn, type ChildProcess } from 'node:child_process';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { RECHECK_MS } from '../../src/areas/clock/index.ts';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { startKubelet, type SimulatedKubelet } from '../cluster/kubelet.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('Ready holds across restarts and failovers; no idle status writes');
let cluster: Cluster;
let kubeconfig: string;
const kubelets: SimulatedKubelet[] = [];
const running: OperatorProcess[] = [];
let watcher: ChildProcess | undefined;
/** Every version of the policy the API server sent the watch: "resourceVersion Ready-status". */
const seen: string[] = [];

const LEASE = ['--leader-election-lease-duration=6s', '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s'];

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  for (const n of ['node-a', 'node-b']) {
    await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    kubelets.push(await startKubelet(cluster, n));
  }
  kubeconfig = await operatorKubeconfig(cluster);
});
test.after(async () => {
  watcher?.kill();
  for (const k of kubelets) k.stop();
  await Promise.all(running.map((o) => o.stop('SIGKILL')));
  await (cluster as Cluster | undefined)?.stop();
});

function operator(): OperatorProcess {
  const o = startOperator({ kubeconfig, args: LEASE });
  running.push(o);
  return o;
}

const isLeader = async (o: OperatorProcess): Promise<boolean> =>
  metricValue(await o.metrics(), 'leader_election_master_status', { name: 'authpolicy-operator' }) === 1;
const reconciled = async (o: OperatorProcess): Promise<number> => {
  const text = await o.metrics();
  return ['requeue_after', 'success', 'requeue', 'error'].reduce(
    (n, result) => n + (metricValue(text, 'controller_runtime_reconcile_total', { controller: 'authpolicy', result }) ?? 0),
    0,
  );
};

/** `kubectl wait --for=condition=Ready --timeout=1s` every second for `ms`: each must succeed. */
async function readyThroughout(what: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let checks = 0;
  while (Date.now() < until) {
    const r = await cluster.kubectl(['wait', '--for=condition=Ready', '--timeout=1s', 'authpolicy/cluster']);
    assert.is(r.code, 0, `${what}: kubectl wait --for=condition=Ready --timeout=1s failed after ${checks} successes: ${r.stderr}`);
    checks++;
    await new Promise((r2) => setTimeout(r2, 1000));
  }
  assert.ok(checks >= ms / 3000, `${what}: ${checks} checks`);
}

test('a healthy cluster reaches Ready=True; the watch starts', async () => {
  const first = operator();
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: {} });
  await waitForCondition(cluster, 'cluster', 'Ready', (c) => c.status === 'True', 90_000);
  assert.ok(await isLeader(first));
  // Let the clock estimates settle (7 renewals) so the watch starts from a steady status.
  await waitForCondition(cluster, 'cluster', 'ClockSynchronized', (c) => c.status === 'True');
  watcher = spawn(
    `${cluster.binDir}/kubectl`,
    [
      '--kubeconfig',
      cluster.adminKubeconfig,
      'get',
      'authpolicy',
      'cluster',
      '--watch',
      '-o',
      'jsonpath={.metadata.resourceVersion} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buffer = '';
  watcher.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    seen.push(...lines.filter(Boolean));
  });
  await waitFor('the watch to print the current version', () => seen.length > 0);
  assert.match(seen[0] ?? '', / True$/);
});

test('an operator restart never writes Ready other than True', async () => {
  const old = running[0];
  assert.ok(old);
  assert.is(await old.stop('SIGTERM'), 0);
  const next = operator();
  await waitFor('the restarted operator to lead', () => isLeader(next), { timeoutMs: 30_000 });
  await waitFor('the restarted operator to reconcile', async () => (await reconciled(next)) > 0, { timeoutMs: 30_000 });
  // The clock area's warm-up (60 s) and its first samples fall in this window.
  await readyThroughout('after the restart', 70_000);
  assert.equal(
    seen.filter((l) => !l.endsWith(' True')),
    [],
    `every version the watch saw has Ready=True: ${seen.join(', ')}`,
  );
});

test('a leader failover (the leader killed) never writes Ready other than True', async () => {
  const leader = running.at(-1);
  assert.ok(leader);
  const standby = operator();
  await waitFor('the standby to be ready (caches synced)', async () => (await fetch(`${await standby.healthUrl()}/readyz`)).status === 200);
  await leader.stop('SIGKILL');
  const failover = readyThroughout('during the failover', 25_000);
  await waitFor('the standby to take over', () => isLeader(standby), { timeoutMs: 30_000 });
  await failover;
  await waitFor('the new leader to reconcile', async () => (await reconciled(standby)) > 0, { timeoutMs: 30_000 });
  await readyThroughout('after the failover', 45_000);
  assert.equal(
    seen.filter((l) => !l.endsWith(' True')),
    [],
    `every version the watch saw has Ready=True: ${seen.join(', ')}`,
  );
});

test('over 3 idle minutes the operator writes no status', async () => {
  const leader = running.at(-1);
  assert.ok(leader);
  const puts = async (): Promise<number> =>
    metricValue(await leader.metrics(), 'authpolicy_api_requests_total', { verb: 'PUT', resource: 'authpolicies/status' }) ?? 0;
  const before = await getJson<{ metadata: { resourceVersion: string }; status: unknown }>(cluster, ['authpolicy', 'cluster']);
  const [putsBefore, versionsBefore, reconcilesBefore] = [await puts(), seen.length, await reconciled(leader)];
  const until = Date.now() + 180_000;
  // Watch for 3 minutes; stop early at the first write.
  await waitFor('3 idle minutes to pass, or a status write', () => Date.now() >= until || seen.length !== versionsBefore, {
    timeoutMs: 200_000,
    intervalMs: 1000,
  });
  const after = await getJson<{ metadata: { resourceVersion: string }; status: unknown }>(cluster, ['authpolicy', 'cluster']);
  assert.equal(
    seen.slice(versionsBefore),
    [],
    `no write while idle; status before:\n${JSON.stringify(before?.status)}\nafter:\n${JSON.stringify(after?.status)}`,
  );
  assert.is(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'resourceVersion unchanged');
  assert.is(await puts(), putsBefore, 'no PUT on authpolicies/status');
  // The clock area alone requeues every RECHECK_MS (a minute): at least two in 3 minutes.
  const expected = Math.floor(180_000 / RECHECK_MS) - 1;
  const reconciles = (await reconciled(leader)) - reconcilesBefore;
  assert.ok(reconciles >= expected, `the operator kept reconciling meanwhile: ${reconciles} reconciles, at least ${expected} expected`);
});

test.run();
