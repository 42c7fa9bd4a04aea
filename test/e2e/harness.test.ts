// The harness is real: authorization mode, the tokens controller and the SA
// signing key all behave as on a kubeadm cluster, and restarts keep etcd's data.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { apply, getJson, rawGetStatus, tokenReview } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('harness');
let cluster: Cluster;
let legacyToken = '';

test.before(async () => {
  cluster = await startCluster({ authorizationMode: 'RBAC' });
  console.log(`control plane ready in ${(cluster.startupMs / 1000).toFixed(1)} s (${cluster.server})`);
  await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
});
test.after(async () => {
  await (cluster as Cluster | undefined)?.stop();
});

test('serves a stamped version, not v0.0.0-master', async () => {
  const r = await cluster.kubectl(['get', '--raw', '/version']);
  assert.is(r.code, 0, r.stderr);
  assert.match((JSON.parse(r.stdout) as { gitVersion: string }).gitVersion, /^v1\.37\.\d+$/);
});

test('RBAC only: a kubelet identity is forbidden to get its own node and lease (the kubelets-forbidden incident)', async () => {
  const kubeconfig = await cluster.nodeKubeconfig('node-a');
  assert.is(await rawGetStatus(cluster, kubeconfig, '/api/v1/nodes/node-a'), 'Forbidden');
  assert.is(await rawGetStatus(cluster, kubeconfig, '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a'), 'Forbidden');
});

test('the tokens controller fills a legacy token Secret and TokenReview accepts it', async () => {
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: 'default' } });
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'builder-token', namespace: 'default', annotations: { 'kubernetes.io/service-account.name': 'builder' } },
  });
  legacyToken = await waitFor('the tokens controller to fill secret default/builder-token', async () => {
    const secret = await getJson<{ data?: Record<string, string> }>(cluster, ['secret', 'builder-token', '-n', 'default']);
    const token = secret?.data?.token;
    return token ? Buffer.from(token, 'base64').toString() : undefined;
  });
  const review = await tokenReview(cluster, legacyToken);
  assert.ok(review.authenticated, `TokenReview rejected a fresh token: ${review.error ?? ''}`);
  assert.is(review.username, 'system:serviceaccount:default:builder');
});

test('restart with Node,RBAC: the same kubelet identity may get its node; etcd kept the data', async () => {
  await cluster.restart({ authorizationMode: 'Node,RBAC' });
  const kubeconfig = await cluster.nodeKubeconfig('node-a');
  assert.is(await rawGetStatus(cluster, kubeconfig, '/api/v1/nodes/node-a'), 'OK');
  assert.ok(await getJson(cluster, ['serviceaccount', 'builder', '-n', 'default']), 'serviceaccount default/builder survived the restart');
});

test('restart with a new signing key: the old legacy token is rejected (the dead-legacy-token incident)', async () => {
  await cluster.restart({ newSigningKey: true });
  const review = await tokenReview(cluster, legacyToken);
  assert.not.ok(review.authenticated, 'a token signed by the old key must be rejected');
  const kubeconfig = await cluster.serviceAccountKubeconfig('default', 'builder');
  // A fresh bound token from the new key authenticates (403 = authenticated, just not authorized).
  assert.is(await rawGetStatus(cluster, kubeconfig, '/api/v1/nodes'), 'Forbidden');
});

test.run();
