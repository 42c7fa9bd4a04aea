// Restart only what needs it (#27), with real containers: with restartDependents: NotRefreshable the
// operator restarts the Deployment that reads the legacy token through env, and leaves the one that reads
// it through a Secret volume (no subPath) to the kubelet, which rewrites the mounted file in place: that
// Pod's own log goes 401 → 200 without a new Pod. status.legacyTokens.rotationRestarts says which was which.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';
import { addRealNode, type RealNode } from '../node/real-node.ts';
import { CallRecorder, callerToken, createCaller, tokencallDeployment } from '../node/tokencall.ts';

const test = suite('real node: restart only what needs it');
let cluster: Cluster;
let node: RealNode;
let op: OperatorProcess | undefined;
let calls: CallRecorder | undefined;
const NS = 'calls';
const SECRET = 'caller-token';
const VOLUME = 'reads-volume';
const ENV = 'reads-env';

const tokenOf = (): Promise<string> => callerToken(cluster, NS, SECRET);

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  node = await addRealNode(cluster, { name: 'real-1' });
  await createCaller(cluster, NS, SECRET);
  await apply(cluster, tokencallDeployment(cluster, node, { name: VOLUME, namespace: NS, secret: SECRET, style: 'volume' }));
  await apply(cluster, tokencallDeployment(cluster, node, { name: ENV, namespace: NS, secret: SECRET, style: 'env' }));
  calls = new CallRecorder(cluster, node, NS);
});
test.after(async () => {
  calls?.stop();
  await op?.stop();
  const left = await (node as RealNode | undefined)?.stop();
  if (left) assert.equal(left, { processes: [], cgroups: [], mounts: [] }, 'the real node left nothing behind');
  await (cluster as Cluster | undefined)?.stop();
});

test('NotRefreshable: the env reader is restarted (new Pod, 200); the volume reader is left to the kubelet and recovers in place', async () => {
  const rec = calls as CallRecorder;
  for (const app of [VOLUME, ENV]) await rec.firstCall(app, 200, 0, 180_000);
  const before = { volume: rec.podsOf(VOLUME), env: rec.podsOf(ENV), token: await tokenOf() };
  await cluster.restart({ newSigningKey: true });
  const keyChangedAt = Date.now();
  for (const app of [VOLUME, ENV]) await rec.firstCall(app, 401, keyChangedAt - 30_000, 60_000);

  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { restartDependents: 'NotRefreshable', maxConcurrentRestarts: 2 } },
  });
  await waitFor(
    `secret ${NS}/${SECRET} to hold a new token`,
    async () => {
      const t = await tokenOf();
      return t !== '' && t !== before.token;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  // The env reader: a new Pod, whose own log shows 200.
  const newPod = await waitFor(`deployment ${ENV} to have a new Pod`, () => rec.podsOf(ENV).find((p) => !before.env.includes(p)), {
    timeoutMs: 240_000,
    intervalMs: 1000,
  });
  await rec.firstCall(ENV, 200, keyChangedAt, 240_000, [newPod]);
  // The volume reader: the same Pod, 401 then 200 once the kubelet rewrote the file.
  const recovered = await rec.firstCall(VOLUME, 200, keyChangedAt, 240_000, before.volume);
  assert.equal(rec.podsOf(VOLUME), before.volume, `${VOLUME} kept its Pod`);
  const rs = await getJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(cluster, ['deployment', VOLUME, '-n', NS]);
  assert.not.ok(rs?.spec.template.metadata.annotations?.['authpolicy.io/restartedAt'], `${VOLUME}'s template was not restarted`);
  console.log(`volume reader left to the kubelet: 200 again ${((recovered.at - keyChangedAt) / 1000).toFixed(1)} s after the key changed`);

  const record = await waitFor(
    'status.legacyTokens.rotationRestarts to name both Deployments',
    async () => {
      const s = await areaStatus<{ rotationRestarts?: { secret: string; restart: string[]; leftToKubelet: string[] }[] }>(cluster, 'cluster', 'legacyTokens');
      return s?.rotationRestarts?.find((r) => r.secret === `${NS}/${SECRET}`);
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  assert.ok(
    record.restart.some((r) => r.includes(ENV)),
    `restarted: ${JSON.stringify(record.restart)}`,
  );
  assert.ok(
    record.leftToKubelet.some((r) => r.includes(VOLUME)),
    `left to the kubelet: ${JSON.stringify(record.leftToKubelet)}`,
  );
  assert.not.ok(
    record.restart.some((r) => r.includes(VOLUME)),
    'the volume reader is not among the restarted',
  );
});

test.run();
