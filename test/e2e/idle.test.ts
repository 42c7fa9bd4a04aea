// An idle operator stays quiet: for 5 minutes on a cluster whose watched
// resources see no change (no Nodes at all, the field-selected system:node
// binding), with the default watchdog, it logs no watch failure and keeps one
// HTTP/2 connection to the API server. Bookmarks are what keep a quiet watch
// talking; this proves the watchdog is sized to them on a real kube-apiserver.
import { execFile } from 'node:child_process';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('idle operator');
let cluster: Cluster;
let op: OperatorProcess | undefined;
const IDLE_MS = 5 * 60_000;

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: {} });
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

/** Established TCP connections from a process to the API server's port (ss, as root or the same user). */
function connections(pid: number, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`], (err, stdout) => {
      if (err) {
        reject(new Error(`ss failed: ${err.message}`));
        return;
      }
      resolve(stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).length);
    });
  });
}

test('5 minutes idle with quiet watches: no watch failure logged, one connection throughout', async () => {
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] }); // default --watch-inactivity-timeout
  await waitForCondition(cluster, 'cluster', 'Ready', () => true);
  const pid = op.child.pid ?? 0;
  const idleFrom = Date.now();
  const seen = new Set<number>();
  // Sample the connection count every 5 s for the whole idle period (the deadline is the period itself).
  await waitFor(
    'the idle period to pass',
    async () => {
      seen.add(await connections(pid, cluster.port));
      if (op?.child.exitCode !== null) throw new Error(`the operator exited:\n${op?.output().slice(-3000) ?? ''}`);
      return Date.now() - idleFrom >= IDLE_MS;
    },
    { timeoutMs: IDLE_MS + 30_000, intervalMs: 5000 },
  );
  const failures = op.logs.filter((l) => Date.parse(String(l.timestamp)) >= idleFrom && (l.level === 'warn' || l.level === 'error'));
  assert.equal(
    failures.map((l) => JSON.stringify(l)),
    [],
    'no warning or error while idle',
  );
  assert.not.ok(
    op.logs.some((l) => l.message === 'watch went silent; reconnecting from the last resourceVersion'),
    'no watch went silent',
  );
  const metrics = await op.metrics();
  const stalled = [...metrics.matchAll(/^authpolicy_informer_watch_restarts_total\{[^}]*reason="stalled"[^}]*\} (\S+)/gm)].map((m) => Number(m[1]));
  assert.ok(
    stalled.every((n) => n === 0),
    `no stalled watch (${stalled.join(', ')})`,
  );
  assert.equal([...seen], [1], `one connection to the API server throughout (seen: ${[...seen].join(', ')})`);
});

test.run();
