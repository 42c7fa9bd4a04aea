// Argo Rollouts on a real control plane, with the real Argo Rollouts v1.10.2: its CRDs from the module and its
// controller (test/rollouts/), pods on a kwok node. A Rollout whose pod template uses a rotated token Secret is
// restarted through spec.restartAt (Argo Rollouts' own restart), never a template change, exactly once, paced
// with the other kinds, also when the operator is killed mid-way; the controller then evicts every older pod and
// sets status.restartedAt. A Rollout whose pods come from a workloadRef is not a dependent (docs/areas/legacy-tokens.md).
import { spawn } from 'node:child_process';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { DEFAULT_CONTROLLERS, startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { addKwokNode, startKwok } from '../cluster/kwok.ts';
import type { ManagedProcess } from '../cluster/processes.ts';
import { installRolloutsCrds, startRolloutsController, type RolloutsController } from '../rollouts/rollouts.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, areaStatus, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('argo rollouts');
let cluster: Cluster;
let kubeconfig: string;
let kwok: ManagedProcess | undefined;
let argo: RolloutsController | undefined;
const operators: OperatorProcess[] = [];
const NS = 'apps';
const NODE = 'kwok-0';
const ROLLOUTS = ['r1', 'r2'];

interface RolloutView {
  metadata: {
    generation: number;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; fieldsV1?: { 'f:spec'?: Record<string, unknown> } }[];
  };
  spec: { restartAt?: string; template: unknown };
  status?: { restartedAt?: string; phase?: string; availableReplicas?: number };
}
interface PodView {
  metadata: { name: string; creationTimestamp: string; deletionTimestamp?: string };
  status?: { conditions?: { type: string; status: string }[] };
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
      // On the kwok node (no scheduler): kwok runs the pods, so they become Ready and Argo Rollouts can evict them.
      spec:
        reads === 'volume'
          ? { nodeName: NODE, containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'app-token' } }] }
          : {
              nodeName: NODE,
              containers: [{ name: 'main', image: 'busybox', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'app-token', key: 'token' } } }] }],
            },
    },
  },
});
const ready = (p: PodView): boolean => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
async function pods(app: string, ns = NS): Promise<PodView[]> {
  return (await getJson<{ items: PodView[] }>(cluster, ['pods', '-n', ns, '-l', `app=${app}`]))?.items ?? [];
}
/** A Rollout Argo Rollouts has brought up: Healthy, its one pod Ready; the pod's name. */
async function healthy(name: string, ns = NS): Promise<string> {
  return await waitFor(
    `rollout ${ns}/${name} to be Healthy with its pod Ready`,
    async () => {
      const r = await getJson<RolloutView>(cluster, ['rollout.argoproj.io', name, '-n', ns]);
      const running = (await pods(name, ns)).filter(ready);
      return r?.status?.phase === 'Healthy' && r.status.availableReplicas === 1 && running.length === 1 && running[0]?.metadata.name;
    },
    { timeoutMs: 120_000 },
  );
}
/**
 * Argo Rollouts' part, done by its controller: every pod created before spec.restartAt evicted (kwok deletes it,
 * its ReplicaSet makes a new one) and spec.restartAt copied to status.restartedAt. Returns the new pod's name.
 */
async function argoRestarted(name: string, before: string): Promise<string> {
  const r = await waitFor(
    `Argo Rollouts to finish ${name}'s restart (status.restartedAt = spec.restartAt)`,
    async () => {
      const r = await rollout(name);
      return r.spec.restartAt !== undefined && r.status?.restartedAt === r.spec.restartAt && r;
    },
    { timeoutMs: 120_000 },
  );
  const pod = await healthy(name);
  const now = (await pods(name)).filter(ready)[0];
  assert.is.not(pod, before, `${name}: its pod was replaced`);
  assert.ok(Date.parse(now?.metadata.creationTimestamp ?? '') >= Date.parse(r.spec.restartAt ?? ''), `${name}: the new pod is not older than restartAt`);
  assert.equal(
    (await pods(name)).map((p) => p.metadata.name),
    [pod],
    `${name}: the evicted pod is gone (kwok deleted it), one pod left`,
  );
  return pod;
}
async function replicaSets(name: string, ns = NS): Promise<number> {
  return (await mustKubectl(cluster, ['get', 'rs', '-n', ns, '-l', `app=${name}`, '-o', 'name'])).split('\n').filter(Boolean).length;
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
  // The disruption controller: a PodDisruptionBudget holds Argo Rollouts' evictions as on a real cluster.
  cluster = await startCluster({ scheduler: false, controllers: [...DEFAULT_CONTROLLERS, 'disruption-controller'] });
  await installOperatorPrereqs(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
  kwok = startKwok(cluster);
  await addKwokNode(cluster, NODE);
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
  await Promise.all([...operators.map((o) => o.stop('SIGKILL')), argo?.stop(), kwok?.stop()]);
  await (cluster as Cluster | undefined)?.stop();
});

