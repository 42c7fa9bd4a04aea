// Moving a kustomize install to the chart and back, on a real control plane, as
// docs/installation.md tells a user to: `kubectl apply --server-side -k
// config/default`, then `helm upgrade --install --take-ownership` (no
// --force-conflicts: config/manager and the chart are field-for-field the same,
// so the two field managers agree), then the way back (keepOnUninstall, helm
// uninstall, kubectl apply --server-side --force-conflicts). And the failure
// case: a takeover refused on the Deployment (a value the kustomize install set
// differently) must not let `helm uninstall` delete the RBAC of the Deployment
// that keeps running.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { ROOT } from '../cluster/operator.ts';
import { waitFor } from '../cluster/wait.ts';
import { CHART, helm, key, objects, type K8sObject, type Result } from '../helm/helm.ts';

const test = suite('helm takeover of a kustomize install, and back');
const NS = 'authpolicy-system';
const RELEASE = 'authpolicy-operator';
const SA = `system:serviceaccount:${NS}:authpolicy-operator`;
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];
const HELM_ANNOTATIONS = ['meta.helm.sh/release-name', 'meta.helm.sh/release-namespace', 'helm.sh/resource-policy'];
let cluster: Cluster;
let deploymentUid = '';

const h = (...args: string[]): Promise<Result> => helm([...args, '--kubeconfig', cluster.adminKubeconfig]);
const show = (r: Result): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const takeover = (...extra: string[]): Promise<Result> => h('upgrade', '--install', RELEASE, CHART, '--namespace', NS, '--take-ownership', ...extra);

interface Live extends K8sObject {
  metadata: K8sObject['metadata'] & { uid: string; generation?: number; managedFields?: { manager: string; operation: string }[] };
}
/** The live objects of a manifest (kubectl get -f -), in its order. */
async function live(manifest: string): Promise<Live[]> {
  const out = await mustKubectl(cluster, ['get', '-f', '-', '-o', 'json'], { input: manifest });
  const parsed = JSON.parse(out) as { kind: string; items?: Live[] };
  return parsed.kind === 'List' ? (parsed.items ?? []) : [parsed as unknown as Live];
}
const kustomized = async (): Promise<string> => mustKubectl(cluster, ['kustomize', `${ROOT}/config/default`]);
/** config/default's objects but the Namespace (which the chart does not hold). */
async function installObjects(): Promise<string> {
  return objects(await kustomized())
    .filter((o) => o.kind !== 'Namespace')
    .map((o) => JSON.stringify(o))
    .join('\n---\n');
}
async function deployment(): Promise<Live> {
  return JSON.parse(await mustKubectl(cluster, ['get', 'deployment', 'authpolicy-operator', '-n', NS, '-o', 'json', '--show-managed-fields'])) as Live;
}
/** The Deployment's ReplicaSets' names (one per pod template), once the controller has made the first. */
async function replicaSets(): Promise<string[]> {
  return waitFor(
    'the Deployment to have a ReplicaSet',
    async () => {
      const out = await mustKubectl(cluster, [
        'get',
        'replicasets',
        '-n',
        NS,
        '-l',
        'app.kubernetes.io/name=authpolicy-operator',
        '-o',
        'jsonpath={.items[*].metadata.name}',
      ]);
      const names = out.split(' ').filter(Boolean).sort();
      return names.length > 0 ? names : undefined;
    },
    { timeoutMs: 60_000 },
  );
}
const ownedBy = (o: Live, release: string): boolean =>
  o.metadata.annotations?.['meta.helm.sh/release-name'] === release && o.metadata.annotations['meta.helm.sh/release-namespace'] === NS;
