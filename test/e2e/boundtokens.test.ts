// The token-expiry-extension incident on a real control plane: pods still mounting legacy token Secrets
// are reported; pods using projected, expiring tokens are not.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, waitForCondition } from '../cluster/requests.ts';

const test = suite('bound token health');
let cluster: Cluster;
let op: OperatorProcess | undefined;

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', 'ci']);
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'runner', namespace: 'ci' } });
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'runner-token', namespace: 'ci', annotations: { 'kubernetes.io/service-account.name': 'runner' } },
  });
  const pod = (name: string, volume: unknown): unknown => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ci' },
    spec: {
      serviceAccountName: 'runner',
      automountServiceAccountToken: false,
      containers: [{ name: 'main', image: 'busybox', volumeMounts: [{ name: 't', mountPath: '/var/run/secrets/tokens' }] }],
      volumes: [volume],
    },
  });
  await apply(cluster, pod('legacy-mount', { name: 't', secret: { secretName: 'runner-token' } }));
  await apply(cluster, pod('projected', { name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }] } }));
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' } },
  });
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test('4. a pod mounting a legacy token Secret is reported; one using a projected token is not', async () => {
  const c = await waitForCondition(cluster, 'cluster', 'BoundTokensHealthy', (x) => x.reason === 'LegacyTokensMounted');
  assert.is(c.status, 'False');
  assert.match(c.message, /ci\/legacy-mount \(runner-token\)/);
  assert.not.match(c.message, /ci\/projected/);
  assert.match(c.message, /service-account-extend-token-expiration/);
  const summary = await areaStatus<{ legacyMounts: number; podsWithLegacyMounts: string[] }>(cluster, 'cluster', 'boundTokens');
  assert.is(summary?.legacyMounts, 1);
  assert.equal(summary?.podsWithLegacyMounts, ['ci/legacy-mount: runner-token']);
});

test('deleting that pod makes the condition True again', async () => {
  await mustKubectl(cluster, ['delete', 'pod', 'legacy-mount', '-n', 'ci', '--wait=false']);
  await mustKubectl(cluster, ['delete', 'pod', 'legacy-mount', '-n', 'ci', '--grace-period=0', '--force']).catch(() => '');
  const c = await waitForCondition(cluster, 'cluster', 'BoundTokensHealthy', (x) => x.status === 'True');
  assert.is(c.reason, 'NoStaleTokens');
});

test.run();
