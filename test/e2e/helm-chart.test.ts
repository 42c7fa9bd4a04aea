// The Helm chart (charts/authpolicy-operator) holds config/'s objects: its
// default render equals `kubectl kustomize config/default` (but the Namespace,
// which `helm install --create-namespace` makes) modulo Helm's labels and the
// CRD's keep annotation; its toggles add exactly config/prometheus and
// config/audit; and every value does what values.yaml says. No cluster: helm
// and the harness's kubectl only.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { suite } from '../support/suite.ts';
import { parse } from 'yaml';
import * as assert from 'uvu/assert';
import { binDir } from '../cluster/binaries.ts';
import { ROOT } from '../cluster/operator.ts';
import { CHART, helm, key, objects, type K8sObject } from '../helm/helm.ts';

const test = suite('helm chart');
let work: string;
const HELM_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/instance', 'app.kubernetes.io/version'];

function kustomize(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(binDir(), 'kubectl'), ['kustomize', dir], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kubectl kustomize ${dir}: ${stderr}`));
      else resolve(stdout);
    });
  });
}
async function render(...set: string[]): Promise<K8sObject[]> {
  const r = await helm(['template', 'authpolicy-operator', CHART, '--namespace', 'authpolicy-system', ...set.flatMap((s) => ['--set', s])]);
  assert.is(r.code, 0, `helm template ${set.join(' ')}: ${r.stderr}`);
  return objects(r.stdout);
}
/** Without Helm's own labels and resource policy, every other field as rendered. */
function stripHelm(o: K8sObject): K8sObject {
  const copy = structuredClone(o);
  for (const l of HELM_LABELS) delete copy.metadata.labels?.[l];
  delete copy.metadata.annotations?.['helm.sh/resource-policy'];
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0) delete copy.metadata.annotations;
  if (copy.metadata.labels && Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  return copy;
}
const byKey = (list: K8sObject[]): Map<string, K8sObject> => new Map(list.map((o) => [key(o), o]));
function assertSameObjects(chart: K8sObject[], kustomized: K8sObject[], what: string): void {
  const a = byKey(chart.map(stripHelm));
  const b = byKey(kustomized.filter((o) => o.kind !== 'Namespace'));
  assert.equal([...a.keys()].sort(), [...b.keys()].sort(), `${what}: the same objects`);
  for (const [k, o] of b) assert.equal(a.get(k), o, `${what}: ${k} is the same`);
}
const find = (list: K8sObject[], kind: string, name?: string): K8sObject | undefined =>
  list.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
interface Container {
  image: string;
  imagePullPolicy?: string;
  args: string[];
  env?: { name: string; value?: string }[];
  resources?: unknown;
  securityContext?: Record<string, unknown>;
  ports?: { name: string }[];
  volumeMounts?: { name: string }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  nodeSelector?: unknown;
  tolerations?: unknown;
  affinity?: unknown;
  topologySpreadConstraints?: unknown[];
  serviceAccountName?: string;
  priorityClassName?: string;
  volumes?: { name: string; secret?: { secretName: string } }[];
}
const ARCH_GUARD = [
  { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
  { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] },
];
/** helm template expected to fail: its stderr. */
async function refused(...set: string[]): Promise<string> {
  const r = await helm(['template', 'authpolicy-operator', CHART, '--namespace', 'authpolicy-system', ...set.flatMap((s) => ['--set', s])]);
  assert.is.not(r.code, 0, `helm template ${set.join(' ')} should be refused:\n${r.stdout.slice(0, 400)}`);
  return r.stderr;
}
const podSpec = (list: K8sObject[]): PodSpec => (find(list, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
const container = (list: K8sObject[]): Container => podSpec(list).containers[0] as Container;

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'authpolicy-helm-'));
});
test.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('helm lint passes; a value the schema refuses is named', async () => {
  const lint = await helm(['lint', '--strict', CHART]);
  assert.is(lint.code, 0, lint.stdout + lint.stderr);
  const bad = await helm(['template', CHART, '--set', 'image.digest=latest']);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /image[./]digest|\/image\/digest/);
  const unknown = await helm(['template', CHART, '--set', 'replicas=3']);
  assert.is.not(unknown.code, 0);
  assert.match(unknown.stderr, /replicas/);
});

test('the default render holds the objects of config/default (but the Namespace), modulo Helm labels', async () => {
  const chart = await render();
  const kustomized = objects(await kustomize(join(ROOT, 'config/default')));
  assert.ok(kustomized.length > 10, `${kustomized.length} objects in config/default`);
  assertSameObjects(chart, kustomized, 'config/default');
  for (const o of chart) assert.is(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${key(o)} has Helm's labels`);
  assert.is(find(chart, 'CustomResourceDefinition')?.metadata.annotations?.['helm.sh/resource-policy'], 'keep', 'the CRD is kept on uninstall');
});