test('no Rollout CRD: the area works as before; the real CRD and controller installed later are picked up, and each Rollout gets spec.restartAt once, paced, and its pod replaced', async () => {
  const o = operator();
  const tokens = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  const workloads = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(tokens.reason, 'TokensValid');
  assert.is(workloads.reason, 'NothingToRestart');
  const summary = await areaStatus(cluster, 'cluster', 'legacyTokens');
  assert.not.ok(summary?.error ?? summary?.rolloutsUnchecked, `no error, nothing unchecked: ${JSON.stringify(summary)}`);

  await installRolloutsCrds(cluster);
  argo = await startRolloutsController(cluster);
  assert.match(argo.version, /^v1\.10\.2\+/, `the controller built from the module says its version: ${argo.version}`);
  // r1's pod may not be evicted until this budget goes: r1's restart stays in progress meanwhile.
  await apply(cluster, {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'r1', namespace: NS },
    spec: { minAvailable: 1, selector: { matchLabels: { app: 'r1' } } },
  });
  await apply(cluster, rolloutManifest('r1', 'volume'));
  await apply(cluster, rolloutManifest('r2', 'env'));
  const before = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, await healthy(r)] as const)));
  // The same operator, no restart: its Rollout cache lists once the API server serves the CRD.
  await o.waitForLog('the Rollout cache to sync', (l) => l.message === 'cache synced' && l.informer === 'rollouts', 60_000);
  const templates = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).spec.template] as const)));
  const generations = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).metadata.generation] as const)));
  const sets = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, await replicaSets(r)] as const)));

  await policy({ rotationRequestedAt: '2026-03-01T00:00:00Z' });
  const r1 = await waitFor('r1 to get spec.restartAt', async () => (await rollout('r1')).spec.restartAt, { timeoutMs: 120_000 });
  assert.is(await replicaSets('web'), 2, 'the Deployment restarted first (one at a time), by a new template');
  // Argo Rollouts tries to evict r1's pod and the budget refuses: r1's restart runs, and r2 waits for it (one restart
  // at a time, Rollouts counted like the other kinds). The message's progress may follow the reason by up to the
  // status writer's 5 s: wait for it.
  await waitFor(
    "Argo Rollouts to be refused the eviction of r1's pod",
    async () => /Cannot evict pod as it would violate the pod's disruption budget/.test(await argo!.log()),
    {
      timeoutMs: 60_000,
    },
  );
  await waitForCondition(
    cluster,
    'cluster',
    'WorkloadsRestarted',
    (c) => c.reason === 'RestartsPending' && /rollout\/apps\/r1/.test(c.message) && /1 rollout\(s\) in progress.*rollout\/apps\/r2/.test(c.message),
    30_000,
  );
  assert.is((await rollout('r1')).status?.restartedAt, undefined, 'r1: not restarted while its pod may not be evicted');
  assert.is((await rollout('r2')).spec.restartAt, undefined, 'r2 waits for r1');
  await mustKubectl(cluster, ['delete', 'poddisruptionbudget', 'r1', '-n', NS]);
  // Argo Rollouts retries the eviction within 30 s (its restartPodCheckTime).
  const after = new Map([['r1', await argoRestarted('r1', before.get('r1') ?? '')]]);
  await waitFor('r2 to get spec.restartAt', async () => (await rollout('r2')).spec.restartAt, { timeoutMs: 60_000 });
  after.set('r2', await argoRestarted('r2', before.get('r2') ?? ''));
  const done = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(done.reason, 'AllRestarted');
  await waitFor('the rotation request to be recorded', async () => (await lastRequest()) === '2026-03-01T00:00:00Z');

  for (const name of ROLLOUTS) {
    const r = await rollout(name);
    assert.equal(r.spec.template, templates.get(name), `${name}: the pod template is untouched (no new revision, no canary)`);
    assert.is(await replicaSets(name), sets.get(name), `${name}: no new ReplicaSet: the same revision, its pod replaced`);
    assert.is(r.metadata.generation, (generations.get(name) ?? 0) + 1, `${name}: spec written once (only restartAt)`);
    assert.match(r.spec.restartAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'RFC 3339, whole seconds');
    assert.is(r.status?.restartedAt, r.spec.restartAt, `${name}: Argo Rollouts finished the restart asked for`);
    assert.is(r.metadata.annotations?.['authpolicy.io/restarted-for']?.startsWith('r-'), true, `${name}: the rotation is recorded on it`);
    const ours = r.metadata.managedFields?.find((f) => f.manager === 'authpolicy-operator-restart');
    assert.equal(
      Object.keys(ours?.fieldsV1?.['f:spec'] ?? {}),
      ['f:restartAt'],
      `${name}: the restart field manager owns spec.restartAt and nothing else of spec`,
    );
    assert.is(after.get(name) === before.get(name), false, `${name}: a new pod`);
  }
  assert.ok(Date.parse(r1) <= Date.now(), 'restartAt is not in the future (Argo Rollouts would wait for it)');
  assert.is(o.logs.filter((l) => l.message === 'restarted workload' && String(l.workload).startsWith('Rollout/')).length, 2, 'two Rollout restarts');
  await o.stop();
});

