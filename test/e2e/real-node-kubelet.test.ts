// The kubelets-forbidden and clock incidents with a real kubelet (built from the control plane's own
// k8s.io/kubernetes module, running containerd and runc): under "RBAC" only it cannot read its Node or
// renew its Lease and the Node stays NotReady; the operator's fallback binding lets it recover; after the
// switch to "Node,RBAC" the binding goes and the kubelet keeps renewing. Its Lease renewals, beside a
// kwok node's, are what the clock area measures. Last, the harness's promise: the node's teardown leaves
// no process, mount, network namespace or cgroup behind.
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { addKwokNode, startKwok } from '../cluster/kwok.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import type { ManagedProcess } from '../cluster/processes.ts';
import { apply, areaStatus, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';
import { cgroupProcesses, hierarchies } from '../node/cgroups.ts';
import { addRealNode, PAUSE_IMAGE, type RealNode } from '../node/real-node.ts';

const test = suite('real node: kubelets forbidden, clock');
let cluster: Cluster;
let node: RealNode | undefined;
let op: OperatorProcess | undefined;
let kwok: ManagedProcess | undefined;
const NAME = 'real-1';

interface Lease {
  spec?: { holderIdentity?: string; renewTime?: string };
}
const renewTime = async (): Promise<number> => {
  const lease = await getJson<Lease>(cluster, ['lease', NAME, '-n', 'kube-node-lease']);
  return lease?.spec?.holderIdentity === NAME && lease.spec.renewTime ? Date.parse(lease.spec.renewTime) : 0;
};
const ready = async (): Promise<string> => {
  const r = await cluster.kubectl(['get', 'node', NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return r.stdout || 'none';
};
/** Waits until the real kubelet has renewed its Lease twice after `since` (about 10 s apart). */
async function renewsAfter(since: number, what: string): Promise<number[]> {
  const seen = new Set<number>();
  await waitFor(
    `the real kubelet to renew its Lease twice after ${new Date(since).toISOString()} (${what})`,
    async () => {
      const t = await renewTime();
      if (t > since) seen.add(t);
      return seen.size >= 2;
    },
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  return [...seen].sort();
}
async function policy(spec: Record<string, unknown>): Promise<void> {
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec });
}
const SPEC = { nodeAuthorization: { mode: 'NodeAuthorizer', legacyBindingFallback: true }, clock: { maxSkew: '30s' } };

test.before(async () => {
  cluster = await startCluster({ authorizationMode: 'RBAC', scheduler: false });
  await installOperatorPrereqs(cluster);
  // The Node exists, as on a cluster switched to "RBAC" after its nodes joined.
  await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: NAME } });
  node = await addRealNode(cluster, { name: NAME, waitReady: false });
});
test.after(async () => {
  await op?.stop();
  await kwok?.stop();
  await node?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test('1. RBAC only: the real kubelet is forbidden its Node and its Lease; the Node stays NotReady', async () => {
  const log = await waitFor(
    'the kubelet to log that it is forbidden its Node and its Lease',
    async () => {
      // klog quotes the API server's message inside err="…", escaping its quotes.
      const text = (await node?.kubeletLog(400))?.replaceAll('\\"', '"') ?? '';
      return /User "system:node:real-1" cannot (get|create) resource "nodes"/.test(text) && /resource "leases"/.test(text) ? text : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  assert.match(log, /leases.coordination.k8s.io "real-1" is forbidden: User "system:node:real-1" cannot get resource "leases"/);
  assert.is.not(await ready(), 'True', 'NotReady while forbidden');
  assert.is(await renewTime(), 0, 'no Lease renewed');
});

test('2. the fallback binding: the real kubelet recovers, Ready, renewing its Lease', async () => {
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await policy(SPEC);
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'LegacyBindingFallback', 120_000);
  assert.is(c.status, 'True');
  const bound = Date.now();
  await node?.waitReady(120_000);
  const renewals = await renewsAfter(bound, 'with the fallback binding');
  assert.ok(renewals.length >= 2);
  assert.is(await ready(), 'True');
});

test('3. restart with Node,RBAC: the binding is removed, the kubelet keeps renewing and stays Ready', async () => {
  await cluster.restart({ authorizationMode: 'Node,RBAC' });
  await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizer', 120_000);
  await waitFor(
    'the fallback binding system:node to be gone',
    async () => ((await getJson<{ subjects?: unknown[] }>(cluster, ['clusterrolebinding', 'system:node']))?.subjects ?? []).length === 0,
    { timeoutMs: 60_000 },
  );
  const removed = Date.now();
  const logFrom = statSync((node as RealNode).kubelet.logFile).size;
  await renewsAfter(removed, 'under the Node authorizer, the binding gone');
  assert.is(await ready(), 'True', 'still Ready');
  const since = readFileSync((node as RealNode).kubelet.logFile, 'utf8').slice(logFrom);
  assert.not.match(since, /is forbidden/, 'no forbidden error in the kubelet log since the binding went');
});

test("4. clock: the real kubelet's Lease renewals are measured beside a kwok node's (honest: within 2 s)", async () => {
  kwok = startKwok(cluster, ['--node-lease-duration-seconds=40']);
  await addKwokNode(cluster, 'kwok-1');
  const shown = await waitFor(
    'status.clock to list real-1 and kwok-1',
    async () => {
      const s = await areaStatus<{ measured?: number; worst?: { kind: string; name: string; offsetSeconds: number }[] }>(cluster, 'cluster', 'clock');
      const names = (s?.worst ?? []).filter((w) => w.kind === 'node').map((w) => w.name);
      return names.includes(NAME) && names.includes('kwok-1') ? s : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  const real = shown.worst?.find((w) => w.name === NAME);
  assert.ok(real && Math.abs(real.offsetSeconds) <= 2, `real-1 measured at ${real?.offsetSeconds ?? '?'} s`);
  const c = await waitForCondition(cluster, 'cluster', 'ClockSynchronized', (x) => x.status === 'True', 120_000);
  assert.is(c.reason, 'ClocksInSync');
  const exported = metricValue(await (op as OperatorProcess).metrics(), 'authpolicy_clock_offset_seconds', { kind: 'node', name: NAME });
  assert.ok(exported !== undefined && Math.abs(exported) <= 2, `exported as a metric: ${exported ?? 'missing'}`);
});

test('5. teardown: no process, mount, network namespace or cgroup of the node is left', async () => {
  const n = node as RealNode;
  // A running Pod first, so there are containers, shims, a Secret-free sandbox and pod cgroups to clean up.
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'held', namespace: 'default' },
    spec: {
      nodeName: NAME,
      hostNetwork: true,
      automountServiceAccountToken: false,
      containers: [{ name: 'pause', image: PAUSE_IMAGE, imagePullPolicy: 'Never' }],
    },
  });
  await waitFor(
    'pod default/held to run on the real node',
    async () => (await getJson<{ status?: { phase?: string } }>(cluster, ['pod', 'held', '-n', 'default']))?.status?.phase === 'Running',
    {
      timeoutMs: 90_000,
    },
  );
  const containers = cgroupProcesses(n.cgroupRoot.slice(1));
  assert.ok(containers.length >= 2, `the sandbox and the container run in the node's cgroups: ${containers.join(',')}`);
  assert.ok(n.processes().length >= 4, 'the namespace holds the holder, containerd, the kubelet and a shim');
  // Host-network Pods only: everything the node runs is in the test's own network namespace; it made none.
  const hostNet = readlinkSync('/proc/self/ns/net');
  for (const pid of [...containers, ...n.processes()]) assert.is(netNamespace(pid), hostNet, `process ${pid} in the host's network namespace`);
  node = undefined;
  const left = await n.stop();
  assert.equal(left, { processes: [], cgroups: [], mounts: [] });
  assert.is(n.processes().length, 0, `no process in ${n.mountNamespace}`);
  for (const pid of containers) assert.not.ok(existsSync(`/proc/${pid}`), `container process ${pid} ended`);
  for (const h of hierarchies()) assert.not.ok(existsSync(`${h}${n.cgroupRoot}`), `${h}${n.cgroupRoot} removed`);
  assert.not.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(n.dir), 'no mount under the node directory');
  if (!process.env.KEEP_CLUSTER) assert.not.ok(existsSync(n.dir), 'the node directory removed');
});

function netNamespace(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return 'gone';
  }
}

test.run();