test('monitoring, audit and NodeRestriction-probe toggles add exactly config/prometheus, config/audit and the probe component', async () => {
  const base = objects(await kustomize(join(ROOT, 'config/default')));
  const prometheus = objects(await kustomize(join(ROOT, 'config/prometheus')));
  assertSameObjects(
    await render('metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true'),
    [...base, ...prometheus],
    'config/default + config/prometheus',
  );
  // an overlay of config/default with the audit Component, as the README tells users to write
  const overlay = join(work, 'audit');
  await mkdir(overlay);
  await writeFile(
    join(overlay, 'kustomization.yaml'),
    `resources: [${relative(overlay, join(ROOT, 'config/default'))}]\ncomponents: [${relative(overlay, join(ROOT, 'config/audit'))}]\n`,
  );
  assertSameObjects(await render('auditWebhook.enabled=true'), objects(await kustomize(overlay)), 'config/default + components: [config/audit]');
  // the NodeRestriction probe's impersonation grant: the value adds exactly its Component
  const probe = join(work, 'noderestriction-probe');
  await mkdir(probe);
  await writeFile(
    join(probe, 'kustomization.yaml'),
    `resources: [${relative(probe, join(ROOT, 'config/default'))}]\ncomponents: [${relative(probe, join(ROOT, 'config/components/noderestriction-probe'))}]\n`,
  );
  assertSameObjects(
    await render('nodeRestrictionProbe.enabled=true'),
    objects(await kustomize(probe)),
    'config/default + components: [config/components/noderestriction-probe]',
  );
});

test('values: image by digest, resources, security contexts, scheduling, priority class, pod labels', async () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const r = await render(
    `image.repository=registry.example/authpolicy-operator`,
    `image.digest=${digest}`,
    'image.pullPolicy=Always',
    'resources.requests.cpu=100m',
    'resources.limits.memory=512Mi',
    'podSecurityContext.fsGroup=65532',
    'securityContext.runAsUser=1000',
    'nodeSelector.role=infra',
    'tolerations[0].key=infra',
    'tolerations[0].operator=Exists',
    'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=role',
    'affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists',
    'priorityClassName=system-cluster-critical',
    'podLabels.team=platform',
    'podAnnotations.example\\.com/owner=platform',
    'imagePullSecrets[0].name=regcred',
    'replicaCount=3',
  );
  const c = container(r);
  assert.is(c.image, `registry.example/authpolicy-operator@${digest}`);
  assert.is(c.imagePullPolicy, 'Always');
  assert.equal(c.resources, { requests: { cpu: '100m' }, limits: { memory: '512Mi' } });
  assert.equal(
    c.securityContext,
    { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, runAsUser: 1000 },
    "merged over config's",
  );
  const pod = podSpec(r);
  assert.is(pod.securityContext?.fsGroup, 65532);
  assert.is(pod.securityContext?.runAsNonRoot, true, "config's pod securityContext stays");
  assert.equal(pod.nodeSelector, { role: 'infra' });
  assert.equal(pod.tolerations, [{ key: 'infra', operator: 'Exists' }]);
  assert.equal(
    pod.affinity,
    {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'role', operator: 'Exists' }, ...ARCH_GUARD] }],
        },
      },
    },
    "the node affinity given, and config's architecture guard in its term",
  );
  assert.is(pod.priorityClassName, 'system-cluster-critical');
  assert.equal((pod as { imagePullSecrets?: unknown }).imagePullSecrets, [{ name: 'regcred' }]);
  const d = find(r, 'Deployment') as unknown as {
    spec: { replicas: number; selector: unknown; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } } };
  };
  assert.is(d.spec.replicas, 3);
  assert.equal(d.spec.template.metadata.labels, { 'app.kubernetes.io/name': 'authpolicy-operator', team: 'platform' });
  assert.equal(d.spec.template.metadata.annotations, { 'example.com/owner': 'platform' });
  assert.equal(d.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'authpolicy-operator' } }, 'the selector never changes (immutable)');
  const tag = await render('image.tag=0.2.0');
  assert.is(container(tag).image, 'authpolicy-operator:0.2.0');
});