async function canI(...args: string[]): Promise<boolean> {
  const r = await cluster.kubectl(['auth', 'can-i', ...args, `--as=${SA}`]);
  return r.stdout.trim() === 'yes';
}
/** The operator's identity works: its ServiceAccount and every grant it reads with. */
async function assertIdentityIntact(what: string): Promise<void> {
  assert.ok(await canI('list', 'secrets', '--all-namespaces'), `${what}: ClusterRole and binding`);
  assert.ok(await canI('create', 'leases.coordination.k8s.io', '-n', NS), `${what}: leader-election Role and binding`);
  assert.ok(await canI('watch', 'leases.coordination.k8s.io', '-n', 'kube-system'), `${what}: kube-system Role and binding`);
  assert.ok(await canI('list', 'leases.coordination.k8s.io', '-n', 'kube-node-lease'), `${what}: kube-node-lease Role and binding`);
  const sa = await cluster.kubectl(['get', 'serviceaccount', 'authpolicy-operator', '-n', NS, '-o', 'name']);
  assert.is(sa.code, 0, `${what}: the ServiceAccount exists: ${sa.stderr}`);
}

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
});
test.after(async () => {
  await (cluster as Cluster | undefined)?.stop();
});

test('the kustomize install: kubectl apply --server-side -k config/default', async () => {
  await mustKubectl(cluster, ['apply', '--server-side', '-k', `${ROOT}/config/default`]);
  const d = await deployment();
  deploymentUid = d.metadata.uid;
  assert.ok(
    d.metadata.managedFields?.some((f) => f.manager === 'kubectl' && f.operation === 'Apply'),
    'kubectl owns the Deployment by server-side apply',
  );
  await assertIdentityIntact('installed by kustomize');
});

test('a takeover refused on the Deployment leaves a release that helm uninstall cannot break', async () => {
  // The chart asked to set an image other than the one the kustomize install applied: the
  // Deployment's image is kubectl's, so server-side apply refuses helm's (a conflict); every other object is adopted.
  const failed = await takeover('--set', 'image.tag=0.2.0');
  assert.is.not(failed.code, 0, show(failed));
  assert.match(failed.stderr, /conflict/i, show(failed));
  assert.match((await h('status', RELEASE, '--namespace', NS)).stdout, /STATUS: failed/);
  const manifest = (await h('get', 'manifest', RELEASE, '--namespace', NS)).stdout;
  const adopted = await live(manifest);
  const clusterRole = adopted.find((o) => o.kind === 'ClusterRole');
  assert.ok(clusterRole && ownedBy(clusterRole, RELEASE), 'the ClusterRole was adopted');
  assert.not.ok(ownedBy(await deployment(), RELEASE), 'the Deployment was not');
  // The release was rendered for a takeover: every object it holds is kept on uninstall.
  for (const o of objects(manifest)) assert.is(o.metadata.annotations?.['helm.sh/resource-policy'], 'keep', `${key(o)} is kept on uninstall`);

  const uninstall = await h('uninstall', RELEASE, '--namespace', NS);
  assert.is(uninstall.code, 0, show(uninstall));
  assert.match(uninstall.stdout, /kept due to the resource policy/, show(uninstall));
  const d = await deployment();
  assert.is(d.metadata.uid, deploymentUid, 'the Deployment still runs (the same object)');
  await assertIdentityIntact('after helm uninstall of the failed takeover');
  assert.is((await live(await installObjects())).length, objects(await installObjects()).length, 'every object of the install is still there');
  assert.is.not((await h('status', RELEASE, '--namespace', NS)).code, 0, 'the release is gone');
});

