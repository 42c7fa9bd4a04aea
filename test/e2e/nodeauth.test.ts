// The kubelets-forbidden incident on a real control plane: kubelets forbidden under "RBAC", the
// fallback binding, the switch to "Node,RBAC" and the clean-up — with real
// kubelet client certificates, the operator under the RBAC in config/.
import { writeFile } from 'node:fs/promises';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, runCheck, startOperator, type LogLine, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, rawGetStatus, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('node authorization');
let cluster: Cluster;
let op: OperatorProcess;
let nodeA: string;
/** [from, to] ms: an API server restart and the moments after it, when RBAC's caches are still filling */
const restarts: [number, number][] = [];
async function restart(mode: 'RBAC' | 'Node,RBAC'): Promise<void> {
  const from = Date.now();
  await cluster.restart({ authorizationMode: mode });
  restarts.push([from, Date.now() + 15_000]);
}

interface Binding {
  metadata: { labels?: Record<string, string> };
  subjects?: { kind: string; name: string }[];
}

async function policy(spec: Record<string, unknown>): Promise<void> {
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec });
}
const binding = (): Promise<Binding | undefined> => getJson<Binding>(cluster, ['clusterrolebinding', 'system:node']);
const subjects = async (): Promise<string> => ((await binding())?.subjects ?? []).map((s) => `${s.kind}:${s.name}`).join(',');

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
  const lease = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'node-a', namespace: 'kube-node-lease' },
    spec: { holderIdentity: 'node-a', leaseDurationSeconds: 40 },
  };
  await mustKubectl(cluster, ['create', '-f', '-'], { kubeconfig: nodeA, input: JSON.stringify(lease) });
  assert.is(await rawGetStatus(cluster, nodeA, LEASE), 'OK');
  const events = await mustKubectl(cluster, [
    'get',
    'events',
    '-n',
    'default',
    '--field-selector',
    'involvedObject.name=cluster',
    '-o',
    'jsonpath={.items[*].reason}',
  ]);
  assert.match(events, /LegacyBindingCreated/);
});

test('2. restart with Node,RBAC: the operator notices, deletes the binding it created, node-a still works', async () => {
  await restart('Node,RBAC');
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizer');
  assert.is(c.status, 'True');
  await waitFor('the legacy binding to be gone', async () => (await subjects()) === '');
  assert.is(await rawGetStatus(cluster, nodeA, '/api/v1/nodes/node-a'), 'OK');
  assert.is(await rawGetStatus(cluster, nodeA, LEASE), 'OK');
  assert.is(op.child.exitCode, null, 'no operator restart');
  const summary = await waitFor('status.nodeAuthorization to show the binding gone', async () => {
    const s = await areaStatus<{ authorizer?: string; legacyBinding?: { state: string } }>(cluster, 'cluster', 'nodeAuthorization');
    return s?.legacyBinding?.state === 'absent' ? s : undefined;
  });
  assert.is(summary.authorizer, 'Node');
  const r = await runCheck(cluster, ['--name=cluster']);
  assert.is(r.code, 0, r.stdout);
  assert.match(r.stdout, /NodeAuthorizationReady\s+True\s+NodeAuthorizer/);
});

test('6. a system:node binding with an extra subject is reported, not deleted', async () => {
  await apply(cluster, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'system:node' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
    subjects: [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:nodes' },
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
    ],
  });
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'LegacyBindingHasExtraSubjects');
  assert.is(c.status, 'False');
  assert.match(c.message, /User alice/);
  assert.is(await subjects(), 'Group:system:nodes,User:alice', 'not deleted');
  await mustKubectl(cluster, ['delete', 'clusterrolebinding', 'system:node']);
  await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizer');
});

