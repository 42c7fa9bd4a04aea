// Captures the Argo CD health check's fixtures (config/argocd/testdata/*.yaml)
// from a real control plane: starts the test harness, runs the operator from
// source, drives the AuthPolicy through each state an Argo CD user would see
// and saves `kubectl get authpolicy <name> -o yaml` verbatim (kubectl leaves
// managedFields out by default; nothing else is removed).
//
//   node test/argocd/capture-fixtures.ts
//
// The policy is the sample (config/samples), applied server-side under Argo CD's
// field manager, as an Application would. Each capture is checked against the
// health status the state should have (with lua-runner --eval), and the script
// ends by printing the health_test.yaml entries for the new fixtures: review the
// messages and update config/argocd/health_test.yaml by hand. Takes ~3 minutes.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KubeClient } from '../../src/kube/client.ts';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const ARGOCD = join(ROOT, 'config', 'argocd');
const SAMPLE = join(ROOT, 'config', 'samples', 'authpolicy_v1alpha1_authpolicy.yaml');
const NS = 'apps';

interface Policy { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: Record<string, Record<string, unknown> | boolean> }
interface Health { status: string; message?: string }

const log = (msg: string): void => { console.log(`[capture] ${msg}`); };
const runner = execFileSync('bash', [join(ROOT, 'test', 'argocd', 'build-lua-runner.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop() ?? '';
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
  await client.create('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node, namespace: 'kube-node-lease' },
    spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: micro(Date.now() + skew() * 1000) },
  }, { fieldManager: 'kubelet' });
  renewers.push(setInterval(() => {
    void client.mergePatch(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`, { spec: { renewTime: micro(Date.now() + skew() * 1000) } }, { fieldManager: 'kubelet' }).catch(() => undefined);
  }, 1000));
}

try {
  cluster = await startCluster({ scheduler: false });
  const c = cluster;
  await installOperatorPrereqs(c);

  log('1. applied before the operator runs: no status');
  await applyPolicy(c);
  await capture(c, 'progressing-not-observed.yaml', 'Progressing');

  log('2. the operator reports before the first API-server Lease renewal: the clock area has no data yet');
  await startOp(c);
  const first = await waitForCondition(c, 'cluster', 'ClockSynchronized', () => true);
  if (first.reason === 'NoClockData') await capture(c, 'progressing-no-clock-data.yaml', 'Progressing');
  else log(`(missed NoClockData: the first status already had ${first.reason})`);

  log('3. every area ready');
  await ready(c);
  await capture(c, 'healthy.yaml', 'Healthy');

  log('4. spec changed while the operator is down: observedGeneration < generation');
  await stopOp();
  await applyPolicy(c, { clock: { maxSkew: '20s' } });
  await capture(c, 'progressing-generation.yaml', 'Progressing');

  log('5. a new signing key kills a legacy token mounted by a Deployment whose rollout cannot finish (no kubelet)');
  await mustKubectl(c, ['create', 'namespace', NS]);
  await apply(c, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: NS } });
  await apply(c, { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token', metadata: { name: 'builder-token', namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'builder' } } });
  await apply(c, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'builder', namespace: NS },
    spec: { replicas: 1, selector: { matchLabels: { app: 'builder' } }, template: { metadata: { labels: { app: 'builder' } }, spec: { containers: [{ name: 'main', image: 'busybox' }], volumes: [{ name: 'token', secret: { secretName: 'builder-token' } }] } } },
  });
  await waitFor('secret apps/builder-token to get a token', async () => Boolean((await getJson<{ data?: { token?: string } }>(c, ['secret', 'builder-token', '-n', NS]))?.data?.token));
  // The pending pod mounts the legacy token Secret: that report is the bound-token story, not this one.
  await applyPolicy(c, { clock: { maxSkew: '20s' }, boundTokens: { reportLegacyMounts: false } });
  await c.restart({ newSigningKey: true });
  await startOp(c);
  await waitForCondition(c, 'cluster', 'WorkloadsRestarted', (x) => x.reason === 'RestartsPending' && /1 rollout\(s\) in progress/.test(x.message), 120_000);
  await capture(c, 'progressing-rotation.yaml', 'Progressing');
  await mustKubectl(c, ['scale', 'deployment', 'builder', '-n', NS, '--replicas=0']);
  await waitForCondition(c, 'cluster', 'WorkloadsRestarted', (x) => x.reason === 'AllRestarted', 120_000);
  await ready(c);

  log('6. the tokens controller cannot re-issue tokens: rotation refused');
  await stopOp();
  await applyPolicy(c, { clock: { maxSkew: '20s' }, boundTokens: { reportLegacyMounts: false }, legacyTokens: { tokenControllerTimeout: '5s' } });
  await c.restart({ newSigningKey: true, tokensController: false });
  await startOp(c);
  await waitForCondition(c, 'cluster', 'LegacyTokensReady', (x) => x.reason === 'TokenControllerUnavailable', 120_000);
  await capture(c, 'degraded-token-controller.yaml', 'Degraded');
  await c.startControllerManager({ tokensController: true });
  await ready(c);

  log('7. a kubelet whose clock is 2 minutes ahead');
  let skew = 120;
  await apply(c, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
  await kubelet(c, 'node-a', () => skew);
  await waitForCondition(c, 'cluster', 'ClockSynchronized', (x) => x.reason === 'ClockSkewDetected', 60_000);
  await capture(c, 'degraded-clock-skew.yaml', 'Degraded');
  skew = 0;
  await waitForCondition(c, 'cluster', 'ClockSynchronized', (x) => x.reason === 'ClocksInSync', 60_000);
  for (const t of renewers) clearInterval(t);
  await mustKubectl(c, ['delete', 'lease', 'node-a', '-n', 'kube-node-lease']);
  await mustKubectl(c, ['delete', 'node', 'node-a']);
  await ready(c);

  log('8. restarted with --authorization-mode=RBAC and no legacy-binding fallback: kubelets would be forbidden');
  await applyPolicy(c, { clock: { maxSkew: '20s' }, boundTokens: { reportLegacyMounts: false }, legacyTokens: { tokenControllerTimeout: '5s' }, nodeAuthorization: { legacyBindingFallback: false } });
  await c.restart({ authorizationMode: 'RBAC' });
  await waitForCondition(c, 'cluster', 'NodeAuthorizationReady', (x) => x.reason === 'NodeAuthorizerDisabled', 120_000);
  await capture(c, 'degraded-node-authorizer.yaml', 'Degraded');

  log('9. a second, newer AuthPolicy: it takes no action');
  await applyPolicy(c, {}, 'cluster-b');
  await waitForCondition(c, 'cluster-b', 'Ready', (x) => x.reason === 'Conflict');
  await capture(c, 'degraded-conflict.yaml', 'Degraded', 'cluster-b');

  // Replace the fixtures only once every state was captured.
  const testdata = join(ARGOCD, 'testdata');
  for (const f of await readdir(testdata)) if (f.endsWith('.yaml')) await rm(join(testdata, f));
  for (const { file } of captured) await rename(join(out, file), join(testdata, file));
  const quote = (s: string): string => JSON.stringify(s);
  console.log('\n# health_test.yaml entries for the new fixtures (check each status and message, then update config/argocd/health_test.yaml):');
  console.log('tests:');
  for (const { file, health } of captured) {
    console.log(`  - healthStatus:\n      status: ${health.status}\n      message: ${quote(health.message ?? '')}\n    inputPath: testdata/${file}`);
  }
} finally {
  for (const t of renewers) clearInterval(t);
  await stopOp();
  await cluster?.stop();
  await rm(out, { recursive: true, force: true });
}
