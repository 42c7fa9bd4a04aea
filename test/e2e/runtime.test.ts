// The controller runtime on a real control plane: it keeps reconciling across
// an API-server restart and a forced 410, notices a watch black-holed by a
// proxy, and runs highly available with leader election.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { compactEtcd } from '../cluster/etcd.ts';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { installOperatorPrereqs, metricValue, OPERATOR_NAMESPACE, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { getJson } from '../cluster/requests.ts';
import { startTcpProxy, type TcpProxy } from '../cluster/tcp-proxy.ts';
import { waitFor } from '../cluster/wait.ts';
import { testSeriesMismatches } from '../prometheus/rules.ts';

const test = suite('controller runtime');
let cluster: Cluster;
let saKubeconfig: string;
const running: OperatorProcess[] = [];
let proxy: TcpProxy | undefined;

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  saKubeconfig = await operatorKubeconfig(cluster);
  await mustKubectl(cluster, ['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: { clock: { maxSkew: '30s' } } }),
  });
});
test.after(async () => {
  await Promise.all(running.map((o) => o.stop('SIGKILL')));
  await proxy?.close();
  await (cluster as Cluster | undefined)?.stop();
});

function operator(args: string[], kubeconfig = saKubeconfig): OperatorProcess {
  const o = startOperator({ kubeconfig, args });
  running.push(o);
  return o;
}

let skew = 30;
/** Changes the policy's spec (a new generation) and waits until the operator has observed it. */
async function bumpAndWaitObserved(what: string, timeoutMs = 30_000): Promise<number> {
  skew++;
  await mustKubectl(cluster, ['patch', 'authpolicy', 'cluster', '--type=merge', '-p', JSON.stringify({ spec: { clock: { maxSkew: `${skew}s` } } })]);
  return await waitFor(
    `the operator to observe the new generation ${what}`,
    async () => {
      const p = await getJson<{ metadata: { generation: number }; status?: { observedGeneration?: number } }>(cluster, ['authpolicy', 'cluster']);
      return p?.status?.observedGeneration === p?.metadata.generation ? p?.metadata.generation : undefined;
    },
    { timeoutMs },
  );
}

test('keeps reconciling across an API-server restart, with no process restart', async () => {
  const op = operator(['--no-leader-elect']);
  await bumpAndWaitObserved('before the restart');
  await cluster.restart();
  await bumpAndWaitObserved('after the restart', 60_000);
  assert.is(op.child.exitCode, null, 'the operator process kept running');
});

test('relists after a forced 410 (etcd compacted past its resourceVersion) and keeps reconciling', async () => {
  const op = running[0]!;
  const before = metricValue(await op.metrics(), 'authpolicy_informer_relists_total', { informer: 'authpolicies', reason: 'expired' }) ?? 0;
  // Writes the operator's watch will not see before the compaction, then compact and restart the
  // API server so its watch cache starts past the operator's resourceVersion.
  await mustKubectl(cluster, ['create', 'configmap', 'churn', '-n', 'default']);
  await compactEtcd(cluster.etcdUrl);
  await cluster.restart();
  await bumpAndWaitObserved('after the compaction', 60_000);
  const after = metricValue(await op.metrics(), 'authpolicy_informer_relists_total', { informer: 'authpolicies', reason: 'expired' }) ?? 0;
  assert.ok(after > before, `the informer relisted on 410 (expired relists ${before} -> ${after})`);
  assert.ok(
    op.logs.some((l) => l.message === 'resourceVersion expired; relisting'),
    'logged the 410',
  );
  assert.is(op.child.exitCode, null);
  await op.stop();
});

test('a watch black-holed by a proxy is noticed within the watchdog period, and the operator is current again', async () => {
  proxy = await startTcpProxy(cluster.port);
  const token = /token: (\S+)/.exec(await import('node:fs/promises').then((fs) => fs.readFile(saKubeconfig, 'utf8')))?.[1] ?? '';
  const viaProxy = await writeKubeconfig(`${cluster.dir}/kubeconfigs/operator-via-proxy.kubeconfig`, proxy.url, cluster.caFile, 'operator', { token });
  const watchdogS = 8;
  const op = operator(['--no-leader-elect', `--watch-inactivity-timeout=${watchdogS}s`], viaProxy);
  await bumpAndWaitObserved('through the proxy');
  // Let idle pooled connections close (undici keeps them 4 s), so only the open watch is black-holed.
  await new Promise((r) => setTimeout(r, 5000));
  const blackholedAt = Date.now();
  const n = proxy.blackholeOpenConnections();
  assert.ok(n >= 1, 'at least the watch connection was open');
  await bumpAndWaitObserved('after the watch was black-holed', (watchdogS + 20) * 1000);
  const stall = op.logs.find(
    (l) => l.message === 'watch went silent; reconnecting from the last resourceVersion' && Date.parse(String(l.timestamp)) >= blackholedAt,
  );
  assert.ok(stall, 'the watchdog noticed the silent watch');
  const noticedAfterMs = Date.parse(String(stall.timestamp)) - blackholedAt;
  assert.ok(noticedAfterMs <= (watchdogS + 3) * 1000, `noticed after ${noticedAfterMs} ms, within the ${watchdogS} s watchdog period`);
  await op.stop();
});