test('killed right after the token is blanked, and again right after a Rollout restart is written: each Rollout gets restartAt once', async () => {
  const generations = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).metadata.generation] as const)));
  const web = await replicaSets('web');
  const before = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, await healthy(r)] as const)));
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
      await argoRestarted(name, before.get(name) ?? '');
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

test("403 on rollouts: only Rollout restarts stop; the Rollouts' pods still holding the replaced token are listed, never called settled, and their rotation stays open; granted again, the Rollouts are restarted for it", async () => {
  const role = await getJson<{ rules: { apiGroups?: string[] }[] }>(cluster, ['clusterrole', 'authpolicy-operator']);
  assert.ok(role);
  const without = { ...role, rules: role.rules.filter((r) => !r.apiGroups?.includes('argoproj.io')) };
  await mustKubectl(cluster, ['replace', '-f', '-'], { input: JSON.stringify(without) });
  const generations = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, (await rollout(r)).metadata.generation] as const)));
  const before = new Map(await Promise.all(ROLLOUTS.map(async (r) => [r, await healthy(r)] as const)));
  const web = await replicaSets('web');
  // A new signing key: app-token stops working and is rotated (InvalidToken), and the Rollouts' running pods hold a
  // token that no longer works. (Re-issued under the same key, a legacy token is byte-for-byte the same token.)
  await cluster.restart({ newSigningKey: true });
  kubeconfig = await operatorKubeconfig(cluster); // the operator's own token was signed with the old key
  await policy();
  const o = operator();
  const unchecked = await waitFor(
    'status to say Rollouts were not checked',
    async () => (await areaStatus<{ rolloutsUnchecked?: string }>(cluster, 'cluster', 'legacyTokens'))?.rolloutsUnchecked,
    { timeoutMs: 60_000 },
  );
  assert.match(unchecked, /may not list rollouts\.argoproj\.io.*grant list and watch/);
  const tokens = await waitForCondition(cluster, 'cluster', 'LegacyTokensReady', (c) => c.status === 'True', 120_000);
  assert.is(tokens.reason, 'TokensValid', 'the token area is not Unknown');
  const workloads = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.reason === 'ConsumersNotRestarted', 120_000);
  assert.is(workloads.status, 'False', workloads.message);
  assert.not.match(workloads.message, /no other running pod holds a replaced token/);
  for (const name of ROLLOUTS)
    assert.match(workloads.message, new RegExp(`pod apps/${before.get(name) ?? ''} \\(Rollout ${name}; `), `${name}'s pod is named: ${workloads.message}`);
  assert.match(
    workloads.message,
    /Argo Rollouts were not checked, so no Rollout is restarted: .*may not list rollouts\.argoproj\.io.*grant list and watch.*also needs patch on rollouts\.argoproj\.io/,
  );
  const held = await areaStatus<{ notRestarted?: { pod?: string; owner?: string }[] }>(cluster, 'cluster', 'legacyTokens');
  assert.equal(
    (held?.notRestarted ?? []).map((p) => p.owner).sort(),
    ['Rollout r1', 'Rollout r2'],
    `status.legacyTokens.notRestarted lists the Rollouts' pods: ${JSON.stringify(held?.notRestarted)}`,
  );
  assert.is(await replicaSets('web'), web + 1, 'the Deployment still restarts');
  const rotationState = async (): Promise<string | undefined> =>
    (await getJson<{ metadata: { annotations?: Record<string, string> } }>(cluster, ['secret', 'app-token', '-n', NS]))?.metadata.annotations?.[
      'authpolicy.io/rotation-state'
    ];
  assert.is(await rotationState(), 'pending', 'the rotation is not closed while Rollouts it could not read hold its replaced token');
  for (const name of ROLLOUTS) assert.is((await rollout(name)).metadata.generation, generations.get(name), `${name} not written`);

  await mustKubectl(cluster, ['apply', '--server-side', '--force-conflicts', '-k', `${ROOT}/config/rbac`]);
  await waitFor(
    'the note to go once the permission is back',
    async () => (await areaStatus<{ rolloutsUnchecked?: string }>(cluster, 'cluster', 'legacyTokens'))?.rolloutsUnchecked === undefined,
    { timeoutMs: 60_000 },
  );
  // The rotation still open, the Rollouts are its dependents now: each restarted (spec.restartAt) and its pod replaced.
  for (const name of ROLLOUTS) {
    await waitFor(`${name} to get a new restartAt`, async () => (await rollout(name)).metadata.generation > (generations.get(name) ?? 0), {
      timeoutMs: 120_000,
    });
    await argoRestarted(name, before.get(name) ?? '');
  }
  const done = await waitForCondition(cluster, 'cluster', 'WorkloadsRestarted', (c) => c.status === 'True', 60_000);
  assert.is(done.reason, 'AllRestarted', done.message);
  await waitFor('the rotation to be closed', async () => (await rotationState()) === 'done', { timeoutMs: 60_000 });
  await o.stop();
});