test('helm upgrade --install --take-ownership: deployed, every object owned by the release, the Deployment not rolled', async () => {
  const before = await deployment();
  const rsBefore = await replicaSets();
  assert.is(rsBefore.length, 1, 'the kustomize install has its ReplicaSet');
  const r = await takeover();
  assert.is(r.code, 0, `no server-side apply conflict with kubectl's fields: ${show(r)}`);
  assert.match(r.stdout, /took over objects it did not own/, 'NOTES says how to finish');
  assert.match((await h('status', RELEASE, '--namespace', NS)).stdout, /STATUS: deployed/);
  const manifest = (await h('get', 'manifest', RELEASE, '--namespace', NS)).stdout;
  const list = await live(manifest);
  assert.is(list.length, objects(await installObjects()).length, 'the release holds every object of config/default but the Namespace');
  for (const o of list) {
    assert.ok(ownedBy(o, RELEASE), `${key(o)} is owned by the release`);
    assert.is(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${key(o)} is labelled by Helm`);
  }
  const d = await deployment();
  assert.is(d.metadata.uid, deploymentUid, 'the same Deployment');
  // (its generation moves: Deployments count annotation changes too, as they are copied to the ReplicaSet)
  assert.equal(d.spec, before.spec, 'its spec is unchanged: the same pod template, so no rollout');
  assert.equal(await replicaSets(), rsBefore, 'no new ReplicaSet: the operator was not restarted');
  await assertIdentityIntact('after the takeover');

  // Finishing (what NOTES asks): the next upgrade, the Deployment owned, drops the takeover's keep.
  const finish = await h('upgrade', RELEASE, CHART, '--namespace', NS, '--reuse-values');
  assert.is(finish.code, 0, show(finish));
  assert.not.match(finish.stdout, /took over/);
  for (const o of await live(manifest)) {
    const keep = o.metadata.annotations?.['helm.sh/resource-policy'];
    assert.is(keep, o.kind === 'CustomResourceDefinition' ? 'keep' : undefined, `${key(o)}: kept on uninstall only if the CRD (crds.keep)`);
  }
  assert.equal((await deployment()).spec, before.spec, 'still the same spec');
  assert.equal(await replicaSets(), rsBefore, 'still no rollout');
});

test('the way back: keepOnUninstall, helm uninstall, kubectl apply --server-side --force-conflicts -k config/default', async () => {
  const keep = await h('upgrade', RELEASE, CHART, '--namespace', NS, '--reuse-values', '--set', 'keepOnUninstall=true');
  assert.is(keep.code, 0, show(keep));
  const uninstall = await h('uninstall', RELEASE, '--namespace', NS);
  assert.is(uninstall.code, 0, show(uninstall));
  assert.is((await deployment()).metadata.uid, deploymentUid, 'helm uninstall deleted nothing');
  await assertIdentityIntact('after helm uninstall with keepOnUninstall');

  // As docs/installation.md says: kubectl takes the fields back, then Helm's labels and annotations go.
  await mustKubectl(cluster, ['apply', '--server-side', '--force-conflicts', '-k', `${ROOT}/config/default`]);
  const install = await kustomized();
  await mustKubectl(cluster, ['label', '-f', '-', ...HELM_LABELS.map((l) => `${l}-`)], { input: install });
  await mustKubectl(cluster, ['annotate', '-f', '-', ...HELM_ANNOTATIONS.map((a) => `${a}-`)], { input: install });
  for (const o of await live(await installObjects())) {
    for (const l of HELM_LABELS) assert.is(o.metadata.labels?.[l], undefined, `${key(o)}: no ${l} label`);
    for (const a of HELM_ANNOTATIONS) assert.is(o.metadata.annotations?.[a], undefined, `${key(o)}: no ${a} annotation`);
  }
  const d = await deployment();
  assert.is(d.metadata.uid, deploymentUid, 'the same Deployment all along');
  assert.ok(d.metadata.managedFields?.some((f) => f.manager === 'kubectl' && f.operation === 'Apply'));
  // kustomize is the one applier again: a plain re-apply has nothing to conflict with.
  const again = await cluster.kubectl(['apply', '--server-side', '-k', `${ROOT}/config/default`]);
  assert.is(again.code, 0, again.stderr);
  assert.is((await h('list', '--namespace', NS, '-q')).stdout.trim(), '', 'no Helm release left');
  await assertIdentityIntact('back on kustomize');
});

test.run();
