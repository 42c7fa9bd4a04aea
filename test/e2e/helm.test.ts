// The Helm chart on a real control plane, as a user runs Helm v4: install into
// the namespace config/default defines (restricted Pod Security), upgrade
// changing values (every change takes effect: Helm v4 applies server-side),
// uninstall keeping the CRD and every AuthPolicy by default.
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { ROOT } from '../cluster/operator.ts';
import { CHART, helm, type Result } from '../helm/helm.ts';

const test = suite('helm install, upgrade, uninstall');
const NS = 'authpolicy-system';
let cluster: Cluster;

const h = (...args: string[]): Promise<Result> => helm([...args, '--kubeconfig', cluster.adminKubeconfig]);
const show = (r: Result): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
async function getJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await mustKubectl(cluster, ['get', ...args, '-o', 'json'])) as T;
}
async function exists(...args: string[]): Promise<boolean> {
  const r = await cluster.kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.trim() !== '';
}
interface Deployment {
  spec: { replicas: number; template: { spec: { priorityClassName?: string; containers: { image: string; args: string[] }[] } } };
}

test.before(async () => {
  cluster = await startCluster({ scheduler: false });
});
test.after(async () => {
  await (cluster as Cluster | undefined)?.stop();
});

test('helm install: every object is created, the pod template passes the restricted Pod Security level', async () => {
  // The namespace as config/default defines it (enforce and warn restricted).
  await mustKubectl(cluster, ['apply', '--server-side', '-f', `${ROOT}/config/default/namespace.yaml`]);
  const r = await h('install', 'authpolicy-operator', CHART, '--namespace', NS, '--set', `image.digest=sha256:${'b'.repeat(64)}`);
  assert.is(r.code, 0, show(r));
  const d = await getJson<Deployment>('deployment', 'authpolicy-operator', '-n', NS);
  // A pod from its template, created by server-side dry run: Pod Security admission enforces `restricted` on it.
  const pod = await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'template-check', namespace: NS }, spec: d.spec.template.spec }),
  });
  assert.is(pod.code, 0, `the chart's pod template under the restricted level: ${pod.stderr}`);
  assert.not.match(pod.stderr, /PodSecurity|violate/, 'no Pod Security warning');
  assert.is(d.spec.replicas, 2);
  assert.is(d.spec.template.spec.containers[0]?.image, `authpolicy-operator@sha256:${'b'.repeat(64)}`);
  for (const o of [
    ['crd', 'authpolicies.authpolicy.io'],
    ['clusterrole', 'authpolicy-operator'],
    ['serviceaccount', 'authpolicy-operator', '-n', NS],
    ['pdb', 'authpolicy-operator', '-n', NS],
    ['networkpolicy', 'authpolicy-operator', '-n', NS],
    ['role', 'authpolicy-operator-kube-system', '-n', 'kube-system'],
    ['service', 'authpolicy-operator-metrics', '-n', NS],
  ]) {
    assert.ok(await exists(...o), `${o.join(' ')} exists`);
  }
  await mustKubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/authpolicies.authpolicy.io']);
  // The policy NOTES tells the user to apply (a local one, in dry run) is one the API server accepts.
  const policy = /^kubectl apply --server-side -f - <<'POLICY'\n([\s\S]*?)\nPOLICY$/m.exec(r.stdout)?.[1];
  assert.ok(policy, `NOTES holds a policy to apply:\n${r.stdout}`);
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: policy });
  assert.is(await mustKubectl(cluster, ['get', 'authpolicy', 'cluster', '-o', 'jsonpath={.spec.dryRun}']), 'true');
  const status = await h('status', 'authpolicy-operator', '--namespace', NS);
  assert.match(status.stdout, /STATUS: deployed/);
});

test('helm upgrade changing values: each change is on the cluster', async () => {
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'authpolicy-critical' }, value: 1000000 }),
  });
  const r = await h(
    'upgrade',
    'authpolicy-operator',
    CHART,
    '--namespace',
    NS,
    '--set',
    'replicaCount=1',
    '--set',
    'logLevel=debug',
    '--set',
    'priorityClassName=authpolicy-critical',
    '--set',
    'podDisruptionBudget.enabled=false',
    '--set',
    'image.tag=0.1.1',
  );
  assert.is(r.code, 0, show(r));
  const d = await getJson<Deployment>('deployment', 'authpolicy-operator', '-n', NS);
  assert.is(d.spec.replicas, 1);
  assert.is(d.spec.template.spec.priorityClassName, 'authpolicy-critical');
  assert.ok(d.spec.template.spec.containers[0]?.args.includes('--log-level=debug'), JSON.stringify(d.spec.template.spec.containers[0]?.args));
  assert.is(d.spec.template.spec.containers[0]?.image, 'authpolicy-operator:0.1.1', 'the digest of the install is gone (--set values reset)');
  assert.not.ok(await exists('pdb', 'authpolicy-operator', '-n', NS), 'the disabled PDB is deleted');
  const history = await h('history', 'authpolicy-operator', '--namespace', NS);
  assert.match(history.stdout, /^2\s.*deployed/m);
});

test('helm uninstall keeps the CRD and the AuthPolicy (crds.keep), removes everything else', async () => {
  const r = await h('uninstall', 'authpolicy-operator', '--namespace', NS);
  assert.is(r.code, 0, show(r));
  assert.not.ok(await exists('deployment', 'authpolicy-operator', '-n', NS), 'Deployment deleted');
  assert.not.ok(await exists('clusterrole', 'authpolicy-operator'), 'ClusterRole deleted');
  assert.not.ok(await exists('role', 'authpolicy-operator-kube-system', '-n', 'kube-system'), 'kube-system Role deleted');
  assert.ok(await exists('crd', 'authpolicies.authpolicy.io'), 'the CRD is kept');
  assert.ok(await exists('authpolicy', 'cluster'), 'the AuthPolicy is kept');
  const crd = await getJson<{ metadata: { labels?: Record<string, string> } }>('crd', 'authpolicies.authpolicy.io');
  assert.is(crd.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', 'still labelled by Helm');
  const again = await h('install', 'authpolicy-operator', CHART, '--namespace', NS);
  assert.is(again.code, 0, `a reinstall adopts the kept CRD (its release annotations match): ${show(again)}`);
});

test.run();
