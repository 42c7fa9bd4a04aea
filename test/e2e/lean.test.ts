// Structural guards that keep the operator lean (issue #13), on one real control plane
// with kwok Nodes whose Leases renew every 10 s, as kubelets renew them:
// - no token value is held in the operator's memory (a heap snapshot of the running process);
// - requests per reconcile do not grow with the node count (50 vs 500 Nodes): Nodes are read only
//   through their watch, node Leases only through one LIST every 10 s;
// - a rotation of 40 token Secrets emits a bounded number of Events, not one per Secret.
// Guarded elsewhere, by name:
// - no request per token Secret in steady state: legacytokens-offline.test.ts,
//   "steady state makes no request per token Secret, and no TokenReview";
// - no status write when nothing changed: ready-hold.test.ts, "over 3 idle minutes the operator writes no status".
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { fingerprint } from '../../src/kube/token-secrets.ts';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { startKwok } from '../cluster/kwok.ts';
import { installOperatorPrereqs, metricValue, operatorKubeconfig, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import type { ManagedProcess } from '../cluster/processes.ts';
import { apply, areaStatus, getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('lean: structural guards');
let cluster: Cluster;
let kwok: ManagedProcess | undefined;
let op: OperatorProcess | undefined;
let snapshots: string;
const NS = 'lean';
const SECRETS = Array.from({ length: 40 }, (_, i) => `tok-${i}`);
let generation = 0;

interface SecretJson {
  metadata: { name: string };
  data?: Record<string, string>;
}

async function policy(legacyTokens: Record<string, unknown> = {}): Promise<void> {
  generation++;
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'NodeAuthorizer' }, legacyTokens: { maxConcurrentRestarts: 1 + (generation % 5), ...legacyTokens } },
  });
}
async function observed(): Promise<void> {
  await waitFor(
    'the policy to be observed at its generation',
    async () => {
      const p = await getJson<{ metadata: { generation: number }; status?: { observedGeneration?: number } }>(cluster, ['authpolicy', 'cluster']);
      return p?.status?.observedGeneration === p?.metadata.generation;
    },
    { timeoutMs: 120_000 },
  );
}
async function tokens(): Promise<Map<string, string>> {
  const list = JSON.parse(await mustKubectl(cluster, ['get', 'secrets', '-n', NS, '-o', 'json'])) as { items: SecretJson[] };
  return new Map(list.items.filter((s) => s.data?.token).map((s) => [s.metadata.name, s.data?.token ?? '']));
}
async function addNodes(from: number, to: number): Promise<void> {
  const items = Array.from({ length: to - from }, (_, k) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `kwok-${from + k}`, labels: { type: 'kwok', 'kubernetes.io/hostname': `kwok-${from + k}` } },
  }));
  await mustKubectl(cluster, ['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  // kwok creates each Node's Lease and renews it every 10 s; the operator's caches must hold them all.
  await waitFor(
    `the operator to cache ${to} Nodes and ${to} renewing node Leases`,
    async () => {
      const m = (await op?.metrics()) ?? '';
      return (
        metricValue(m, 'authpolicy_informer_cached_objects', { informer: 'nodes' }) === to &&
        metricValue(m, 'authpolicy_informer_cached_objects', { informer: 'node-leases' }) === to
      );
    },
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  // All Ready, so the probe's sample (NotReady Nodes first) holds still while requests are counted.
  await mustKubectl(cluster, ['wait', '--for=condition=Ready', 'node', '-l', 'type=kwok', '--timeout=300s']);
}

/** The operator's API requests by "VERB resource" (authpolicy_api_requests_total), WATCH left out. */
function requestsBy(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of metrics.matchAll(/^authpolicy_api_requests_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = new Map([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x): [string, string] => [x[1] ?? '', x[2] ?? '']));
    if (labels.get('verb') === 'WATCH') continue;
    const key = `${labels.get('verb') ?? ''} ${labels.get('resource') ?? ''}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[2]));
  }
  return out;
}
const reconciles = (metrics: string): number =>
  [...metrics.matchAll(/^controller_runtime_reconcile_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);

interface Window {
  perChange: number;
  perReconcile: number;
  reconciles: number;
  byRequest: Record<string, number>;
  seconds: number;
}

/**
 * The operator's requests over `changes` spec changes, each waited for until observed: per change (what the
 * reconciles one change triggers cost) and per reconcile (periodic re-checks in the window cost nothing).
 */
async function requestsPerChange(changes: number): Promise<Window> {
  const started = Date.now();
  const before = (await op?.metrics()) ?? '';
  for (let i = 0; i < changes; i++) {
    await policy();
    await observed();
  }
  const after = (await op?.metrics()) ?? '';
  const [b, a] = [requestsBy(before), requestsBy(after)];
  const byRequest: Record<string, number> = {};
  for (const [k, v] of a) if (v - (b.get(k) ?? 0) > 0) byRequest[k] = v - (b.get(k) ?? 0);
  const n = reconciles(after) - reconciles(before);
  const total = Object.values(byRequest).reduce((x, y) => x + y, 0);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return { perChange: round(total / changes), perReconcile: round(total / Math.max(1, n)), reconciles: n, byRequest, seconds: (Date.now() - started) / 1000 };
}

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  kwok = startKwok(cluster, ['--node-lease-duration-seconds=40']);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: NS } });
  const secrets = SECRETS.map((name) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name, namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'app' } },
  }));
  await mustKubectl(cluster, ['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: secrets }) });
  await waitFor(`the tokens controller to fill ${SECRETS.length} Secrets`, async () => (await tokens()).size === SECRETS.length, { timeoutMs: 120_000 });
  await policy();
  snapshots = await mkdtemp(join(tmpdir(), 'authpolicy-heap-'));
  op = startOperator({
    kubeconfig: await operatorKubeconfig(cluster),
    args: ['--no-leader-elect', '--log-level=info'],
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshots}`.trim() },
  });
  await observed();
});
test.after(async () => {
  await op?.stop();
  await kwok?.stop();
  await (cluster as Cluster | undefined)?.stop();
  if (snapshots) await rm(snapshots, { recursive: true, force: true });
});