/** The authpolicy.io/leader label of each pod, e.g. "replica-a=true replica-b=false". */
async function leaderLabels(): Promise<string> {
  const out = await mustKubectl(cluster, [
    'get',
    'pods',
    '-n',
    OPERATOR_NAMESPACE,
    '-l',
    'app.kubernetes.io/name=authpolicy-operator',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.authpolicy\\.io/leader} {end}',
  ]);
  return out.trim();
}

test('two replicas with leader election: exactly one reconciles; kill it and the other takes over', async () => {
  // Pod objects for the two replicas (no kubelet runs them): each labels its own as leader or not.
  for (const name of ['replica-a', 'replica-b']) {
    await mustKubectl(cluster, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: OPERATOR_NAMESPACE, labels: { 'app.kubernetes.io/name': 'authpolicy-operator' } },
        spec: { containers: [{ name: 'operator', image: 'authpolicy-operator:0.1.0' }] },
      }),
    });
  }
  const args = ['--leader-election-lease-duration=6s', '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s'];
  const a = operator([...args, '--pod-name=replica-a']);
  const b = operator([...args, '--pod-name=replica-b']);
  const leader = await waitFor('one replica to lead', async () => {
    const [ma, mb] = await Promise.all([a.metrics(), b.metrics()]);
    const la = metricValue(ma, 'leader_election_master_status', { name: 'authpolicy-operator' });
    const lb = metricValue(mb, 'leader_election_master_status', { name: 'authpolicy-operator' });
    if (la === 1 && lb === 0) return a;
    if (lb === 1 && la === 0) return b;
    return undefined;
  });
  const standby = leader === a ? b : a;
  const [leaderPod, standbyPod] = leader === a ? ['replica-a', 'replica-b'] : ['replica-b', 'replica-a'];
  const labels = (l: string, s: string): string => [`${leaderPod}=${l}`, `${standbyPod}=${s}`].sort().join(' ');
  await waitFor('the leader to label its pod (the leader-only audit Service selects it)', async () => (await leaderLabels()) === labels('true', 'false'));
  await bumpAndWaitObserved('with two replicas');
  const standbyReconciles =
    metricValue(await standby.metrics(), 'controller_runtime_reconcile_total', { controller: 'authpolicy', result: 'requeue_after' }) ?? 0;
  assert.is(standbyReconciles, 0, 'the standby did not reconcile');
  assert.ok(
    (metricValue(await leader.metrics(), 'controller_runtime_reconcile_total', { controller: 'authpolicy', result: 'requeue_after' }) ?? 0) > 0,
    'the leader reconciled',
  );
  const readyz = await fetch(`${await standby.healthUrl()}/readyz`);
  assert.is(readyz.status, 200, 'the standby is ready (its AuthPolicy cache is synced)');
  assert.is(await readyz.text(), 'ok', 'a cache the standby has not started is not listed as unsynced');
  // A standby holds only the AuthPolicy cache: no Secrets, Pods or Leases in its memory until it leads.
  const cached = (text: string, informer: string): number | undefined => metricValue(text, 'authpolicy_informer_cached_objects', { informer });
  const standbyMetrics = await standby.metrics();
  assert.is(cached(standbyMetrics, 'authpolicies'), 1, 'the standby caches the policy');
  assert.is(cached(standbyMetrics, 'namespaces') ?? 0, 0, 'the standby caches no namespace (nor Secrets, Pods, Leases)');
  assert.ok((cached(await leader.metrics(), 'namespaces') ?? 0) > 0, 'the leader caches the namespaces');
  const synced = (text: string, informer: string): number | undefined => metricValue(text, 'authpolicy_informer_synced', { informer });
  assert.is(synced(standbyMetrics, 'authpolicies'), 1, 'the standby says its policy cache synced');
  assert.is(synced(standbyMetrics, 'namespaces'), undefined, 'the standby has not started the namespaces cache');
  assert.is(synced(await leader.metrics(), 'namespaces'), 1, 'the leader says its namespaces cache synced');
  const ready = (text: string): number | undefined => metricValue(text, 'authpolicy_condition', { policy: 'cluster', type: 'Ready' });
  assert.is(ready(await leader.metrics()), 1, 'the leader exports the policy conditions');
  assert.is(ready(standbyMetrics), undefined, 'the standby exports no condition: only the leader reconciles');

  const killedAt = Date.now();
  await leader.stop('SIGKILL');
  await waitFor(
    'the standby to take over',
    async () => metricValue(await standby.metrics(), 'leader_election_master_status', { name: 'authpolicy-operator' }) === 1,
    { timeoutMs: 30_000 },
  );
  const tookOverMs = Date.now() - killedAt;
  assert.ok(tookOverMs < 20_000, `took over in ${tookOverMs} ms`);
  await bumpAndWaitObserved('after failover');
  assert.ok((cached(await standby.metrics(), 'namespaces') ?? 0) > 0, 'the new leader listed its caches when it took over');
  await waitFor('the new leader to label its pod', async () => (await leaderLabels()).includes(`${standbyPod}=true`));
  // The killed replica's container restarts (in a cluster its pod is unready meanwhile): it clears its label at once.
  const restarted = operator([...args, `--pod-name=${leaderPod}`]);
  await waitFor('the restarted replica to clear its label', async () => (await leaderLabels()) === labels('false', 'true'));

  assert.is(await restarted.stop('SIGTERM'), 0);

  // SIGTERM: the new leader stops cleanly, exits 0, releases the lease and clears its label.
  assert.is(await standby.stop('SIGTERM'), 0);
  assert.ok((await leaderLabels()).includes(`${standbyPod}=false`), await leaderLabels());
  const lease = await getJson<{ spec: { holderIdentity?: string } }>(cluster, ['lease', 'authpolicy-operator', '-n', OPERATOR_NAMESPACE]);
  assert.is(lease?.spec.holderIdentity ?? '', '', 'the lease was released');
});

