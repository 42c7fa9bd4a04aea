// The operator managed by a real Argo CD (v3.2.11: its application-controller and
// repo-server built from the Go module proxy; test/argocd/), as docs/argocd.md
// tells a new user to set it up: the health check patched into argocd-cm,
// config/argocd/application.yaml applied from a fork (a Git repository on
// loopback holding the project's tree, its repoURL set), and an Application of
// the user's own owning a workload the operator restarts, synced client-side,
// server-side and with the docs' ignoreDifferences. Every command and snippet
// the docs show is read from docs/argocd.md and run here as written, except the
// `argocd admin` line: the CLI is not built, so Argo CD's own util/lua evaluates
// the script from the live argocd-cm on the live policy instead. The operator
// runs from source under the ServiceAccount Argo CD synced from config/default,
// on an RBAC-only control plane (the incidents' fresh cluster), with kwok
// running the pods. Runs beside other e2e files: its own control plane, ports
// and temp dirs.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { startArgoCD, ARGOCD_NAMESPACE, type ArgoCD } from '../argocd/argocd.ts';
import { startGitServer, type GitRepo } from '../argocd/git-server.ts';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { addKwokNode, startKwok } from '../cluster/kwok.ts';
import { metricValue, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import type { ManagedProcess } from '../cluster/processes.ts';
import { getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('Argo CD: the docs followed to the letter');
const run = promisify(execFile);
let cluster: Cluster;
let kwok: ManagedProcess | undefined;
let argo: ArgoCD | undefined;
let git: GitRepo;
let op: OperatorProcess | undefined;

const SAMPLE = 'config/samples/authpolicy_v1alpha1_authpolicy.yaml';
const NODE = 'worker-1';
const APPS = 'apps';
const HEALTH_KEY = 'resource.customizations.health.authpolicy.io_AuthPolicy';

interface Health {
  status?: string;
  message?: string;
}
interface Resource {
  group?: string;
  kind: string;
  namespace?: string;
  name: string;
  status?: string;
  health?: Health;
}
interface App {
  metadata: { annotations?: Record<string, string> };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: Health;
    resources?: Resource[];
    reconciledAt?: string;
    conditions?: { type: string; message: string }[];
    operationState?: {
      phase?: string;
      message?: string;
      syncResult?: { revision?: string; resources?: { group?: string; kind: string; name: string; status?: string; message?: string; syncPhase?: string }[] };
    };
  };
}
interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Policy {
  metadata: { generation: number; annotations?: Record<string, string> };
  spec: {
    nodeAuthorization: Record<string, unknown>;
    legacyTokens: Record<string, unknown>;
    clock: Record<string, unknown>;
    boundTokens?: Record<string, unknown>;
  };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** The fenced blocks of docs/argocd.md in a language, e.g. 'sh' or 'yaml', without the indentation of a list item's block. */
async function docBlocks(lang: string): Promise<string[]> {
  const text = await readFile(join(ROOT, 'docs', 'argocd.md'), 'utf8');
  return [...text.matchAll(new RegExp('^( *)```' + lang + '\\n([\\s\\S]*?)^ *```', 'gm'))].map(([, indent = '', body = '']) =>
    body
      .split('\n')
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join('\n'),
  );
}
/** The one docs command that starts with `prefix`, split into kubectl's arguments. */
async function docCommand(prefix: string): Promise<string[]> {
  const lines = (await docBlocks('sh')).flatMap((b) => b.split('\n')).filter((l) => l.startsWith(prefix));
  assert.is(lines.length, 1, `docs/argocd.md shows one command starting "${prefix}"`);
  return (lines[0] ?? '').split(/\s+/).filter(Boolean);
}
/** Runs a docs kubectl command in the fork's working tree, as its user would from their clone. */
async function runDocCommand(prefix: string): Promise<string> {
  const [cmd, ...args] = await docCommand(prefix);
  assert.is(cmd, 'kubectl');
  const r = await run(join(cluster.binDir, 'kubectl'), [`--kubeconfig=${cluster.adminKubeconfig}`, ...args], { cwd: git.dir });
  return r.stdout;
}

const app = async (name: string): Promise<App | undefined> => await getJson<App>(cluster, ['application', name, '-n', ARGOCD_NAMESPACE]);
const policy = async (): Promise<Policy | undefined> => await getJson<Policy>(cluster, ['authpolicy', 'cluster']);
const describe = (c: Condition): string => `${c.type} is ${c.status} (${c.reason ?? ''}): ${c.message ?? ''}`;

async function diagnostics(): Promise<string> {
  const apps = await Promise.all(['authpolicy-operator', 'authpolicy-policy', 'workloads'].map(async (n) => JSON.stringify((await app(n))?.status ?? {})));
  return `\napplications: ${apps.join('\n')}\ncontroller:\n${(await argo?.logs('application-controller', 20)) ?? ''}`;
}

/** Waits until an Application satisfies `ok`; on timeout, says what it was and what Argo CD logged. */
async function waitApp(name: string, what: string, ok: (a: App) => boolean, timeoutMs = 120_000): Promise<App> {
  let last: App | undefined;
  try {
    return await waitFor(
      `${name}: ${what}`,
      async () => {
        last = await app(name);
        return last && ok(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${name} status: ${JSON.stringify(last?.status)}${await diagnostics()}`, { cause: err });
  }
}

/** Synced to `revision` by a sync that succeeded (automated sync after a refresh: what a Git webhook triggers). */
async function syncedTo(name: string, revision: string, timeoutMs = 180_000): Promise<App> {
  await argo?.refresh(name);
  return await waitApp(
    name,
    `Synced to ${revision.slice(0, 8)} by a successful sync`,
    (a) =>
      a.status?.sync?.status === 'Synced' &&
      a.status.sync.revision === revision &&
      a.status.operationState?.phase === 'Succeeded' &&
      a.status.operationState.syncResult?.revision === revision,
    timeoutMs,
  );
}

/** Asks Argo CD to compare again now and returns the Application once that comparison is done. */
async function compared(name: string): Promise<App> {
  const before = (await app(name))?.status?.reconciledAt ?? '';
  await argo?.refresh(name);
  return await waitApp(name, 'a fresh comparison', (a) => !a.metadata.annotations?.['argocd.argoproj.io/refresh'] && (a.status?.reconciledAt ?? '') >= before);
}

const policyHealth = (a: App | undefined): Health | undefined => a?.status?.resources?.find((r) => r.kind === 'AuthPolicy')?.health;

/** Waits until Argo CD shows the AuthPolicy with this health; returns the health and the live policy it judged. */
async function waitHealth(
  status: string,
  what: string,
  ok: (h: Health, p: Policy) => boolean = () => true,
  timeoutMs = 120_000,
): Promise<{ health: Health; live: Policy }> {
  let seen: { health: Health; live: Policy } | undefined;
  let refreshed = Date.now();
  return await waitFor(
    `Argo CD to show the AuthPolicy ${status}: ${what}`,
    async () => {
      const health = policyHealth(await app('authpolicy-policy'));
      const live = await policy();
      if (!health || !live) return undefined;
      seen = { health, live };
      if (health.status === status && ok(health, live)) return seen;
      // Argo CD re-reads an Application when a resource's health status changes, not its message (argocd-cm's
      // ignoreResourceUpdates skips /status): a new message under the same status shows at the next periodic
      // reconciliation (2-3 minutes) or a Refresh, as a user clicks it.
      if (Date.now() - refreshed > 10_000) {
        refreshed = Date.now();
        await argo?.refresh('authpolicy-policy');
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 500 },
  ).catch(async (err: unknown) => {
    throw new Error(
      `${(err as Error).message}\nlast health: ${JSON.stringify(seen?.health)}\nlive status: ${JSON.stringify(seen?.live.status)}${await diagnostics()}`,
    );
  });
}

/**
 * What Argo CD computes for the live policy with the check installed in the cluster: the docs' command writes
 * the live AuthPolicy to a file, and Argo CD's own util/lua evaluates the script read back from the live argocd-cm
 * on it (what the docs' `argocd admin settings resource-overrides health … --load-cluster-settings` does; the
 * e2e builds the application-controller and repo-server, not the CLI).
 */
async function adminHealth(): Promise<Health> {
  const [get, ...args] = await docCommand('kubectl get authpolicy cluster -o yaml >');
  assert.is(get, 'kubectl');
  const file = join(cluster.dir, args.pop() ?? '');
  await writeFile(file, await mustKubectl(cluster, args.slice(0, -1)));
  const [cli, ...argocdArgs] = await docCommand('argocd admin settings resource-overrides health');
  assert.is(cli, 'argocd');
  assert.ok(
    argocdArgs.includes('--load-cluster-settings') && argocdArgs.includes('argocd'),
    `the docs' command reads argocd-cm from the cluster: ${argocdArgs.join(' ')}`,
  );
  const cm = await getJson<{ data?: Record<string, string> }>(cluster, ['configmap', 'argocd-cm', '-n', ARGOCD_NAMESPACE]);
  const script = join(cluster.dir, 'health-from-argocd-cm.lua');
  await writeFile(script, cm?.data?.[HEALTH_KEY] ?? '');
  const h = await argo?.evalHealth(script, file);
  return { status: h?.status, message: h?.message };
}

/** Argo CD's view agrees with its own CLI on the same live object (read again until both saw the same generation and conditions). */
async function assertAdminAgrees(): Promise<void> {
  // What health.lua reads; the rest of the status (clock samples, counts) changes more often than it matters here.
  const judged = async (): Promise<string> => {
    const p = await policy();
    return JSON.stringify([p?.metadata.generation, p?.status?.observedGeneration, p?.status?.conditions]);
  };
  await waitFor(
    "Argo CD's util/lua on the live policy to agree with the application-controller",
    async () => {
      const before = await judged();
      const fromAdmin = JSON.stringify(await adminHealth());
      const h = policyHealth(await app('authpolicy-policy'));
      const fromController = JSON.stringify({ status: h?.status, message: h?.message });
      if (before !== (await judged())) throw new Error('the policy changed while it was read');
      if (fromAdmin !== fromController) {
        await argo?.refresh('authpolicy-policy'); // the message may be stale (see waitHealth)
        throw new Error(`util/lua says ${fromAdmin}, the application-controller ${fromController}`);
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
}

/** The sample policy in the fork, with `edit` applied to its parsed document. */
async function commitPolicy(message: string, edit: (doc: Policy) => void): Promise<string> {
  const doc = parse(await git.read(SAMPLE)) as Policy;
  edit(doc);
  return await git.commit(message, { [SAMPLE]: stringify(doc) });
}

test.before(async () => {
  cluster = await startCluster({ authorizationMode: 'RBAC' });
  kwok = startKwok(cluster);
  await addKwokNode(cluster, NODE);
  argo = await startArgoCD(cluster);
  // The user's fork: the project's tree (config/ and the crds/ it builds from).
  git = await startGitServer(ROOT, ['crds', 'config']);
});
test.after(async () => {
  await op?.stop();
  await argo?.stop();
  await (git as GitRepo | undefined)?.stop();
  await kwok?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

test('install as the docs say: config/default syncs CRD first, the policy syncs, Progressing until the operator reports, then Healthy', async () => {
  // 1. The health check into argocd-cm, with the docs' command.
  await runDocCommand('kubectl -n argocd patch configmap argocd-cm');
  const cm = await getJson<{ data: Record<string, string> }>(cluster, ['configmap', 'argocd-cm', '-n', ARGOCD_NAMESPACE]);
  const lua = await readFile(join(ROOT, 'config/argocd/resource_customizations/authpolicy.io/AuthPolicy/health.lua'), 'utf8');
  assert.ok(cm?.data[HEALTH_KEY] === lua, 'argocd-cm holds health.lua');
  // 2. The Applications, their repoURL set to the fork (the docs' one edit), committed and applied.
  const apps = (await git.read('config/argocd/application.yaml')).replaceAll('https://github.com/example/authpolicy-operator.git', git.url);
  const head = await git.commit('point the Applications at this fork', { 'config/argocd/application.yaml': apps });
  await runDocCommand('kubectl -n argocd apply -f config/argocd/application.yaml');

  const operator = await syncedTo('authpolicy-operator', head);
  // Waves: the CRD (-1) was applied before the namespace, RBAC and Deployment (0).
  const order = (operator.status?.operationState?.syncResult?.resources ?? []).map((r) => r.kind);
  const crdAt = order.indexOf('CustomResourceDefinition');
  assert.ok(crdAt >= 0, `the CRD synced: ${order.join(', ')}`);
  for (const kind of ['Namespace', 'ServiceAccount', 'ClusterRole', 'Deployment'])
    assert.ok(order.indexOf(kind) > crdAt, `${kind} after the CRD (wave -1 first): ${order.join(', ')}`);
  for (const r of operator.status?.resources ?? []) assert.is(r.status, 'Synced', `${r.kind} ${r.name}`);

  await syncedTo('authpolicy-policy', head);
  // No operator yet: Argo CD waits for it, with the docs' message.
  const waiting = await waitHealth('Progressing', 'no status yet', (h) => h.message === 'Waiting for authpolicy-operator to report status for generation 1');
  assert.is(waiting.live.status?.observedGeneration, undefined);
  await assertAdminAgrees();

  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  const healthy = await waitHealth('Healthy', 'Ready', (h, p) => p.status?.observedGeneration === p.metadata.generation && Boolean(h.message));
  const ready = healthy.live.status?.conditions?.find((c) => c.type === 'Ready');
  assert.is(healthy.health.message, `Ready: ${ready?.message ?? ''}`);
  // The RBAC-only cluster's kubelets work through the fallback binding the sample policy allows.
  assert.is(healthy.live.status?.conditions?.find((c) => c.type === 'NodeAuthorizationReady')?.reason, 'LegacyBindingFallback');
  await assertAdminAgrees();
});

test('no drift after the operator writes status: both Applications stay Synced', async () => {
  for (const name of ['authpolicy-operator', 'authpolicy-policy']) {
    const a = await compared(name);
    assert.is(a.status?.sync?.status, 'Synced', `${name}: ${JSON.stringify(a.status?.resources?.filter((r) => r.status !== 'Synced'))}`);
  }
});

/**
 * The Application that owns the workloads (not in the docs' files: a user's own): syncing with Argo CD's default
 * client-side apply, with ServerSideApply=true, or with the docs' ignoreDifferences snippet merged in.
 */
async function workloadsApp(mode: 'client-side' | 'server-side' | 'docs'): Promise<string> {
  const spec: Record<string, unknown> = {
    project: 'default',
    source: { repoURL: git.url, targetRevision: 'main', path: APPS },
    destination: { server: 'https://kubernetes.default.svc' },
    syncPolicy: { automated: { prune: true } },
  };
  if (mode === 'server-side') spec.syncPolicy = { automated: { prune: true }, syncOptions: ['ServerSideApply=true'] };
  if (mode === 'docs') {
    const blocks = (await docBlocks('yaml')).filter((b) => b.includes('ignoreDifferences'));
    assert.is(blocks.length, 1, 'docs/argocd.md shows one ignoreDifferences snippet');
    const snippet = parse(blocks[0] ?? '') as { spec: { ignoreDifferences: unknown; syncPolicy: { syncOptions: string[] } } };
    spec.ignoreDifferences = snippet.spec.ignoreDifferences;
    spec.syncPolicy = { automated: { prune: true }, syncOptions: snippet.spec.syncPolicy.syncOptions };
  }
  return JSON.stringify({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name: 'workloads', namespace: ARGOCD_NAMESPACE }, spec });
}

interface Workload {
  metadata: { generation: number; annotations?: Record<string, string> };
  spec: { template: { metadata?: { annotations?: Record<string, string> } } };
}
const web = async (): Promise<Workload | undefined> => await getJson<Workload>(cluster, ['deployment', 'web', '-n', APPS]);
const restartedAt = async (): Promise<string | undefined> => (await web())?.spec.template.metadata?.annotations?.['authpolicy.io/restartedAt'];
let firstRestart: string | undefined;

test('a rotation restarts a workload an Application owns: Progressing while it rolls, no drift and a sync keeps the restart, Healthy after', async () => {
  const manifests = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APPS } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: APPS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', volumeMounts: [{ name: 'token', mountPath: '/var/run/token' }] }],
            volumes: [{ name: 'token', secret: { secretName: 'builder-token' } }],
          },
        },
      },
    },
  ];
  const head = await git.commit('the web workload', { [`${APPS}/web.yaml`]: manifests.map((m) => stringify(m)).join('---\n') });
  await mustKubectl(cluster, ['apply', '-f', '-'], { input: await workloadsApp('client-side') });
  await syncedTo('workloads', head);
  // The legacy token Secret web mounts (not in Git: the tokens controller writes its data).
  await mustKubectl(cluster, ['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 'builder-token', namespace: APPS, annotations: { 'kubernetes.io/service-account.name': 'default' } },
    }),
  });
  await waitFor(
    'the tokens controller to fill apps/builder-token',
    async () => Boolean((await getJson<{ data?: { token?: string } }>(cluster, ['secret', 'builder-token', '-n', APPS]))?.data?.token),
    { timeoutMs: 120_000 },
  );
  await mustKubectl(cluster, ['rollout', 'status', 'deployment/web', '-n', APPS, '--timeout=120s']);
  // A pod mounting a legacy token Secret is a finding of its own (the sample policy reports them): Degraded.
  await waitHealth('Degraded', 'web mounts a legacy token Secret', (h) =>
    /BoundTokensHealthy is False \(LegacyTokensMounted\): .*apps\/web-[^ ]* \(builder-token\)/.test(h.message ?? ''),
  );
  await assertAdminAgrees();
  // The owner accepts those mounts for now and says so in Git: Healthy again, and a rotation can show as Progressing.
  await edit('legacy mounts accepted', (d) => (d.spec.boundTokens = { reportLegacyMounts: false }));
  // The node takes no new pods for now, so the restart's rollout stays in progress where Argo CD can see it.
  await mustKubectl(cluster, ['cordon', NODE]);
  await mustKubectl(cluster, [
    'patch',
    'secret',
    'builder-token',
    '-n',
    APPS,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { token: Buffer.from('not-a-valid-token').toString('base64') } }),
  ]);

  const rolling = await waitHealth(
    'Progressing',
    'the restart of web under way',
    (h) => /WorkloadsRestarted is False \(RestartsPending\): .*deployment\/apps\/web/.test(h.message ?? ''),
    180_000,
  );
  const restarts = rolling.live.status?.conditions?.find((c) => c.type === 'WorkloadsRestarted');
  assert.ok(restarts && rolling.health.message?.includes(describe(restarts)), `the message names the condition: ${rolling.health.message ?? ''}`);
  await assertAdminAgrees();
  firstRestart = await restartedAt();
  assert.ok(firstRestart, 'web restarted by the operator');

  // Argo CD shows no drift on web after the operator's restart, however its Application syncs: the restart's
  // fields belong to the operator's field manager, not to what Argo CD applied.
  for (const mode of ['client-side', 'server-side', 'docs'] as const) {
    await mustKubectl(cluster, ['apply', '-f', '-'], { input: await workloadsApp(mode) });
    const a = await compared('workloads');
    const drift = a.status?.resources?.filter((r) => r.status !== 'Synced');
    assert.is(a.status?.sync?.status, 'Synced', `${mode}: drift on ${JSON.stringify(drift)}`);
  }
  // A sync of web (what a commit or selfHeal starts) leaves the restart in place.
  const revision = await git.head();
  await mustKubectl(cluster, [
    'patch',
    'application',
    'workloads',
    '-n',
    ARGOCD_NAMESPACE,
    '--type=merge',
    '-p',
    JSON.stringify({ operation: { initiatedBy: { username: 'e2e' }, sync: { revision } } }),
  ]);
  await waitApp(
    'workloads',
    "the e2e's sync to succeed",
    (a) => a.status?.operationState?.phase === 'Succeeded' && JSON.stringify(a.status.operationState).includes('"username":"e2e"'),
  );
  assert.is(await restartedAt(), firstRestart, 'the sync kept the restart');

  await mustKubectl(cluster, ['uncordon', NODE]);
  const healthy = await waitHealth('Healthy', 'the rollout done', () => true, 180_000);
  assert.is(healthy.live.status?.conditions?.find((c) => c.type === 'WorkloadsRestarted')?.status, 'True');
  assert.is(await restartedAt(), firstRestart, 'restarted once');
  for (const name of ['authpolicy-operator', 'authpolicy-policy', 'workloads']) assert.is((await compared(name)).status?.sync?.status, 'Synced', name);
});

