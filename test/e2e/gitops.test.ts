// Every Git edit takes effect under server-side apply, as Argo CD applies
// (field manager argocd-controller): narrowing, widening, emptying and removing
// each defaulted list (rotateOn, workloadKinds) changes the stored spec, shows in
// `kubectl diff --server-side` before it is applied (and not after), and changes
// what the operator does. The policy is a dry run, so what the operator would
// rotate and restart is in status: a token Secret holding a token the API server
// rejects (trigger InvalidToken), mounted by a Deployment and a StatefulSet.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import { parse, stringify } from 'yaml';
import * as assert from 'uvu/assert';
import { startCluster, mustKubectl, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { apply, getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const test = suite('GitOps: every Git edit takes effect');
let cluster: Cluster;
let op: OperatorProcess | undefined;

const NS = 'apps';
const podSpec = { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }], volumes: [{ name: 'token', secret: { secretName: 'builder-token' } }] };
const template = (app: string): unknown => ({ metadata: { labels: { app } }, spec: podSpec });

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'builder-token', namespace: NS, annotations: { 'kubernetes.io/service-account.name': 'default' } },
  });
  await waitFor('the tokens controller to fill apps/builder-token', async () => {
    const s = await getJson<{ data?: { token?: string } }>(cluster, ['secret', 'builder-token', '-n', NS]);
    return Boolean(s?.data?.token);
  });
  // A token the API server rejects (the tokens controller refills only an empty one): the InvalidToken trigger applies.
  await mustKubectl(cluster, [
    'patch',
    'secret',
    'builder-token',
    '-n',
    NS,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { token: Buffer.from('not-a-valid-token').toString('base64') } }),
  ]);
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: NS },
    spec: { selector: { matchLabels: { app: 'web' } }, template: template('web') },
  });
  await apply(cluster, {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: NS },
    spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') },
  });
  op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--no-leader-elect'] });
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
});

type LegacyTokens = Record<string, unknown>;
interface Policy {
  metadata: { generation: number };
  spec: { legacyTokens: LegacyTokens };
  status?: { observedGeneration?: number; legacyTokens?: { wouldRotate?: string[]; wouldRestart?: string[] } };
}

/** The manifest in Git: a dry run, so status says what the operator would do. */
const manifest = (legacyTokens: LegacyTokens): string =>
  JSON.stringify({
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { dryRun: true, nodeAuthorization: { mode: 'Unmanaged' }, legacyTokens },
  });
const argo = ['--server-side', '--field-manager=argocd-controller', '-f', '-'];

/**
 * Syncs `legacyTokens` from Git as Argo CD does, after checking that
 * `kubectl diff --server-side` shows the change (`changes`), then that the stored
 * spec holds the expected lists, the diff is clean, and the operator's view (the
 * dry run's plan in status) matches.
 */
async function sync(
  what: string,
  legacyTokens: LegacyTokens,
  expect: { rotateOn: string[]; workloadKinds: string[]; changes: boolean; rotates: boolean; restarts: string[] },
): Promise<void> {
  const before = await cluster.kubectl(['diff', ...argo], { input: manifest(legacyTokens) });
  assert.is(
    before.code,
    expect.changes ? 1 : 0,
    `${what}: kubectl diff --server-side ${expect.changes ? 'shows the change' : 'is clean'} before the sync: ${before.stdout}${before.stderr}`,
  );
  await mustKubectl(cluster, ['apply', ...argo], { input: manifest(legacyTokens) });
  const after = await cluster.kubectl(['diff', ...argo], { input: manifest(legacyTokens) });
  assert.is(after.code, 0, `${what}: kubectl diff --server-side is clean after the sync: ${after.stdout}${after.stderr}`);
  // The operator reports on a generation at once, and decides a token as soon as it holds the API server's
  // keys (right after a start it may not yet): wait, with a deadline, for its report on this generation to
  // settle, then assert on the last one seen, so a wrong plan still fails here, naming what differs.
  const rotates = expect.rotates ? ['apps/builder-token: InvalidToken'] : [];
  let seen: Policy | undefined;
  const policy = await waitFor(
    `${what}: the operator to report on the new generation as Git says`,
    async () => {
      const p = await getJson<Policy>(cluster, ['authpolicy', 'cluster']);
      if (p?.status?.observedGeneration !== p?.metadata.generation) return undefined;
      seen = p;
      const st = p?.status?.legacyTokens ?? {};
      return JSON.stringify(st.wouldRotate ?? []) === JSON.stringify(rotates) &&
        JSON.stringify([...(st.wouldRestart ?? [])].sort()) === JSON.stringify(expect.restarts)
        ? p
        : undefined;
    },
    { timeoutMs: 20_000 },
  ).catch((err: unknown) => {
    if (seen) return seen;
    throw err;
  });
  assert.equal(policy.spec.legacyTokens.rotateOn, expect.rotateOn, `${what}: stored rotateOn`);
  assert.equal(policy.spec.legacyTokens.workloadKinds, expect.workloadKinds, `${what}: stored workloadKinds`);
  const status = policy.status?.legacyTokens ?? {};
  assert.equal(status.wouldRotate ?? [], rotates, `${what}: what the operator would rotate`);
  assert.equal([...(status.wouldRestart ?? [])].sort(), expect.restarts, `${what}: what the operator would restart`);
}

const ALL_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];
const BOTH = ['deployment/apps/web', 'statefulset/apps/db'];