test('values: leader election, log level and extra args become run flags', async () => {
  assert.equal(container(await render()).args, [
    'run',
    '--leader-elect',
    '--leader-election-lease-duration=60s',
    '--leader-election-renew-deadline=40s',
    '--leader-election-retry-period=15s',
    '--metrics-bind-address=:8080',
    '--health-probe-bind-address=:8081',
  ]);
  const r = await render(
    'leaderElection.enabled=false',
    'replicaCount=1',
    'leaderElection.leaseDuration=30s',
    'leaderElection.renewDeadline=20s',
    'leaderElection.retryPeriod=4s',
    'logLevel=debug',
    'extraArgs[0]=--concurrency=2',
  );
  assert.equal(container(r).args, [
    'run',
    '--no-leader-elect',
    '--metrics-bind-address=:8080',
    '--health-probe-bind-address=:8081',
    '--leader-election-lease-duration=30s',
    '--leader-election-renew-deadline=20s',
    '--leader-election-retry-period=4s',
    '--log-level=debug',
    '--concurrency=2',
  ]);
  const audit = await render('auditWebhook.enabled=true', 'auditWebhook.tlsSecretName=my-tls', 'extraArgs[0]=--concurrency=2');
  assert.ok(container(audit).args.includes('--audit-webhook-bind-address=:8443'), 'audit flags');
  assert.is(container(audit).args.at(-1), '--concurrency=2', 'extra args come last');
  assert.equal(podSpec(audit).volumes?.find((v) => v.name === 'audit-tls')?.secret, { secretName: 'my-tls' });
  assert.ok(find(audit, 'Service', 'authpolicy-operator-audit'), 'the leader-only audit Service');
});

test('values: PodDisruptionBudget, NetworkPolicy, monitors and CRD toggles', async () => {
  const off = await render('podDisruptionBudget.enabled=false', 'networkPolicy.enabled=false', 'crds.install=false');
  assert.not.ok(find(off, 'PodDisruptionBudget'));
  assert.not.ok(find(off, 'NetworkPolicy'));
  assert.not.ok(find(off, 'CustomResourceDefinition'));
  const pdb = find(await render('podDisruptionBudget.minAvailable=50%'), 'PodDisruptionBudget') as unknown as { spec: Record<string, unknown> };
  assert.equal(pdb.spec.minAvailable, '50%');
  assert.not.ok('maxUnavailable' in pdb.spec, 'minAvailable replaces maxUnavailable');
  const three = find(await render('replicaCount=3', 'podDisruptionBudget.maxUnavailable=2'), 'PodDisruptionBudget') as unknown as {
    spec: Record<string, unknown>;
  };
  assert.is(three.spec.maxUnavailable, 2);
  const noKeep = find(await render('crds.keep=false'), 'CustomResourceDefinition');
  assert.is(noKeep?.metadata.annotations?.['helm.sh/resource-policy'], undefined);
  const mon = await render(
    'metrics.podMonitor.enabled=true',
    'metrics.podMonitor.labels.release=prom',
    'metrics.serviceMonitor.enabled=true',
    'metrics.serviceMonitor.interval=15s',
    'metrics.prometheusRule.enabled=true',
    'metrics.prometheusRule.labels.release=prom',
  );
  const pm = find(mon, 'PodMonitor') as unknown as { metadata: { labels: Record<string, string> }; spec: { podMetricsEndpoints: { port: string }[] } };
  assert.is(pm.metadata.labels.release, 'prom');
  assert.is(pm.spec.podMetricsEndpoints[0]?.port, 'metrics');
  assert.is((find(mon, 'ServiceMonitor') as unknown as { spec: { endpoints: { interval: string }[] } }).spec.endpoints[0]?.interval, '15s');
  const rule = find(mon, 'PrometheusRule') as unknown as {
    metadata: { labels: Record<string, string> };
    spec: { groups: { rules: { annotations: { summary: string } }[] }[] };
  };
  assert.is(rule.metadata.labels.release, 'prom');
  assert.match(rule.spec.groups[0]?.rules[0]?.annotations.summary ?? '', /\{\{ \$labels\.policy \}\}/, "Prometheus' templates pass through Helm untouched");
});