test('a leader that loses its lease stops exporting what only a leader knows', async () => {
  const args = ['--leader-election-lease-duration=6s', '--leader-election-renew-deadline=4s', '--leader-election-retry-period=1s'];
  const op = operator(args);
  const value = (text: string, name: string, labels: Record<string, string>): number | undefined => metricValue(text, name, labels);
  const leading = await waitFor(
    'the replica to lead and report the policy',
    async () => {
      const m = await op.metrics();
      const absent = value(m, 'authpolicy_informer_api_absent', { informer: 'rollouts' });
      // Ready may still be the previous replica's status: wait for this one's caches too (a loaded machine syncs late).
      return value(m, 'leader_election_master_status', { name: 'authpolicy-operator' }) === 1 &&
        value(m, 'authpolicy_condition', { policy: 'cluster', type: 'Ready' }) === 1 &&
        value(m, 'authpolicy_informer_synced', { informer: 'namespaces' }) === 1 &&
        absent === 1
        ? m
        : undefined;
    },
    { timeoutMs: 60_000 },
  );
  // The alerts' promtool tests feed these families as this real scrape holds them (test/prometheus).
  const mismatches = testSeriesMismatches(leading, [
    'authpolicy_condition',
    'leader_election_master_status',
    'authpolicy_informer_synced',
    'authpolicy_informer_api_absent',
    'controller_runtime_reconcile_errors_total',
    'controller_runtime_reconcile_total',
  ]);
  assert.equal(mismatches, [], mismatches.join('\n'));
  // Argo Rollouts is not installed here: its cache is absent, not unsynced.
  assert.is(value(leading, 'authpolicy_informer_synced', { informer: 'rollouts' }), undefined, 'an absent API exports no synced series');
  assert.is(value(leading, 'authpolicy_informer_synced', { informer: 'namespaces' }), 1);
  // Another holder takes the lease (as when this replica's renewals stop reaching the API server).
  const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  await mustKubectl(cluster, [
    'patch',
    'lease',
    'authpolicy-operator',
    '-n',
    OPERATOR_NAMESPACE,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { holderIdentity: 'another-replica', leaseDurationSeconds: 3600, acquireTime: now, renewTime: now } }),
  ]);
  const after = await waitFor(
    'the replica to step down',
    async () => {
      const m = await op.metrics();
      return value(m, 'leader_election_master_status', { name: 'authpolicy-operator' }) === 0 ? m : undefined;
    },
    { timeoutMs: 30_000 },
  );
  const left = await waitFor('the conditions to be dropped', async () => {
    const m = await op.metrics();
    return value(m, 'authpolicy_condition', { policy: 'cluster' }) === undefined ? m : undefined;
  });
  assert.ok(after.length > 0);
  assert.is(value(left, 'authpolicy_clock_offset_seconds', {}), undefined, 'no clock offset from a replica that no longer measures');
  assert.is(value(left, 'authpolicy_informer_synced', { informer: 'namespaces' }), undefined, 'a stopped cache is neither synced nor unsynced');
  assert.is(value(left, 'authpolicy_informer_api_absent', { informer: 'rollouts' }), undefined);
  assert.is(value(left, 'authpolicy_informer_synced', { informer: 'authpolicies' }), 1, 'the AuthPolicy cache keeps running for /readyz');
  await op.stop('SIGTERM');
  await mustKubectl(cluster, ['delete', 'lease', 'authpolicy-operator', '-n', OPERATOR_NAMESPACE]);
});

test.run();
