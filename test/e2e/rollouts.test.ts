// Argo Rollouts on a real control plane: a Rollout whose pod template uses a rotated token Secret is
// restarted through spec.restartAt (Argo Rollouts' own restart), never a template change, exactly once,
// paced with the other kinds, also when the operator is killed mid-way. The CRD is a minimal one written
// from Argo Rollouts' documented API (test/fixtures/argo-rollouts-crd.yaml); its controller cannot run
// here, so the test plays its part: it copies spec.restartAt to status.restartedAt, as Argo Rollouts does
// once every pod is replaced.
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('argo rollouts');
let cluster: Cluster;
let kubeconfig: string;
const operators: OperatorProcess[] = [];
const NS = 'apps';
const ROLLOUTS = ['r1', 'r2'];

interface RolloutView {
  metadata: {
    generation: number;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[];
  };
  spec: { restartAt?: string; template: unknown };
  status?: { restartedAt?: string };
}
const rollout = async (name: string): Promise<RolloutView> => {
  const r = await getJson<RolloutView>(cluster, ['rollout.argoproj.io', name, '-n', NS, '--show-managed-fields']);
  if (!r) throw new Error(`rollout ${NS}/${name} does not exist`);
  return r;
};
const rolloutManifest = (name: string, reads: 'volume' | 'env'): unknown => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
    template: {
      metadata: { labels: { app: name } },
      spec:
        reads === 'volume'
          ? { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] }
          : { containers: [{ name: 'main', image: 'busybox', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'app-token', key: 'token' } } }] }] },
    },
  },
});
/** Argo Rollouts' part: once every pod is replaced, status.restartedAt = spec.restartAt. */
async function argoFinishesRestart(name: string): Promise<void> {
  const { spec } = await rollout(name);
  assert.ok(spec.restartAt, `${name} has a restartAt to finish`);
  await mustKubectl(cluster, [
    'patch',
    'rollout.argoproj.io',
    name,
    '-n',
    NS,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { restartedAt: spec.restartAt, phase: 'Healthy' } }),
  ]);
}
async function replicaSets(name: string): Promise<number> {
  return (await mustKubectl(cluster, ['get', 'rs', '-n', NS, '-l', `app=${name}`, '-o', 'name'])).split('\n').filter(Boolean).length;
}
const policy = (legacyTokens: Record<string, unknown> = {}): Promise<string> =>
  apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { workloadKinds: ['Deployment', 'Rollout'], maxConcurrentRestarts: 1, ...legacyTokens } },
  });
function operator(): OperatorProcess {
  const o = startOperator({ kubeconfig, args: ['--no-leader-elect'] });
  operators.push(o);
  return o;
}
const lastRequest = async (): Promise<string | undefined> =>
  (await areaStatus<{ lastRotationRequest?: string }>(cluster, 'cluster', 'legacyTokens'))?.lastRotationRequest;

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: NS } });
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'app-token', namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'app' } },
  });
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] },
      },
    },
  });
  await waitFor("web's first ReplicaSet", async () => (await replicaSets('web')) === 1);
  await policy();
});
test.after(async () => {
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await (cluster as Cluster | undefined)?.stop();
});