test('defaults safe on any cluster: probes admitted, one reconciler, drains never blocked, spread over nodes, arch guard', async () => {
  const r = await render();
  const policy = find(r, 'NetworkPolicy') as unknown as { spec: { ingress: { ports: { port: number }[]; from?: unknown }[] } };
  const admitted = policy.spec.ingress.flatMap((i) => (i.from === undefined ? i.ports.map((p) => p.port) : []));
  const c = container(r) as unknown as { ports: { name: string; containerPort: number }[]; livenessProbe: { httpGet: { port: string } } };
  const probePort = c.ports.find((p) => p.name === c.livenessProbe.httpGet.port)?.containerPort;
  assert.is(probePort, 8081);
  for (const p of c.ports) assert.ok(admitted.includes(p.containerPort), `port ${p.name} (${p.containerPort}) admitted by the NetworkPolicy, from any source`);
  const pdb = find(r, 'PodDisruptionBudget') as unknown as { spec: Record<string, unknown> };
  assert.equal(pdb.spec.maxUnavailable, 1, 'one eviction at a time, whatever the replica count');
  assert.not.ok('minAvailable' in pdb.spec);
  const pod = podSpec(r);
  assert.equal(pod.topologySpreadConstraints, [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'authpolicy-operator' } },
      matchLabelKeys: ['pod-template-hash'],
    },
  ]);
  assert.equal(pod.affinity, { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: ARCH_GUARD }] } } });
  // No configuration with two reconcilers: without leader election, more than one replica is refused.
  assert.match(await refused('leaderElection.enabled=false'), /leaderElection\.enabled=false with replicaCount=2 would run 2 reconcilers.*set replicaCount=1/);
  assert.is(find(await render('leaderElection.enabled=false', 'replicaCount=1'), 'Deployment')?.kind, 'Deployment');
  // A budget that would block every drain is refused, naming why.
  assert.match(await refused('replicaCount=1', 'podDisruptionBudget.minAvailable=1'), /minAvailable=1 with replicaCount=1 lets no pod be evicted/);
  assert.match(await refused('podDisruptionBudget.minAvailable=60%'), /lets no pod be evicted/);
  assert.match(await refused('podDisruptionBudget.maxUnavailable=0'), /maxUnavailable=0 lets no pod be evicted/);
  const one = find(await render('replicaCount=1'), 'PodDisruptionBudget') as unknown as { spec: Record<string, unknown> };
  assert.is(one.spec.maxUnavailable, 1, 'with one replica the budget still lets a drain evict it');
});

