// Seed 002 on a real control plane: kubelets forbidden under "RBAC", the
// fallback binding, the switch to "Node,RBAC" and the clean-up — with real
// kubelet client certificates, the operator under the RBAC in config/.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, rawGetStatus, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const run = promisify(execFile);
const test = suite('node authorization');
let cluster: Cluster;
let op: OperatorProcess;
let nodeA: string;

interface Binding { metadata: { labels?: Record<string, string> }; subjects?: { kind: string; name: string }[] }

async function policy(spec: Record<string, unknown>): Promise<void> {
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec });
}
const binding = (): Promise<Binding | undefined> => getJson<Binding>(cluster, ['clusterrolebinding', 'system:node']);
const subjects = async (): Promise<string> => ((await binding())?.subjects ?? []).map((s) => `${s.kind}:${s.name}`).join(',');

/** `check` from source, as a CI pipeline would run it. */
async function check(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const r = await run(process.execPath, [`${ROOT}/src/cli/main.ts`, 'check', `--kubeconfig=${cluster.adminKubeconfig}`, ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test.before(async () => {
  cluster = await startCluster({ authorizationMode: 'RBAC', scheduler: false });
  await installOperatorPrereqs(cluster);
  await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  nodeA = await cluster.nodeKubeconfig('node-a');
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
});
test.after(async () => {
  await (op as OperatorProcess | undefined)?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a';

test('1. RBAC only: node-a is forbidden; with fallback on the binding appears and node-a recovers', async () => {
  assert.is(await rawGetStatus(cluster, nodeA, '/api/v1/nodes/node-a'), 'Forbidden');
  assert.is(await rawGetStatus(cluster, nodeA, LEASE), 'Forbidden');
  await policy({ nodeAuthorization: { mode: 'NodeAuthorizer', legacyBindingFallback: true } });
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'LegacyBindingFallback');
  assert.is(c.status, 'True');
  assert.match(c.message, /--authorization-mode=Node,RBAC/);
  assert.match(c.message, /NodeRestriction/);
  assert.is(await subjects(), 'Group:system:nodes');
  assert.is((await binding())?.metadata.labels?.['app.kubernetes.io/managed-by'], 'authpolicy-operator');
  // Real kubelet requests with node-a's client certificate now succeed.
  await waitFor('node-a may get its node', async () => (await rawGetStatus(cluster, nodeA, '/api/v1/nodes/node-a')) === 'OK');
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'node-a', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'node-a', leaseDurationSeconds: 40 } };
  await mustKubectl(cluster, ['create', '-f', '-'], { kubeconfig: nodeA, input: JSON.stringify(lease) });
  assert.is(await rawGetStatus(cluster, nodeA, LEASE), 'OK');
  const events = await mustKubectl(cluster, ['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=cluster', '-o', 'jsonpath={.items[*].reason}']);
  assert.match(events, /LegacyBindingCreated/);
});

test('2. restart with Node,RBAC: the operator notices, deletes the binding it created, node-a still works', async () => {
  await cluster.restart({ authorizationMode: 'Node,RBAC' });
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizer');
  assert.is(c.status, 'True');
  await waitFor('the legacy binding to be gone', async () => (await subjects()) === '');
  assert.is(await rawGetStatus(cluster, nodeA, '/api/v1/nodes/node-a'), 'OK');
  assert.is(await rawGetStatus(cluster, nodeA, LEASE), 'OK');
  assert.is(op.child.exitCode, null, 'no operator restart');
  const summary = await areaStatus<{ authorizer: string; legacyBinding: { state: string } }>(cluster, 'cluster', 'nodeAuthorization');
  assert.is(summary?.authorizer, 'Node');
  assert.is(summary?.legacyBinding.state, 'absent');
  const r = await check(['--name=cluster']);
  assert.is(r.code, 0, r.stdout);
  assert.match(r.stdout, /NodeAuthorizationReady\s+True\s+NodeAuthorizer/);
});

test.run();
