// Captures the Argo CD health check's fixtures
// (config/argocd/resource_customizations/authpolicy.io/AuthPolicy/testdata/*.yaml)
// from a real control plane: starts the test harness, runs the operator from
// source, drives the AuthPolicy through each state an Argo CD user would see
// and saves `kubectl get authpolicy <name> -o yaml` verbatim (kubectl leaves
// managedFields out by default; nothing else is removed).
//
//   node test/argocd/capture-fixtures.ts                              every state; replaces testdata/
//   node test/argocd/capture-fixtures.ts degraded-rollout-timed-out   the states up to that one; saves only it
//
// The policy is the sample (config/samples), applied server-side under Argo CD's
// field manager, as an Application would. Each capture is checked against the
// health status the state should have (with argocd-health-test --eval: Argo CD's
// own util/lua, built by build-argocd.sh), and the script
// ends by printing the health_test.yaml entries for the new fixtures: review the
// messages and update health_test.yaml beside them by hand. Takes ~3 minutes.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KubeClient } from '../../src/kube/client.ts';
import { argocdDir } from './argocd.ts';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const ARGOCD = join(ROOT, 'config', 'argocd', 'resource_customizations', 'authpolicy.io', 'AuthPolicy');
const SAMPLE = join(ROOT, 'config', 'samples', 'authpolicy_v1alpha1_authpolicy.yaml');
const NS = 'apps';

interface Policy {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec: Record<string, Record<string, unknown> | boolean>;
}
interface Health {
  status: string;
  message?: string;
}

const log = (msg: string): void => {
  console.log(`[capture] ${msg}`);
};
const runner = join(argocdDir('argocd-health-test'), 'argocd-health-test');
const sample = parse(await readFile(SAMPLE, 'utf8')) as Policy;

let cluster: Cluster | undefined;
let op: OperatorProcess | undefined;
const renewers: NodeJS.Timeout[] = [];
const out = await mkdtemp(join(tmpdir(), 'argocd-fixtures-'));
const captured: { file: string; health: Health }[] = [];

/** The sample with `change` merged into its spec, applied as Argo CD's server-side apply would. */
async function applyPolicy(c: Cluster, change: Record<string, Record<string, unknown>> = {}, name = sample.metadata.name): Promise<void> {
  const spec: Policy['spec'] = { ...sample.spec };
  for (const [k, v] of Object.entries(change)) spec[k] = { ...(spec[k] as Record<string, unknown> | undefined), ...v };
  const policy: Policy = { ...sample, metadata: { ...sample.metadata, name }, spec };
  await mustKubectl(c, ['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], { input: JSON.stringify(policy) });
}

/** Saves `kubectl get authpolicy <name> -o yaml` and checks the health check gives `want` for it. */
async function capture(c: Cluster, file: string, want: string, name = sample.metadata.name): Promise<void> {
  const yaml = await mustKubectl(c, ['get', 'authpolicy', name, '-o', 'yaml']);
  const path = join(out, file);
  await writeFile(path, yaml);
  const health = JSON.parse(execFileSync(runner, ['--eval', join(ARGOCD, 'health.lua'), path], { encoding: 'utf8' })) as Health;
  log(`${file}: ${health.status}: ${health.message ?? ''}`);
  if (health.status !== want) throw new Error(`${file}: health.lua says ${health.status}, the state is ${want}:\n${yaml}`);
  captured.push({ file, health });
}

async function startOp(c: Cluster): Promise<OperatorProcess> {
  op = startOperator({ kubeconfig: await operatorKubeconfig(c), args: ['--no-leader-elect'] });
  return op;
}
async function stopOp(): Promise<void> {
  await op?.stop();
  op = undefined;
}
const ready = (c: Cluster): Promise<unknown> => waitForCondition(c, 'cluster', 'Ready', (x) => x.status === 'True', 120_000);

/** A kubelet's Lease renewals from a clock `skew()` seconds off (as test/e2e/clock.test.ts simulates them). */
async function kubelet(c: Cluster, node: string, skew: () => number): Promise<void> {
  const client = KubeClient.fromOptions({ kubeconfig: await c.nodeKubeconfig(node) });
  const micro = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');
  await client.create(
    '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
    {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: node, namespace: 'kube-node-lease' },
      spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: micro(Date.now() + skew() * 1000) },
    },
    { fieldManager: 'kubelet' },
  );
  renewers.push(
    setInterval(() => {
      void client
        .mergePatch(
          `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`,
          { spec: { renewTime: micro(Date.now() + skew() * 1000) } },
          { fieldManager: 'kubelet' },
        )
        .catch(() => undefined);
    }, 1000),
  );
}