test('NOTES: a local policy in dry run, no URL', async () => {
  const r = await helm(['install', 'authpolicy-operator', CHART, '--namespace', 'authpolicy-system', '--dry-run=client']);
  assert.is(r.code, 0, r.stderr);
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  assert.ok(notes.length > 6, r.stdout.slice(-2000));
  assert.not.match(notes, /https?:\/\//, 'nothing fetched from a URL');
  // a heredoc a shell ends (the terminator alone on its line), holding the policy
  const policy = /^kubectl apply --server-side -f - <<'POLICY'\n([\s\S]*?)\nPOLICY$/m.exec(notes)?.[1] ?? '';
  const applied = parse(policy) as { kind: string; spec: { dryRun: boolean } } | null;
  assert.is(applied?.kind, 'AuthPolicy', notes);
  assert.is(applied?.spec.dryRun, true);
});

test('values: global, spread, extra env and volumes, ServiceAccount, heap, keepOnUninstall', async () => {
  assert.equal(await render('global.imageRegistry=registry.example'), await render(), 'global is accepted (subchart) and changes nothing');
  const spread = podSpec(
    await render(
      'topologySpreadConstraints[0].maxSkew=1',
      'topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone',
      'topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule',
    ),
  );
  assert.equal(spread.topologySpreadConstraints, [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }]);
  const anti = podSpec(
    await render(
      'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=50',
      'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=kubernetes.io/hostname',
    ),
  ).affinity as Record<string, unknown>;
  assert.ok(anti.podAntiAffinity, 'pod anti-affinity as given');
  assert.equal(
    anti.nodeAffinity,
    { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: ARCH_GUARD }] } },
    'the guard stays',
  );

  const extra = await render(
    'extraEnv[0].name=HTTPS_PROXY',
    'extraEnv[0].value=http://proxy.example:3128',
    'extraVolumes[0].name=ca',
    'extraVolumes[0].configMap.name=corp-ca',
    'extraVolumeMounts[0].name=ca',
    'extraVolumeMounts[0].mountPath=/etc/corp-ca',
  );
  const ec = container(extra);
  assert.equal(
    ec.env?.map((e) => e.name),
    ['NODE_OPTIONS', 'POD_NAMESPACE', 'POD_NAME', 'HTTPS_PROXY'],
    "config's env, then the extra",
  );
  assert.equal(
    ec.volumeMounts?.map((m) => m.name),
    ['api-access', 'ca'],
  );
  assert.equal(
    podSpec(extra).volumes?.map((v) => v.name),
    ['api-access', 'ca'],
  );
  assert.match(await refused('extraEnv[0].name=NODE_OPTIONS', 'extraEnv[0].value=x'), /extraEnv/);
  assert.match(await refused('extraVolumes[0].name=api-access'), /extraVolumes/);

  const sa = await render('serviceAccount.name=authpolicy', 'serviceAccount.annotations.team=platform');
  const account = find(sa, 'ServiceAccount');
  assert.is(account?.metadata.name, 'authpolicy');
  assert.is(account?.metadata.annotations?.team, 'platform');
  assert.is(podSpec(sa).serviceAccountName, 'authpolicy');
  const bindings = sa.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
  assert.ok(bindings.length >= 4);
  for (const b of bindings)
    assert.equal(
      (b as unknown as { subjects: unknown[] }).subjects,
      [{ kind: 'ServiceAccount', name: 'authpolicy', namespace: 'authpolicy-system' }],
      `${key(b)} binds it`,
    );
  const byo = await render('serviceAccount.create=false', 'serviceAccount.name=platform-sa');
  assert.not.ok(find(byo, 'ServiceAccount'), 'no ServiceAccount created');
  assert.is(podSpec(byo).serviceAccountName, 'platform-sa');

  const nodeOptions = (list: K8sObject[]): string | undefined => container(list).env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
  assert.is(nodeOptions(await render()), '--max-semi-space-size=1 --max-old-space-size-percentage=57', 'derived from the memory limit by Node');
  assert.is(nodeOptions(await render('heap.percentageOfMemoryLimit=70')), '--max-semi-space-size=1 --max-old-space-size-percentage=70');
  assert.is(nodeOptions(await render('heap.maxOldSpaceSizeMiB=1024', 'heap.percentageOfMemoryLimit=70')), '--max-semi-space-size=1 --max-old-space-size=1024');
  assert.match(await refused('heap.percentageOfMemoryLimit=95'), /percentageOfMemoryLimit/);

  const kept = await render('keepOnUninstall=true');
  for (const o of kept) assert.is(o.metadata.annotations?.['helm.sh/resource-policy'], 'keep', `${key(o)} kept on uninstall`);
  for (const o of await render()) if (o.kind !== 'CustomResourceDefinition') assert.is(o.metadata.annotations?.['helm.sh/resource-policy'], undefined, key(o));
});