test('an operator restart changes nothing Argo CD sees: all Synced, Healthy, no second restart', async () => {
  const generation = (await web())?.metadata.generation;
  await op?.stop();
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
  const restarted = op;
  await waitFor('the new operator to reconcile the policy (its condition metrics)', async () => (await restarted.metrics()).includes('policy="cluster"'), {
    timeoutMs: 120_000,
  });
  await waitHealth('Healthy', 'after the operator restart');
  for (const name of ['authpolicy-operator', 'authpolicy-policy', 'workloads']) assert.is((await compared(name)).status?.sync?.status, 'Synced', name);
  assert.is(await restartedAt(), firstRestart, 'not restarted again');
  assert.is((await web())?.metadata.generation, generation, "web's spec unchanged");
});

/** Commits an edit of the policy, waits for Argo CD to sync it and the operator to report Healthy on the new generation. */
async function edit(what: string, change: (doc: Policy) => void): Promise<Policy> {
  const head = await commitPolicy(what, change);
  await syncedTo('authpolicy-policy', head);
  const { live } = await waitHealth('Healthy', what, (_h, p) => p.status?.observedGeneration === p.metadata.generation);
  return live;
}

test('edits in Git take effect through sync: narrow and widen a defaulted list, change a duration', async () => {
  let live = await edit('narrow rotateOn', (d) => (d.spec.legacyTokens.rotateOn = ['StaleCA']));
  assert.equal(live.spec.legacyTokens.rotateOn, ['StaleCA']);
  live = await edit('widen rotateOn', (d) => {
    d.spec.legacyTokens.rotateOn = ['InvalidToken', 'StaleCA', 'MaxAge'];
    d.spec.legacyTokens.maxAge = '720h';
  });
  assert.equal(live.spec.legacyTokens.rotateOn, ['InvalidToken', 'StaleCA', 'MaxAge']);
  live = await edit('rotateOn removed: the default again', (d) => {
    delete d.spec.legacyTokens.rotateOn;
    delete d.spec.legacyTokens.maxAge;
  });
  assert.equal(live.spec.legacyTokens.rotateOn, ['InvalidToken', 'StaleCA']);
  assert.is(live.spec.legacyTokens.maxAge, undefined);
  live = await edit('maxSkew 30s to 45s', (d) => (d.spec.clock.maxSkew = '45s'));
  assert.is(live.spec.clock.maxSkew, '45s');
});