test('token values are never held in memory: a heap snapshot has the cached fingerprints, no token', async () => {
  const values = await tokens();
  await waitFor(
    'the operator to cache every token Secret',
    async () => metricValue((await op?.metrics()) ?? '', 'authpolicy_informer_cached_objects', { informer: 'legacy-token-secrets' }) === SECRETS.length,
  );
  process.kill(op?.child.pid ?? 0, 'SIGUSR2');
  // V8 writes the snapshot (after a full GC, so only what is reachable) as one JSON document, in chunks:
  // complete when it ends the document and has stopped growing.
  let size = -1;
  const text = await waitFor(
    'the heap snapshot to be written',
    async () => {
      const file = (await readdir(snapshots)).find((f) => f.endsWith('.heapsnapshot'));
      if (!file) return undefined;
      const now = (await stat(join(snapshots, file))).size;
      const stable = now === size;
      size = now;
      if (!stable) return undefined;
      const t = await readFile(join(snapshots, file), 'utf8');
      return t.trimEnd().endsWith(']}') ? t : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 2000 },
  );
  // The control: what the cache does keep (the token's fingerprint) is found in the snapshot.
  const hashes = [...values.values()].map((b64) => fingerprint(b64) ?? '');
  assert.ok(
    hashes.every((h) => text.includes(h)),
    'every cached token fingerprint is in the snapshot (the search sees the cache)',
  );
  for (const [name, b64] of values) {
    const jwt = Buffer.from(b64, 'base64').toString('utf8');
    const signature = jwt.split('.')[2] ?? '';
    assert.ok(signature.length > 100, `${name} holds a signed JWT`);
    assert.not.ok(text.includes(signature), `the token of ${NS}/${name} (its signature) is in the operator's heap`);
    assert.not.ok(text.includes(b64.slice(40, 120)), `the token of ${NS}/${name} (base64, as in data.token) is in the operator's heap`);
  }
});

