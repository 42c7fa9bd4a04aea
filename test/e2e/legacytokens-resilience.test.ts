// Exactly once, whatever happens: GitOps re-applies, operator crashes in the
// middle of a rotation, and a leader change never repeat or lose a restart; a
// rollout that cannot finish keeps its rotation pending until it does.
import { readFile } from 'node:fs/promises';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson, waitForCondition, type ConditionView } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('legacy token rotation: exactly once');
let cluster: Cluster;
const operators: OperatorProcess[] = [];
const NS = 'apps';
const WORKLOADS = ['w1', 'w2', 'w3'];

function manifests(): string {
  const deploy = (name: string, secrets: string[]): unknown => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: secrets.map((s, i) => ({ name: `t${i}`, secret: { secretName: s } })) },
      },
    },
  });
  // w1 uses both Secrets: it must restart once per rotation, not once per Secret.
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [deploy('w1', ['app-token', 'other-token']), deploy('w2', ['app-token']), deploy('w3', ['app-token'])],
  });
}

async function replicaSets(name: string): Promise<number> {
  return (await mustKubectl(cluster, ['get', 'rs', '-n', NS, '-l', `app=${name}`, '-o', 'name'])).split('\n').filter(Boolean).length;
}
async function counts(): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(WORKLOADS.map(async (w) => [w, await replicaSets(w)] as const)));
}
function operator(args: string[], kubeconfig: string): OperatorProcess {
  const o = startOperator({ kubeconfig, args });
  operators.push(o);
  return o;
}
async function converged(): Promise<void> {
  await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 120_000);
}
/** Regenerates the signing key, so every legacy token dies and must be rotated. */
async function killTokens(): Promise<string> {
  await cluster.restart({ newSigningKey: true });
  return await operatorKubeconfig(cluster);
}
async function expectOneRestartEach(before: Record<string, number>, what: string): Promise<void> {
  for (const w of WORKLOADS) {
    const want = (before[w] ?? 0) + 1;
    assert.is(
      await waitFor(`${w} to have ${want} ReplicaSets`, async () => ((await replicaSets(w)) >= want ? replicaSets(w) : undefined)),
      want,
      `${what}: ${w} restarted exactly once`,
    );
  }
}

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: NS } });
  for (const name of ['app-token', 'other-token']) {
    await apply(cluster, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name, namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'app' } },
    });
  }
  await mustKubectl(cluster, ['apply', '--server-side', '--field-manager=argocd', '-f', '-'], { input: manifests() });
  for (const w of WORKLOADS) await waitFor(`${w}'s first ReplicaSet`, async () => (await replicaSets(w)) === 1);
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 2 } },
  });
});
test.after(async () => {
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await (cluster as Cluster | undefined)?.stop();
});

test('9. a GitOps re-apply (server-side apply, another field manager) neither undoes nor repeats a restart', async () => {
  const before = await counts();
  const o = operator(['--no-leader-elect'], await killTokens());
  await converged();
  await expectOneRestartEach(before, 'rotation');
  const restarted = await counts();
  const annotations = async (): Promise<Record<string, string> | undefined> =>
    (await getJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(cluster, ['deployment', 'w2', '-n', NS]))?.spec.template
      .metadata.annotations;
  const mark = (await annotations())?.['authpolicy.io/restartedAt'];
  assert.ok(mark);
  // Argo CD syncs the users' own manifests again, under its own field manager.
  const out = await mustKubectl(cluster, ['apply', '--server-side', '--field-manager=argocd', '-f', '-'], { input: manifests() });
  assert.match(out, /serverside-applied/);
  assert.is((await annotations())?.['authpolicy.io/restartedAt'], mark, 'the restart annotation stays');
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 3 } },
  });
  await converged();
  assert.equal(await counts(), restarted, 'no new rollout');
  const diff = await cluster.kubectl(['diff', '--server-side', '--field-manager=argocd', '-f', '-'], { input: manifests() });
  assert.is(diff.code, 0, `Argo CD would see no drift: ${diff.stdout}`);
  await o.stop();
});