test('a kustomize overlay to another namespace (with config/rbac/system-namespaces) keeps the kube-system and kube-node-lease Roles, and equals the chart there', async () => {
  const overlay = join(work, 'namespace-overlay');
  await mkdir(overlay);
  await writeFile(
    join(overlay, 'kustomization.yaml'),
    `namespace: security\nresources: [${relative(overlay, join(ROOT, 'config/default'))}]\ntransformers: [${relative(overlay, join(ROOT, 'config/rbac/system-namespaces'))}]\n`,
  );
  const list = objects(await kustomize(overlay));
  const role = (name: string, kind: string): K8sObject | undefined => list.find((o) => o.kind === kind && o.metadata.name === name);
  for (const [name, ns] of [
    ['authpolicy-operator-kube-system', 'kube-system'],
    ['authpolicy-operator-node-leases', 'kube-node-lease'],
  ] as const) {
    assert.is(role(name, 'Role')?.metadata.namespace, ns, `Role ${name} stays in ${ns}`);
    assert.is(role(name, 'RoleBinding')?.metadata.namespace, ns, `RoleBinding ${name} stays in ${ns}`);
  }
  for (const o of list) {
    if (o.kind === 'Namespace') assert.is(o.metadata.name, 'security');
    else if (o.metadata.namespace !== undefined) assert.ok(['security', 'kube-system', 'kube-node-lease'].includes(o.metadata.namespace), key(o));
    for (const s of (o as { subjects?: { namespace?: string }[] }).subjects ?? [])
      assert.is(s.namespace, 'security', `${key(o)} binds the ServiceAccount in security`);
  }
  // Without the transformers the same overlay moves them, which is what they are for.
  const bare = join(work, 'namespace-overlay-bare');
  await mkdir(bare);
  await writeFile(join(bare, 'kustomization.yaml'), `namespace: security\nresources: [${relative(bare, join(ROOT, 'config/default'))}]\n`);
  assert.is(
    objects(await kustomize(bare)).find((o) => o.kind === 'Role' && o.metadata.name === 'authpolicy-operator-kube-system')?.metadata.namespace,
    'security',
  );
  // The chart in namespace security renders the same objects.
  const chart = await helm(['template', 'authpolicy-operator', CHART, '--namespace', 'security']);
  assert.is(chart.code, 0, chart.stderr);
  assertSameObjects(objects(chart.stdout), list, 'overlay namespace: security');
});

test('another release namespace: namespaced objects and RBAC subjects follow it; kube-system and kube-node-lease Roles stay', async () => {
  const r = await helm(['template', 'ap', CHART, '--namespace', 'security']);
  assert.is(r.code, 0, r.stderr);
  const list = objects(r.stdout);
  for (const o of list) {
    const ns = o.metadata.namespace;
    if (ns !== undefined) assert.ok(['security', 'kube-system', 'kube-node-lease'].includes(ns), `${key(o)} in ${ns}`);
    for (const s of (o as { subjects?: { namespace?: string }[] }).subjects ?? [])
      assert.is(s.namespace, 'security', `${key(o)} binds the ServiceAccount in the release namespace`);
  }
  assert.ok(
    list.some((o) => o.metadata.namespace === 'kube-system'),
    'the kube-system Role stays there',
  );
});

test('a packaged chart (helm package) carries the config/ files it reads and renders the same', async () => {
  const pkg = await helm(['package', CHART, '--destination', work]);
  assert.is(pkg.code, 0, pkg.stderr);
  const tgz = join(work, 'authpolicy-operator-0.1.0.tgz');
  const fromDir = await render('auditWebhook.enabled=true', 'metrics.prometheusRule.enabled=true');
  const r = await helm([
    'template',
    'authpolicy-operator',
    tgz,
    '--namespace',
    'authpolicy-system',
    '--set',
    'auditWebhook.enabled=true',
    '--set',
    'metrics.prometheusRule.enabled=true',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(objects(r.stdout), fromDir);
});

test.run();