test('7. with 500 Nodes one reconcile issues no more SubjectAccessReviews than with 5', async () => {
  const sars = async (): Promise<number> =>
    metricValue(await op.metrics(), 'authpolicy_api_requests_total', { verb: 'POST', resource: 'subjectaccessreviews' }) ?? 0;
  const nodesSeen = async (n: number): Promise<void> => {
    await waitFor(`status to count ${n} nodes`, async () => (await areaStatus<{ nodes: number }>(cluster, 'cluster', 'nodeAuthorization'))?.nodes === n);
  };
  const list = (from: number, to: number): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: Array.from({ length: to - from }, (_, i) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${String(from + i).padStart(3, '0')}` } })),
    });
  const oneReconcile = async (probeNodes: number): Promise<number> => {
    const before = await sars();
    await policy({ nodeAuthorization: { mode: 'NodeAuthorizer', legacyBindingFallback: true, probeNodes } });
    await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', () => true);
    return (await sars()) - before;
  };
  await mustKubectl(cluster, ['apply', '-f', '-'], { input: list(1, 5) }); // node-a + 4 = 5 nodes
  await nodesSeen(5);
  const with5 = await oneReconcile(4);
  await writeFile(`${cluster.dir}/nodes.json`, list(5, 500));
  await mustKubectl(cluster, ['apply', '-f', `${cluster.dir}/nodes.json`]);
  await nodesSeen(500);
  const with500 = await oneReconcile(5);
  assert.ok(with5 > 0, `the probe ran with 5 nodes (${with5} reviews)`);
  assert.ok(with500 <= (with5 * 5) / 4 + 0.5, `500 nodes: ${with500} reviews for 5 probed nodes, vs ${with5} for 4 probed nodes among 5`);
  const same = await oneReconcile(4);
  assert.ok(same <= with5, `500 nodes, 4 probed: ${same} reviews (5 nodes: ${with5})`);
  console.log(`SubjectAccessReviews per reconcile: 5 nodes -> ${with5}, 500 nodes -> ${same} (probeNodes 4)`);
});

test('3. RBAC only, fallback off: no binding; NodeAuthorizerDisabled; check exits 1 with the same diagnosis', async () => {
  await mustKubectl(cluster, ['delete', 'nodes', '--all']);
  await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  await policy({ nodeAuthorization: { mode: 'NodeAuthorizer', legacyBindingFallback: false } });
  await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizer');
  await restart('RBAC');
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizerDisabled');
  assert.is(c.status, 'False');
  assert.match(c.message, /--authorization-mode=Node,RBAC/);
  assert.is(await subjects(), '', 'no binding created');
  assert.is(await rawGetStatus(cluster, nodeA, '/api/v1/nodes/node-a'), 'Forbidden');
  const r = await runCheck(cluster, ['--name=cluster']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /NodeAuthorizationReady\s+False\s+NodeAuthorizerDisabled/);
  assert.match(r.stdout, /system:node:node-a may not get nodes\/node-a/);
  const json = await runCheck(cluster, ['--name=cluster', '-o', 'json']);
  assert.is(json.code, 1);
  const parsed = JSON.parse(json.stdout) as { areas: { nodeAuthorization: { conditions: { reason: string }[] } } };
  assert.is(parsed.areas.nodeAuthorization.conditions[0]?.reason, 'NodeAuthorizerDisabled');
});

test('5. dryRun: nothing is created; status lists what would be', async () => {
  await policy({ dryRun: true, nodeAuthorization: { mode: 'NodeAuthorizer', legacyBindingFallback: true } });
  const c = await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => /Dry run/.test(x.message));
  assert.match(c.message, /would create clusterrolebinding\/system:node/);
  const summary = await areaStatus<{ plannedActions?: string[] }>(cluster, 'cluster', 'nodeAuthorization');
  assert.ok(
    summary?.plannedActions?.some((a) => a.startsWith('create clusterrolebinding/system:node')),
    JSON.stringify(summary),
  );
  assert.is(await subjects(), '', 'nothing was created');
});

test('4. LegacyBinding mode: emptied subjects are repaired, and an Event says so', async () => {
  await policy({ nodeAuthorization: { mode: 'LegacyBinding' } });
  await waitFor('the binding to be in its legacy shape', async () => (await subjects()) === 'Group:system:nodes');
  await mustKubectl(cluster, ['patch', 'clusterrolebinding', 'system:node', '--type=json', '-p', '[{"op":"remove","path":"/subjects"}]']);
  await waitFor('the binding to be repaired', async () => (await subjects()) === 'Group:system:nodes');
  const events = await waitFor('a LegacyBindingRepaired event', async () => {
    const out = await mustKubectl(cluster, [
      'get',
      'events',
      '-n',
      'default',
      '--field-selector',
      'involvedObject.name=cluster,reason=LegacyBindingRepaired',
      '-o',
      'jsonpath={.items[*].message}',
    ]);
    return out.includes('system:node') ? out : undefined;
  });
  assert.match(events, /repaired clusterrolebinding\/system:node/);
  await waitForCondition(cluster, 'cluster', 'NodeAuthorizationReady', (x) => x.status === 'True' && x.reason === 'LegacyBinding');
});

test('8. the operator ran with the RBAC in config/ throughout: never forbidden (but while an API server restarts)', () => {
  // A restarting kube-apiserver answers 403 for a moment while its RBAC caches fill; the operator retries.
  const duringRestart = (l: LogLine): boolean =>
    restarts.some(([from, to]) => {
      const t = Date.parse(String(l.timestamp));
      return t >= from && t <= to;
    });
  const denied = op.logs.filter((l) => /forbidden/i.test(JSON.stringify(l)) && !duringRestart(l));
  assert.equal(denied, []);
  assert.ok(
    op.logs.some((l) => l.message === 'status updated'),
    'the operator did work',
  );
});

test.run();