test('no Rollout CRD: the area works as before; the CRD installed later is picked up, and each Rollout gets spec.restartAt once, paced', async () => {
  const o = operator();
  const tokens = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  const workloads = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(tokens.reason, 'TokensValid');
  assert.is(workloads.reason, 'NothingToRestart');
  const summary = await areaStatus(cluster, 'cluster', 'legacyTokens');
  assert.not.ok(summary?.error ?? summary?.rolloutsUnchecked, `no error, nothing unchecked: ${JSON.stringify(summary)}`);

  await mustKubectl(cluster, ['apply', '--server-side', '-f', `${ROOT}/test/fixtures/argo-rollouts-crd.yaml`]);
  await mustKubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/rollouts.argoproj.io']);
  await apply(cluster, rolloutManifest('r1', 'volume'));
  await apply(cluster, rolloutManifest('r2', 'env'));
  // The same operator, no restart: its Rollout cache lists once the API server serves the CRD.
  await o.waitForLog('the Rollout cache to sync', (l) => l.message === 'cache synced' && l.informer === 'rollouts', 60_000);
  const templates = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).spec.template] as const)));
  const generations = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).metadata.generation] as const)));

  await policy({ rotationRequestedAt: '2026-03-01T00:00:00Z' });
  const r1 = await waitFor('r1 to get spec.restartAt', async () => (await rollout('r1')).spec.restartAt, { timeoutMs: 120_000 });
  assert.is(await replicaSets('web'), 2, 'the Deployment restarted first (one at a time), by a new template');
  // One restart at a time, Rollouts counted like the other kinds: r2 waits while r1's restart runs. (The message's
  // progress may follow the reason by up to the status writer's 5 s: wait for it.)
  await waitForCondition(
    cluster,
    'cluster',
    'WorkloadsRestarted',
    (c) => c.reason === 'RestartsPending' && /rollout\/apps\/r1/.test(c.message) && /1 rollout\(s\) in progress.*rollout\/apps\/r2/.test(c.message),
    30_000,
  );
  assert.is((await rollout('r2')).spec.restartAt, undefined, 'r2 waits for r1');
  await argoFinishesRestart('r1');
  await waitFor('r2 to get spec.restartAt', async () => (await rollout('r2')).spec.restartAt, { timeoutMs: 60_000 });
  await argoFinishesRestart('r2');
  const done = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(done.reason, 'AllRestarted');
  await waitFor('the rotation request to be recorded', async () => (await lastRequest()) === '2026-03-01T00:00:00Z');

  for (const name of ROLLOUTS) {
    const r = await rollout(name);
    assert.equal(r.spec.template, templates.get(name), `${name}: the pod template is untouched (no new revision, no canary)`);
    assert.is(r.metadata.generation, (generations.get(name) ?? 0) + 1, `${name}: spec written once (only restartAt)`);
    assert.match(r.spec.restartAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'RFC 3339, whole seconds');
    assert.is(r.metadata.annotations?.['authpolicy.io/restarted-for']?.startsWith('r-'), true, `${name}: the rotation is recorded on it`);
    const ours = r.metadata.managedFields?.find((f) => f.manager === 'authpolicy-operator-restart');
    assert.equal(
      Object.keys(ours?.fieldsV1?.['f:spec'] ?? {}),
      ['f:restartAt'],
      `${name}: the restart field manager owns spec.restartAt and nothing else of spec`,
    );
  }
  assert.ok(Date.parse(r1) <= Date.now(), 'restartAt is not in the future (Argo Rollouts would wait for it)');
  assert.is(o.logs.filter((l) => l.message === 'restarted workload' && String(l.workload).startsWith('Rollout/')).length, 2, 'two Rollout restarts');
  await o.stop();
});