/** One state an Argo CD user would see, reached from the one before it. */
interface State {
  fixture: string;
  want: 'Healthy' | 'Progressing' | 'Degraded';
  title: string;
  /** the AuthPolicy to capture (default: the sample's) */
  policy?: string;
  /** drives the cluster into the state; false when it went by too fast to capture */
  enter: (c: Cluster) => Promise<boolean>;
  /** takes the cluster out of it, for the next state */
  leave?: (c: Cluster) => Promise<void>;
}

let skew = 120;
const states: State[] = [
  {
    fixture: 'progressing-not-observed.yaml',
    want: 'Progressing',
    title: 'applied before the operator runs: no status',
    enter: async (c) => {
      await applyPolicy(c);
      return true;
    },
  },
  {
    fixture: 'progressing-no-clock-data.yaml',
    want: 'Progressing',
    title: 'the operator reports before the first API-server Lease renewal: the clock area has no data yet',
    enter: async (c) => {
      await startOp(c);
      const first = await waitForCondition(c, 'cluster', 'ClockSynchronized', () => true);
      if (first.reason !== 'NoClockData') log(`(missed NoClockData: the first status already had ${first.reason})`);
      return first.reason === 'NoClockData';
    },
  },
  {
    fixture: 'healthy.yaml',
    want: 'Healthy',
    title: 'every area ready',
    enter: async (c) => {
      await ready(c);
      return true;
    },
  },
  {
    fixture: 'progressing-generation.yaml',
    want: 'Progressing',
    title: 'spec changed while the operator is down: observedGeneration < generation',
    enter: async (c) => {
      await stopOp();
      await applyPolicy(c, { clock: { maxSkew: '20s' } });
      return true;
    },
  },
  {
    fixture: 'progressing-rotation.yaml',
    want: 'Progressing',
    title: 'a new signing key kills a legacy token mounted by a Deployment whose rollout cannot finish (no kubelet)',
    enter: async (c) => {
      await mustKubectl(c, ['create', 'namespace', NS]);
      await apply(c, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: NS } });
      await apply(c, {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 'builder-token', namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'builder' } },
      });
      await apply(c, {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'builder', namespace: NS },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'builder' } },
          template: {
            metadata: { labels: { app: 'builder' } },
            spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 'token', secret: { secretName: 'builder-token' } }] },
          },
        },
      });
      await waitFor('secret apps/builder-token to get a token', async () =>
        Boolean((await getJson<{ data?: { token?: string } }>(c, ['secret', 'builder-token', '-n', NS]))?.data?.token),
      );
      // The pending pod mounts the legacy token Secret: that report is the bound-token story, not this one.
      await applyPolicy(c, { clock: { maxSkew: '20s' }, boundTokens: { reportLegacyMounts: false } });
      await c.restart({ newSigningKey: true });
      await startOp(c);
      await waitForCondition(
        c,
        'cluster',
        'WorkloadsRestarted',
        (x) => x.reason === 'RestartsPending' && /1 rollout\(s\) in progress/.test(x.message),
        120_000,
      );
      return true;
    },
  },
  {
    fixture: 'degraded-rollout-timed-out.yaml',
    want: 'Degraded',
    title: 'the same rollout past a 10 s rolloutTimeout: RolloutTimedOut until it finishes',
    enter: async (c) => {
      await applyPolicy(c, { clock: { maxSkew: '20s' }, boundTokens: { reportLegacyMounts: false }, legacyTokens: { rolloutTimeout: '10s' } });
      await waitForCondition(c, 'cluster', 'WorkloadsRestarted', (x) => x.reason === 'RolloutTimedOut', 120_000);
      return true;
    },
    leave: async (c) => {
      await mustKubectl(c, ['scale', 'deployment', 'builder', '-n', NS, '--replicas=0']);
      await waitForCondition(c, 'cluster', 'WorkloadsRestarted', (x) => x.reason === 'AllRestarted', 120_000);
      await ready(c);
    },
  },
  {
    fixture: 'degraded-token-controller.yaml',
    want: 'Degraded',
    title: 'the tokens controller cannot re-issue tokens: rotation refused',
    enter: async (c) => {
      await stopOp();
      await applyPolicy(c, { clock: { maxSkew: '20s' }, boundTokens: { reportLegacyMounts: false }, legacyTokens: { tokenControllerTimeout: '5s' } });
      await c.restart({ newSigningKey: true, tokensController: false });
      await startOp(c);
      await waitForCondition(c, 'cluster', 'LegacyTokensReady', (x) => x.reason === 'TokenControllerUnavailable', 120_000);
      return true;
    },
    leave: async (c) => {
      await c.startControllerManager({ tokensController: true });
      await ready(c);
    },
  },
  {
    fixture: 'degraded-clock-skew.yaml',
    want: 'Degraded',
    title: 'a kubelet whose clock is 2 minutes ahead',
    enter: async (c) => {
      await apply(c, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
      await kubelet(c, 'node-a', () => skew);
      await waitForCondition(c, 'cluster', 'ClockSynchronized', (x) => x.reason === 'ClockSkewDetected', 60_000);
      return true;
    },
    leave: async (c) => {
      skew = 0;
      await waitForCondition(c, 'cluster', 'ClockSynchronized', (x) => x.reason === 'ClocksInSync', 60_000);
      for (const t of renewers) clearInterval(t);
      await mustKubectl(c, ['delete', 'lease', 'node-a', '-n', 'kube-node-lease']);
      await mustKubectl(c, ['delete', 'node', 'node-a']);
      await ready(c);
    },
  },
  {
    fixture: 'degraded-node-authorizer.yaml',
    want: 'Degraded',
    title: 'restarted with --authorization-mode=RBAC and no legacy-binding fallback: kubelets would be forbidden',
    enter: async (c) => {
      await applyPolicy(c, {
        clock: { maxSkew: '20s' },
        boundTokens: { reportLegacyMounts: false },
        legacyTokens: { tokenControllerTimeout: '5s' },
        nodeAuthorization: { legacyBindingFallback: false },
      });
      await c.restart({ authorizationMode: 'RBAC' });
      await waitForCondition(c, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizerDisabled', 120_000);
      return true;
    },
  },
  {
    fixture: 'degraded-conflict.yaml',
    want: 'Degraded',
    title: 'a second, newer AuthPolicy: it takes no action',
    policy: 'cluster-b',
    enter: async (c) => {
      await applyPolicy(c, {}, 'cluster-b');
      await waitForCondition(c, 'cluster-b', 'Ready', (x) => x.reason === 'Conflict');
      return true;
    },
  },
];

// Named fixtures (with or without .yaml): run the states up to the last one named, save only those.
const named = process.argv.slice(2).map((a) => (a.endsWith('.yaml') ? a : `${a}.yaml`));
const last = named.length === 0 ? states.length - 1 : Math.max(...named.map((f) => states.findIndex((s) => s.fixture === f)));

try {
  const unknown = named.filter((f) => !states.some((s) => s.fixture === f));
  if (unknown.length > 0)
    throw new Error(`no state captures ${unknown.join(', ')}; the states are: ${states.map((s) => s.fixture.replace(/\.yaml$/, '')).join(', ')}`);
  cluster = await startCluster({ scheduler: false });
  const c = cluster;
  await installOperatorPrereqs(c);
  for (const [i, s] of states.slice(0, last + 1).entries()) {
    log(`${i + 1}. ${s.title}`);
    if (await s.enter(c)) await capture(c, s.fixture, s.want, s.policy);
    if (i < last) await s.leave?.(c);
  }

  // Replace the fixtures only once every state was captured (only the named ones, when named).
  const testdata = join(ARGOCD, 'testdata');
  const saved = captured.filter(({ file }) => named.length === 0 || named.includes(file));
  if (named.length === 0) for (const f of await readdir(testdata)) if (f.endsWith('.yaml')) await rm(join(testdata, f));
  for (const { file } of saved) await rename(join(out, file), join(testdata, file));
  const quote = (s: string): string => JSON.stringify(s);
  console.log(`\n# health_test.yaml entries for the new fixtures (check each status and message, then update ${join(ARGOCD, 'health_test.yaml')}):`);
  console.log('tests:');
  for (const { file, health } of saved) {
    console.log(`  - healthStatus:\n      status: ${health.status}\n      message: ${quote(health.message ?? '')}\n    inputPath: testdata/${file}`);
  }
} finally {
  for (const t of renewers) clearInterval(t);
  await stopOp();
  await cluster?.stop();
  await rm(out, { recursive: true, force: true });
}