test('a real fault is Degraded with the operator message: the legacy binding fallback off on an RBAC-only API server', async () => {
  const head = await commitPolicy('fallback off', (d) => (d.spec.nodeAuthorization.legacyBindingFallback = false));
  await syncedTo('authpolicy-policy', head);
  const degraded = await waitHealth(
    'Degraded',
    'NodeAuthorizerDisabled',
    (h, p) => p.status?.observedGeneration === p.metadata.generation && /NodeAuthorizerDisabled/.test(h.message ?? ''),
  );
  const c = degraded.live.status?.conditions?.find((x) => x.type === 'NodeAuthorizationReady');
  assert.ok(c);
  assert.is(degraded.health.message, describe(c));
  assert.match(degraded.health.message ?? '', /--authorization-mode=Node,RBAC/);
  await assertAdminAgrees();
  await edit('fallback on again', (d) => (d.spec.nodeAuthorization.legacyBindingFallback = true));
  await assertAdminAgrees();
});

test('a bad policy in Git: the sync fails naming the field, the last good policy keeps working, the fix recovers', async () => {
  const good = await policy();
  const bad = await commitPolicy('maxSkew out of range', (d) => (d.spec.clock.maxSkew = '90s'));
  await argo?.refresh('authpolicy-policy');
  const failed = await waitApp(
    'authpolicy-policy',
    'the sync of the bad commit to fail',
    (a) => JSON.stringify(a.status?.operationState ?? {}).includes('spec.clock.maxSkew'),
    180_000,
  );
  const op_ = failed.status?.operationState;
  const messages = [op_?.message ?? '', ...(op_?.syncResult?.resources ?? []).map((r) => r.message ?? '')].join('\n');
  assert.match(messages, /spec\.clock\.maxSkew: Invalid value: "90s": maxSkew must be a duration between 1s and 60s/);
  assert.is(failed.status?.sync?.status, 'OutOfSync');
  assert.is(failed.status?.sync?.revision, bad);
  const stored = await policy();
  assert.is(stored?.spec.clock.maxSkew, good?.spec.clock.maxSkew, 'the stored policy is the last good one');
  assert.is(stored?.metadata.generation, good?.metadata.generation);
  assert.is(policyHealth(failed)?.status, 'Healthy', 'and keeps working');
  const fixed = await commitPolicy('maxSkew back in range', (d) => (d.spec.clock.maxSkew = '50s'));
  await syncedTo('authpolicy-policy', fixed, 600_000);
  const { live } = await waitHealth('Healthy', 'the fix synced', (_h, p) => p.status?.observedGeneration === p.metadata.generation);
  assert.is(live.spec.clock.maxSkew, '50s');
});

test('deleting the policy in Git prunes it; the operator then acts no more and undoes nothing', async () => {
  const head = await git.commit('no policy', {
    [SAMPLE]: undefined,
    'config/samples/kustomization.yaml': stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [] }),
  });
  const a = await syncedTo('authpolicy-policy', head);
  assert.equal(a.status?.resources ?? [], []);
  await waitFor('the AuthPolicy to be gone', async () => (await policy()) === undefined, { timeoutMs: 120_000 });
  // The legacy binding the fallback made for the RBAC-only cluster stays: removing it would lock kubelets out.
  const binding = await getJson<{ subjects?: { name: string }[] }>(cluster, ['clusterrolebinding', 'system:node']);
  assert.equal(
    binding?.subjects?.map((s) => s.name),
    ['system:nodes'],
  );
  await waitFor('the operator to drop the policy from its condition metrics', async () => !(await op?.metrics())?.includes('policy="cluster"'), {
    timeoutMs: 120_000,
  });
  assert.is(op?.child.exitCode, null, 'the operator keeps running');
  assert.is(metricValue((await op?.metrics()) ?? '', 'authpolicy_condition'), undefined);
});

test.run();