test('requests per reconcile do not grow with the node count (50 vs 500 Nodes with renewing Leases)', async () => {
  await addNodes(0, 50);
  const small = await requestsPerChange(4);
  await addNodes(50, 500);
  const large = await requestsPerChange(4);
  const seen = `50 Nodes: ${JSON.stringify(small)}; 500 Nodes: ${JSON.stringify(large)}`;
  assert.ok(small.reconciles >= 4 && large.reconciles >= 4, `every spec change reconciled: ${seen}`);
  for (const r of [small, large]) {
    const reads = Object.keys(r.byRequest).filter((k) => / (nodes|leases)(\/|$)/.test(k) && k !== 'LIST leases');
    assert.equal(reads, [], `Nodes come from their watch, node Leases from one list per period: ${seen}`);
    // The node-Lease poll: one LIST every 10 s whatever the node count (plus one that may straddle the window).
    const polls = r.byRequest['LIST leases'] ?? 0;
    assert.ok(polls <= Math.ceil(r.seconds / 10) + 1, `at most one node-Lease LIST per 10 s (${polls} in ${r.seconds} s): ${seen}`);
  }
  // A request per Node would add 450 per change (~14× the ~32 measured); a periodic read, a status write for a
  // Node turning Ready or one extra probe of the bounded sample landing in one window stay well within half again.
  assert.ok(large.perChange <= small.perChange * 1.5, `requests per spec change at 500 Nodes within 1.5× those at 50: ${seen}`);
});

test('a rotation of 40 token Secrets emits a bounded number of Events (fewer than one per four Secrets)', async () => {
  type EventJson = { metadata: { name: string }; reason: string; count?: number; source?: { component?: string } };
  const operatorEvents = async (): Promise<EventJson[]> =>
    ((await getJson<{ items: EventJson[] }>(cluster, ['events', '-A']))?.items ?? []).filter((e) => e.source?.component === 'authpolicy-operator');
  const before = new Set((await operatorEvents()).map((e) => e.metadata.name));
  const writes = async (): Promise<number> => {
    const m = (await op?.metrics()) ?? '';
    return ['POST', 'PATCH'].reduce((n, verb) => n + (metricValue(m, 'authpolicy_api_requests_total', { verb, resource: 'events' }) ?? 0), 0);
  };
  const writesBefore = await writes();
  const request = '2026-11-26T00:00:00Z';
  await policy({ rotationRequestedAt: request });
  await waitFor(
    'every token Secret rotated for the request, and the rotation recorded',
    async () => {
      const list = JSON.parse(await mustKubectl(cluster, ['get', 'secrets', '-n', NS, '-o', 'json'])) as {
        items: { metadata: { annotations?: Record<string, string> } }[];
      };
      const done = list.items.filter(
        (s) => s.metadata.annotations?.['authpolicy.io/rotated-for-request'] === request && s.metadata.annotations['authpolicy.io/rotation-state'] === 'done',
      );
      return (
        done.length === SECRETS.length &&
        (await areaStatus<{ lastRotationRequest?: string }>(cluster, 'cluster', 'legacyTokens'))?.lastRotationRequest === request
      );
    },
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  const fresh = (await operatorEvents()).filter((e) => !before.has(e.metadata.name));
  const seen = fresh.map((e) => `${e.reason}×${e.count ?? 1}`).join(', ');
  assert.ok(
    fresh.some((e) => e.reason === 'TokenRotated'),
    `the rotation is told in Events: ${seen}`,
  );
  assert.ok(fresh.length <= SECRETS.length / 4, `${fresh.length} Events for ${SECRETS.length} Secrets: ${seen}`);
  assert.ok(
    (await writes()) - writesBefore <= SECRETS.length / 4,
    `${(await writes()) - writesBefore} Event writes (POST, PATCH) for ${SECRETS.length} Secrets: ${seen}`,
  );
});

test.run();