test('killed right after the token is blanked, and again right after a Rollout restart is written: each Rollout gets restartAt once', async () => {
  const generations = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).metadata.generation] as const)));
  const web = await replicaSets('web');
  // Every write to a Rollout, in the API server's order.
  const watch = spawn(`${cluster.binDir}/kubectl`, [
    `--kubeconfig=${cluster.adminKubeconfig}`,
    'get',
    'rollouts.argoproj.io',
    '-n',
    NS,
    '-w',
    '-o',
    'jsonpath={.metadata.name} {.metadata.generation} {.spec.restartAt}{"\\n"}',
  ]);
  let text = '';
  watch.stdout.on('data', (d: Buffer) => {
    text += d.toString();
  });
  try {
    await waitFor('the watch to list both Rollouts', () => text.split('\n').filter(Boolean).length >= 2);
    const first = operator();
    await policy({ rotationRequestedAt: '2026-04-01T00:00:00Z' });
    await first.waitForLog('the token blanked', (l) => l.message === 'rotating token secret', 60_000);
    await first.stop('SIGKILL');
    const second = operator();
    // Killed again right after a Rollout restart is written: by the second operator, or already by the first (its
    // SIGKILL lands a poll after the blank's log line, and a restart takes milliseconds once the token is refilled).
    const restartWritten = async (): Promise<boolean> => {
      for (const name of ROLLOUTS) if ((await rollout(name)).metadata.generation > (generations.get(name) ?? 0)) return true;
      return false;
    };
    await waitFor('a Rollout restart written', restartWritten, { timeoutMs: 120_000, intervalMs: 100 }).catch(async (err: unknown) => {
      const said = second.logs.filter((l) => l.level !== 'debug').slice(-40);
      const status = JSON.stringify(await areaStatus(cluster, 'cluster', 'legacyTokens'));
      await second.stop('SIGKILL'); // not left running into the next test (two operators would restart twice)
      throw new Error(
        `${(err as Error).message}\nthe second operator's last log lines:\n${said.map((l) => JSON.stringify(l)).join('\n')}\nstatus.legacyTokens: ${status}`,
        { cause: err },
      );
    });
    await second.stop('SIGKILL');
    const third = operator();
    // Argo Rollouts finishes each restart it is asked for, whenever it is asked.
    for (const name of ROLLOUTS) {
      await waitFor(`${name} to get a new restartAt`, async () => (await rollout(name)).metadata.generation > (generations.get(name) ?? 0), {
        timeoutMs: 120_000,
      });
      await argoFinishesRestart(name);
    }
    await waitFor('the rotation request to be recorded', async () => (await lastRequest()) === '2026-04-01T00:00:00Z', { timeoutMs: 60_000 });
    const done = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
    assert.is(done.reason, 'AllRestarted');
    assert.is(await replicaSets('web'), web + 1, 'the Deployment restarted once');
    await third.stop();
  } finally {
    watch.kill();
  }
  for (const name of ROLLOUTS) {
    assert.is((await rollout(name)).metadata.generation, (generations.get(name) ?? 0) + 1, `${name}: spec.restartAt written exactly once across two kills`);
    const values = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith(`${name} `))
        .map((l) => l.split(' ')[2])
        .filter(Boolean),
    );
    assert.is(values.size, 2, `${name}: the watch saw one new restartAt after the one from the first test: ${[...values].join(', ')}`);
  }
});

test('403 on rollouts: only Rollout restarts stop, and status says so; granted again, it recovers', async () => {
  const role = await getJson<{ rules: { apiGroups?: string[] }[] }>(cluster, ['clusterrole', 'authpolicy-operator']);
  assert.ok(role);
  const without = { ...role, rules: role.rules.filter((r) => !r.apiGroups?.includes('argoproj.io')) };
  await mustKubectl(cluster, ['replace', '-f', '-'], { input: JSON.stringify(without) });
  const generations = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).metadata.generation] as const)));
  const web = await replicaSets('web');
  const o = operator();
  const unchecked = await waitFor(
    'status to say Rollouts were not checked',
    async () => (await areaStatus<{ rolloutsUnchecked?: string }>(cluster, 'cluster', 'legacyTokens'))?.rolloutsUnchecked,
    { timeoutMs: 60_000 },
  );
  assert.match(unchecked, /may not list rollouts\.argoproj\.io.*grant list and watch/);
  await policy({ rotationRequestedAt: '2026-05-01T00:00:00Z' });
  await waitFor('the rotation request to be recorded', async () => (await lastRequest()) === '2026-05-01T00:00:00Z', { timeoutMs: 120_000 });
  const tokens = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 60_000);
  assert.is(tokens.reason, 'TokensValid', 'the token area is not Unknown');
  const workloads = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => /Argo Rollouts were not checked/.test(c.message), 60_000);
  assert.is.not(workloads.status, 'Unknown');
  assert.is(await replicaSets('web'), web + 1, 'the Deployment still restarts');
  for (const name of ROLLOUTS) assert.is((await rollout(name)).metadata.generation, generations.get(name), `${name} not written`);
  await mustKubectl(cluster, ['apply', '--server-side', '--force-conflicts', '-k', `${ROOT}/config/rbac`]);
  await waitFor(
    'the note to go once the permission is back',
    async () => (await areaStatus<{ rolloutsUnchecked?: string }>(cluster, 'cluster', 'legacyTokens'))?.rolloutsUnchecked === undefined,
    { timeoutMs: 60_000 },
  );
  await o.stop();
});

test.run();