test('4. killed in the middle of a rotation, again and again: everything converges and nothing restarts twice', async () => {
  const before = await counts();
  const kubeconfig = await killTokens();
  let o = operator(['--no-leader-elect'], kubeconfig);
  await o.waitForLog('a token blanked', (l) => l.message === 'rotating token secret', 60_000);
  await o.stop('SIGKILL');
  o = operator(['--no-leader-elect'], kubeconfig);
  await o.waitForLog('a first restart', (l) => l.message === 'restarted workload', 60_000);
  await o.stop('SIGKILL');
  o = operator(['--no-leader-elect'], kubeconfig);
  await converged();
  await expectOneRestartEach(before, 'after two crashes');
  await o.stop();
});

test('10. a leader change in the middle of a rotation loses no restart and repeats none', async () => {
  const before = await counts();
  const kubeconfig = await killTokens();
  const args = ['--leader-election-lease-duration=4s', '--leader-election-renew-deadline=3s', '--leader-election-retry-period=1s'];
  const a = operator(args, kubeconfig);
  const b = operator(args, kubeconfig);
  const leader = await waitFor('a leader to start rotating', () => [a, b].find((o) => o.logs.some((l) => l.message === 'rotating token secret')), {
    timeoutMs: 60_000,
  });
  await leader.stop('SIGKILL');
  const standby = leader === a ? b : a;
  await standby.waitForLog('the standby to lead', (l) => l.message === 'became leader', 30_000);
  await converged();
  await expectOneRestartEach(before, 'across the leader change');
  assert.ok(
    standby.logs.some((l) => l.message === 'restarted workload' || l.message === 'rotating token secret') ||
      leader.logs.some((l) => l.message === 'restarted workload'),
    'work was done',
  );
  await standby.stop();
  const text = await readFile(`${cluster.dir}/logs/kube-apiserver.log`, 'utf8').catch(() => '');
  assert.not.match(text, /panic/);
});

test('6. maxConcurrentRestarts 1 with three dependents: rollouts never overlap', async () => {
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 1 } },
  });
  const before = await counts();
  const kubeconfig = await killTokens(); // restarts the API server: watch after it
  // Watch the Deployments the way kubectl does: one line per change, in the API server's order.
  const { spawn } = await import('node:child_process');
  const watch = spawn(`${cluster.binDir}/kubectl`, [
    `--kubeconfig=${cluster.adminKubeconfig}`,
    'get',
    'deployments',
    '-n',
    NS,
    '-w',
    '-o',
    'jsonpath={.metadata.name} {.metadata.generation} {.status.observedGeneration}{"\\n"}',
  ]);
  let text = '';
  watch.stdout.on('data', (d: Buffer) => {
    text += d.toString();
  });
  try {
    await waitFor('the watch to list the three Deployments', () => text.split('\n').filter(Boolean).length >= 3);
    const o = operator(['--no-leader-elect'], kubeconfig);
    await converged();
    await expectOneRestartEach(before, 'paced rotation');
    await o.stop();
  } finally {
    watch.kill();
  }
  const lines = text.split('\n').filter(Boolean);
  // Each rollout runs from its generation bump until the controller has observed it.
  const first = new Map<string, number>();
  const intervals = new Map<string, { start: number; end: number; generation: number }>();
  lines.forEach((line, i) => {
    const [name = '', gen = '0', observed = '0'] = line.split(' ');
    const g = Number(gen);
    if (!first.has(name)) {
      first.set(name, g);
      return;
    }
    const iv = intervals.get(name);
    if (!iv && g > (first.get(name) ?? g)) intervals.set(name, { start: i, end: Number(observed) >= g ? i : Infinity, generation: g });
    else if (iv && iv.end === Infinity && Number(observed) >= iv.generation) iv.end = i;
  });
  const sorted = [...intervals.entries()].sort((a, b) => a[1].start - b[1].start);
  assert.is(sorted.length, 3, `three rollouts seen: ${lines.join(' | ')}`);
  for (let i = 1; i < sorted.length; i++) {
    const [prevName, prev] = sorted[i - 1]!;
    const [name, cur] = sorted[i]!;
    assert.ok(cur.start > prev.end, `${name} started after ${prevName} finished (${JSON.stringify(sorted)})`);
  }
});