test('rotateOn: defaults, narrow, widen, empty and remove, each as Git says', async () => {
  await sync('defaults', {}, { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: ALL_KINDS, changes: true, rotates: true, restarts: BOTH });
  await sync('narrow to StaleCA', { rotateOn: ['StaleCA'] }, { rotateOn: ['StaleCA'], workloadKinds: ALL_KINDS, changes: true, rotates: false, restarts: [] });
  await sync(
    'widen to all three',
    { rotateOn: ['InvalidToken', 'StaleCA', 'MaxAge'], maxAge: '720h' },
    { rotateOn: ['InvalidToken', 'StaleCA', 'MaxAge'], workloadKinds: ALL_KINDS, changes: true, rotates: true, restarts: BOTH },
  );
  await sync('empty', { rotateOn: [] }, { rotateOn: [], workloadKinds: ALL_KINDS, changes: true, rotates: false, restarts: [] });
  await sync(
    'remove (back to the default)',
    {},
    { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: ALL_KINDS, changes: true, rotates: true, restarts: BOTH },
  );
});

test('workloadKinds: narrow, widen, empty (restarts off) and remove, each as Git says', async () => {
  await sync(
    'narrow to Deployment',
    { workloadKinds: ['Deployment'] },
    { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: ['Deployment'], changes: true, rotates: true, restarts: ['deployment/apps/web'] },
  );
  await sync(
    'widen to StatefulSet too',
    { workloadKinds: ['Deployment', 'StatefulSet'] },
    { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: ['Deployment', 'StatefulSet'], changes: true, rotates: true, restarts: BOTH },
  );
  await sync(
    'empty, restarts off',
    { workloadKinds: [], restartWorkloads: false },
    { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: [], changes: true, rotates: true, restarts: [] },
  );
  await sync(
    'remove (back to the default)',
    {},
    { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: ALL_KINDS, changes: true, rotates: true, restarts: BOTH },
  );
  await sync('the same again', {}, { rotateOn: ['InvalidToken', 'StaleCA'], workloadKinds: ALL_KINDS, changes: false, rotates: true, restarts: BOTH });
});

test("the operator wrote no spec or metadata: Argo CD's manager owns every spec field it applied", async () => {
  const p = await getJson<{ metadata: { managedFields: { manager: string; operation: string; subresource?: string }[] } }>(cluster, [
    'authpolicy',
    'cluster',
    '--show-managed-fields',
  ]);
  const writers = (p?.metadata.managedFields ?? []).filter((m) => m.subresource !== 'status').map((m) => `${m.manager}/${m.operation}`);
  assert.equal(writers, ['argocd-controller/Apply']);
});

test('upgrading the CRD from set lists to atomic ones keeps stored policies, and the next Git sync takes effect', async () => {
  const crd = await readFile(join(ROOT, 'crds/authpolicy.yaml'), 'utf8');
  // The previous release's CRD: the two defaulted lists were sets (nothing else changes with the upgrade).
  const old = parse(crd) as {
    spec: {
      versions: {
        schema: { openAPIV3Schema: { properties: { spec: { properties: { legacyTokens: { properties: Record<string, Record<string, unknown>> } } } } } };
      }[];
    };
  };
  for (const version of old.spec.versions) {
    const lists = version.schema.openAPIV3Schema.properties.spec.properties.legacyTokens.properties;
    for (const field of ['rotateOn', 'workloadKinds']) {
      assert.is(lists[field]?.['x-kubernetes-list-type'], 'atomic', `${field} is atomic in crds/`);
      (lists[field] ?? {})['x-kubernetes-list-type'] = 'set';
    }
  }
  const setVersion = stringify(old);
  const policy = (legacyTokens: LegacyTokens): string =>
    JSON.stringify({ apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'upgraded' }, spec: { dryRun: true, legacyTokens } });
  const stored = async (): Promise<unknown> => (await getJson<Policy>(cluster, ['authpolicy', 'upgraded']))?.spec.legacyTokens.rotateOn;
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: setVersion });
  // The old behaviour, once the API server serves the set version: a narrowed list in Git changes nothing.
  await waitFor('the set-typed CRD to be served (narrowing rotateOn has no effect)', async () => {
    await mustKubectl(cluster, ['apply', ...argo], { input: policy({}) });
    await mustKubectl(cluster, ['apply', ...argo], { input: policy({ rotateOn: ['InvalidToken'] }) });
    return JSON.stringify(await stored()) === JSON.stringify(['InvalidToken', 'StaleCA']);
  });
  await mustKubectl(cluster, ['apply', '--server-side', '-f', `${ROOT}/crds/authpolicy.yaml`]);
  await waitFor('after the upgrade, the same Git content to take effect', async () => {
    await mustKubectl(cluster, ['apply', ...argo], { input: policy({ rotateOn: ['InvalidToken'] }) });
    return JSON.stringify(await stored()) === JSON.stringify(['InvalidToken']);
  });
  const diff = await cluster.kubectl(['diff', ...argo], { input: policy({ rotateOn: ['InvalidToken'] }) });
  assert.is(diff.code, 0, `clean diff after the upgrade: ${diff.stdout}`);
  await mustKubectl(cluster, ['apply', ...argo], { input: policy({}) });
  assert.equal(await stored(), ['InvalidToken', 'StaleCA'], 'removed from Git: the default again');
  await mustKubectl(cluster, ['delete', 'authpolicy', 'upgraded']);
});

test.run();
