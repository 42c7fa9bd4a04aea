// The dead-legacy-token incident with real containers: Pods on a real node (kubelet + containerd + runc)
// mount a legacy token Secret four ways (a Secret volume, an env variable, a projected source, a subPath
// mount) and call the API server with it every 2 s, logging the status. A new signing key makes every call
// 401; the operator rotates the Secret and restarts its Deployments, and the new Pods' calls get 200 — read
// from the containers' own logs. A twin of each Deployment opted out of restarts shows what the kubelet
// alone does: a volume (plain or projected) is refreshed in place and recovers; env and subPath never do.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';
import { addRealNode, type RealNode } from '../node/real-node.ts';
import { CallRecorder, STYLES, callerToken, createCaller, tokencallDeployment, type Call, type Style } from '../node/tokencall.ts';

const test = suite('real node: dead legacy tokens');
let cluster: Cluster;
let node: RealNode;
let op: OperatorProcess | undefined;
const NS = 'calls';
const SECRET = 'caller-token';
/** the styles whose Pods see a rotated Secret without a restart (the kubelet refreshes the volume) */
const REFRESHED: Style[] = ['volume', 'projected'];
const restarted = (s: Style): string => `by-${s}`;
const kept = (s: Style): string => `kept-${s}`;
const ALL = STYLES.flatMap((s) => [restarted(s), kept(s)]);
let calls: CallRecorder | undefined;
const rec = (): CallRecorder => calls as CallRecorder;
const podsOf = (app: string): string[] => rec().podsOf(app);
const callsOf = (app: string): Call[] => rec().callsOf(app);
const firstCall = (app: string, status: number, since: number, timeoutMs: number, pods?: string[]): Promise<Call> =>
  rec().firstCall(app, status, since, timeoutMs, pods);

const tokenOf = (): Promise<string> => callerToken(cluster, NS, SECRET);

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const measured: string[] = [];

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  node = await addRealNode(cluster, { name: 'real-1' });
  await createCaller(cluster, NS, SECRET);
  for (const style of STYLES) {
    await apply(cluster, tokencallDeployment(cluster, node, { name: restarted(style), namespace: NS, secret: SECRET, style }));
    await apply(cluster, tokencallDeployment(cluster, node, { name: kept(style), namespace: NS, secret: SECRET, style, optOut: true }));
  }
  calls = new CallRecorder(cluster, node, NS);
});
test.after(async () => {
  calls?.stop();
  await op?.stop();
  const left = await (node as RealNode | undefined)?.stop();
  if (left) assert.equal(left, { processes: [], cgroups: [], mounts: [] }, 'the real node left nothing behind');
  await (cluster as Cluster | undefined)?.stop();
  if (measured.length) console.log(`measured on the real node:\n  ${measured.join('\n  ')}`);
});

let keyChangedAt = 0;

test('1. every mounting style authenticates with the legacy token from a real container (200)', async () => {
  const from = Date.now();
  for (const app of ALL) await firstCall(app, 200, from - 120_000, 180_000);
});

test('2. a new signing key: every container, whatever the mounting, gets 401', async () => {
  await cluster.restart({ newSigningKey: true });
  keyChangedAt = Date.now();
  for (const app of ALL) {
    const c = await firstCall(app, 401, keyChangedAt - 30_000, 60_000);
    assert.is(c.status, 401, app);
  }
});

test('3. the operator rotates the Secret and restarts the Deployments; their new Pods get 200 (from their own log)', async () => {
  const before = await tokenOf();
  const oldPods = new Map(STYLES.map((s) => [s, new Set(podsOf(restarted(s)))] as const));
  const opStarted = Date.now();
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens: { maxConcurrentRestarts: 4 } },
  });
  const rotatedAt = await waitFor(
    `secret ${NS}/${SECRET} to hold a new token`,
    async () => {
      const t = await tokenOf();
      return t !== '' && t !== before ? Date.now() : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  measured.push(`operator started → Secret holds a new token: ${secs(rotatedAt - opStarted)}`);
  for (const s of STYLES) {
    const app = restarted(s);
    const old = oldPods.get(s) ?? new Set<string>();
    const newPod = await waitFor(`deployment ${app} to have a new Pod`, () => podsOf(app).find((p) => !old.has(p)), { timeoutMs: 240_000, intervalMs: 1000 });
    const ok = await firstCall(app, 200, rotatedAt - 60_000, 240_000, [newPod]);
    const dead = callsOf(app).filter((c) => c.status === 401 && c.at >= keyChangedAt - 30_000);
    assert.ok(dead.length > 0, `${app} logged 401s after the key changed`);
    assert.ok(
      dead.every((c) => old.has(c.pod) || c.at < ok.at),
      `${app}: no 401 from the new Pod ${newPod} once it had a 200`,
    );
    measured.push(
      `${s}: 401 from ${new Date(dead[0]?.at ?? 0).toISOString()}; new Pod ${newPod} first 200 at ${new Date(ok.at).toISOString()} (${secs(ok.at - rotatedAt)} after the rotation)`,
    );
  }
});

test('4. without a restart: a Secret volume (plain or projected) recovers by the kubelet refresh; env and subPath stay 401', async () => {
  const rotation = await waitFor('the rotation time', async () => {
    const s = await getJson<{ metadata: { annotations?: Record<string, string> } }>(cluster, ['secret', SECRET, '-n', NS]);
    const at = s?.metadata.annotations?.['authpolicy.io/rotated-at'];
    return at ? Date.parse(at) : undefined;
  });
  let lastRecovery = rotation;
  for (const s of REFRESHED) {
    const app = kept(s);
    assert.is(podsOf(app).length, 1, `${app} was not restarted`);
    const ok = await firstCall(app, 200, rotation, 240_000);
    const lastDead = callsOf(app)
      .filter((c) => c.status === 401 && c.at < ok.at)
      .pop();
    assert.ok(lastDead, `${app} had 401s before it recovered`);
    lastRecovery = Math.max(lastRecovery, ok.at);
    const firstDead = callsOf(app).find((c) => c.status === 401 && c.at >= keyChangedAt - 30_000);
    measured.push(
      `${s}, not restarted: 401 for ${secs(ok.at - (firstDead?.at ?? keyChangedAt))} (first 401 to first 200), 200 again ${secs(ok.at - rotation)} after the rotation (kubelet refresh)`,
    );
  }
  // env and subPath: a value fixed at container start, still 401 well after the volumes recovered.
  const until = Math.max(lastRecovery, rotation + 90_000) + 10_000;
  await waitFor(
    `the kept env and subPath Pods to log calls past ${new Date(until).toISOString()}`,
    () => (['env', 'subpath'] as const).every((s) => callsOf(kept(s)).some((c) => c.at > until)),
    { timeoutMs: 240_000, intervalMs: 1000 },
  );
  for (const s of ['env', 'subpath'] as const) {
    const app = kept(s);
    assert.is(podsOf(app).length, 1, `${app} was not restarted`);
    const after = callsOf(app).filter((c) => c.at > keyChangedAt);
    assert.not.ok(
      after.some((c) => c.status === 200),
      `${app}: no 200 after the key changed`,
    );
    const last = after.pop();
    assert.is(last?.status, 401, `${app} still gets 401`);
    measured.push(
      `${s}, not restarted: still 401 ${secs((last?.at ?? 0) - keyChangedAt)} after the key changed (${secs((last?.at ?? 0) - rotation)} after the rotation)`,
    );
  }
});

test.run();