const REFS = 'refs';
async function refStory(): Promise<void> {
  await mustKubectl(cluster, ['create', 'namespace', REFS]);
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: REFS } });
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'ref-token', namespace: REFS, annotations: { 'kubernetes.io/service-account.name': 'app' } },
  });
  // The Deployment is kept at 0 replicas: the Rollout runs the pods, from its template (Argo Rollouts' workloadRef migration).
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'ref-web', namespace: REFS },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'ref' } },
      template: {
        metadata: { labels: { app: 'ref' } },
        spec: { nodeName: NODE, containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'ref-token' } }] },
      },
    },
  });
  await apply(cluster, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'ref', namespace: REFS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'ref' } },
      workloadRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ref-web' },
      strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
    },
  });
}

test('workloadRef: the Rollout is not a dependent; the Deployment it references is restarted, and Argo Rollouts takes that as a new revision (a canary that pauses)', async () => {
  await refStory();
  const pod = await healthy('ref', REFS);
  const generation = (await getJson<RolloutView>(cluster, ['rollout.argoproj.io', 'ref', '-n', REFS]))?.metadata.generation;
  assert.ok(generation, 'rollout refs/ref exists');
  const o = operator();
  await policy({ rotationRequestedAt: '2026-06-01T00:00:00Z' });
  await waitFor('the rotation request to be recorded', async () => (await lastRequest()) === '2026-06-01T00:00:00Z', { timeoutMs: 120_000 });
  const deployment = await getJson<{ spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(cluster, [
    'deployment',
    'ref-web',
    '-n',
    REFS,
  ]);
  assert.ok(deployment?.spec.template.metadata.annotations?.['authpolicy.io/restarted-for'], 'the referenced Deployment is restarted, by its template');
  const paused = await waitFor(
    'Argo Rollouts to start a new revision of refs/ref and pause at its canary step',
    async () => {
      const r = (await getJson<RolloutView & { status?: { message?: string } }>(cluster, ['rollout.argoproj.io', 'ref', '-n', REFS])) ?? undefined;
      return r?.metadata.annotations?.['rollout.argoproj.io/revision'] === '2' && r.status?.phase === 'Paused' && r;
    },
    { timeoutMs: 60_000 },
  );
  assert.is(paused.spec.restartAt, undefined, 'the operator wrote no restartAt on a workloadRef Rollout');
  assert.is(paused.metadata.generation, generation, 'nor anything else of its spec');
  const ofRollout = await mustKubectl(cluster, ['get', 'rs', '-n', REFS, '-l', 'app=ref,rollouts-pod-template-hash', '-o', 'name']);
  assert.is(ofRollout.split('\n').filter(Boolean).length, 2, `a second ReplicaSet of the Rollout: the new revision (${ofRollout.trim()})`);
  assert.ok(
    (await pods('ref', REFS)).some((p) => p.metadata.name === pod && ready(p)),
    'the pod from before the rotation still runs (the canary waits to be promoted)',
  );
  await o.stop();
});

test.run();