test('11. a rollout that cannot finish: WorkloadsRestarted stays False/RolloutTimedOut and the rotation pending until it does', async () => {
  // No kubelet runs here: a Deployment with a replica never gets an available pod, so its rollout never finishes.
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'stuck-token', namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'app' } },
  });
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'stuck', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'stuck' } },
      template: {
        metadata: { labels: { app: 'stuck' } },
        spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'stuck-token' } }] },
      },
    },
  });
  const rotationState = async (): Promise<string | undefined> =>
    (await getJson<{ metadata: { annotations?: Record<string, string> } }>(cluster, ['secret', 'stuck-token', '-n', NS]))?.metadata.annotations?.[
      'authpolicy.io/rotation-state'
    ];
  await waitFor('secret apps/stuck-token to get a token', async () =>
    Boolean((await getJson<{ data?: { token?: string } }>(cluster, ['secret', 'stuck-token', '-n', NS]))?.data?.token),
  );
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 2, rolloutTimeout: '10s' } },
  });
  const o = operator(['--no-leader-elect'], await killTokens());
  const started = Date.now();
  await o.waitForLog('deployment apps/stuck restarted', (l) => l.message === 'restarted workload' && l.workload === 'Deployment/apps/stuck', 120_000);
  const restarted = Date.now();
  const timedOut = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'RolloutTimedOut', 60_000);
  const reported = Date.now();
  assert.is(timedOut.status, 'False');
  assert.is(timedOut.message, 'rollouts did not finish within 10s: deployment/apps/stuck; check them with kubectl rollout status');
  assert.is(await rotationState(), 'pending');

  // It stays so while the operator keeps reconciling (a rollout in flight is rechecked every 3 s).
  const reconciles = async (): Promise<number> =>
    metricValue(await o.metrics(), 'controller_runtime_reconcile_total', { controller: 'authpolicy', result: 'requeue_after' }) ?? 0;
  const before = await reconciles();
  const seen: number[] = [];
  const watchedFrom = Date.now();
  const change = await waitFor(
    'WorkloadsRestarted or the rotation to change while the rollout is stuck',
    async () => {
      const p = await getJson<{ metadata: { generation: number }; status?: { conditions?: ConditionView[] } }>(cluster, ['authpolicy', 'cluster']);
      const c = p?.status?.conditions?.find((x) => x.type === 'WorkloadsRestarted');
      const state = await rotationState();
      seen.push(Date.now());
      const same =
        c?.status === 'False' &&
        c.reason === 'RolloutTimedOut' &&
        c.message === timedOut.message &&
        c.lastTransitionTime === timedOut.lastTransitionTime &&
        c.observedGeneration === p?.metadata.generation;
      return same && state === 'pending' ? false : `${JSON.stringify(c)}, rotation-state ${state ?? '(none)'}`;
    },
    { timeoutMs: 20_000, intervalMs: 1000 },
  ).catch((err: unknown) => {
    if (/^timed out after 20000 ms/.test((err as Error).message)) return undefined;
    throw err;
  });
  assert.is(change, undefined, `RolloutTimedOut stays while the rollout is stuck: changed to ${change ?? ''}`);
  const span = (seen.at(-1) ?? 0) - watchedFrom;
  assert.ok(seen.length >= 3 && span >= 15_000, `observed ${seen.length} times over ${span} ms`);
  assert.ok((await reconciles()) > before, 'the operator reconciled meanwhile');

  // The rollout completes: the rotation finishes and the condition clears.
  await mustKubectl(cluster, ['scale', 'deployment', 'stuck', '-n', NS, '--replicas=0']);
  const scaled = Date.now();
  const done = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(done.reason, 'AllRestarted');
  assert.is(await rotationState(), 'done');
  console.log(
    `stuck restarted ${((restarted - started) / 1000).toFixed(1)} s after the operator started; RolloutTimedOut ${((reported - restarted) / 1000).toFixed(1)} s after the restart; stayed so in ${seen.length} observations over ${(span / 1000).toFixed(1)} s; AllRestarted ${((Date.now() - scaled) / 1000).toFixed(1)} s after the scale-down`,
  );
  await o.stop();
  await mustKubectl(cluster, ['delete', 'deployment', 'stuck', '-n', NS]);
  await mustKubectl(cluster, ['delete', 'secret', 'stuck-token', '-n', NS]);
});

test.run();
