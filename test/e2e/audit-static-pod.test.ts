// The stale-token audit webhook where kube-apiserver runs on the host network, as kubeadm's
// static pod does: it cannot resolve the audit Service's DNS name, so config/audit/kubeadm
// gives the Service a fixed ClusterIP and the API server a webhook kubeconfig naming that
// address. Here the harness's API server runs on the host like that static pod, started
// with the flags of the shipped kubeadm-config.yaml and the shipped webhook kubeconfig;
// only the address is swapped for one this host reaches without kube-proxy (127.0.0.1 and
// the receiver's port: the harness runs no kube-proxy to route the ClusterIP to a pod),
// and the certificate paths for this test's. The receiver's serving certificate carries
// the ClusterIP as an IP SAN, as docs/platforms.md tells an admin to issue it.
import { isIP } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { writeKubeconfig } from '../cluster/kubeconfig.ts';
import { installOperatorPrereqs, operatorKubeconfig, OPERATOR_NAMESPACE, ROOT, startOperator, type OperatorProcess } from '../cluster/operator.ts';
import { createCA, issueCert } from '../cluster/pki.ts';
import { freePort } from '../cluster/ports.ts';
import { apply, getJson, rawGetStatus, waitForCondition } from '../cluster/requests.ts';

const test = suite('audit webhook for a host-network API server (kubeadm static pod)');
const KUBEADM = join(ROOT, 'config/audit/kubeadm');
let cluster: Cluster;
let op: OperatorProcess | undefined;
let dir: string;
/** the address the shipped webhook kubeconfig names */
let shipped: URL;

interface WebhookKubeconfig {
  clusters: { cluster: Record<string, string> }[];
  users: { user: Record<string, string> }[];
}
interface KubeadmConfig {
  apiServer: { extraArgs: { name: string; value: string }[] };
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authpolicy-audit-kubeadm-'));
  const webhook = parse(await readFile(join(KUBEADM, 'webhook-kubeconfig.yaml'), 'utf8')) as WebhookKubeconfig;
  const server = webhook.clusters[0]?.cluster.server ?? '';
  shipped = new URL(server);
  assert.ok(isIP(shipped.hostname), `the kubeadm webhook kubeconfig must name an address, not a DNS name (${server})`);

  const ca = await createCA(dir, 'audit-ca');
  const serving = await issueCert(dir, ca, { name: 'receiver', commonName: 'authpolicy-audit', altNames: ['IP:127.0.0.1', `IP:${shipped.hostname}`] });
  const client = await issueCert(dir, ca, { name: 'apiserver-audit-client', commonName: 'kube-apiserver-audit' });
  const receiverPort = await freePort();
  // The shipped file, with the address this host reaches and this test's certificates.
  for (const c of webhook.clusters)
    Object.assign(c.cluster, { server: `https://127.0.0.1:${receiverPort}${shipped.pathname}`, 'certificate-authority': ca.cert });
  for (const u of webhook.users) Object.assign(u.user, { 'client-certificate': client.cert, 'client-key': client.key });
  await writeFile(join(dir, 'webhook-kubeconfig.yaml'), stringify(webhook));

  // The flags of the shipped kubeadm-config.yaml, with this test's file paths.
  const kubeadm = parse(await readFile(join(KUBEADM, 'kubeadm-config.yaml'), 'utf8')) as KubeadmConfig;
  const files: Record<string, string> = {
    'audit-policy-file': join(ROOT, 'config/audit/policy.yaml'),
    'audit-webhook-config-file': join(dir, 'webhook-kubeconfig.yaml'),
  };
  const flags = kubeadm.apiServer.extraArgs.map((a) => `--${a.name}=${files[a.name] ?? a.value}`);
  assert.equal(
    flags.map((f) => f.split('=')[0]),
    ['--audit-policy-file', '--audit-webhook-config-file', '--audit-webhook-batch-max-wait'],
  );
  // Not shipped: a short retry backoff, since this API server starts before the receiver.
  cluster = await startCluster({ scheduler: false, apiserverArgs: [...flags, '--audit-webhook-initial-backoff=1s'] });
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', 'ci']);
  for (const sa of ['old-client', 'new-client']) await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'ci' } });
  op = startOperator({
    kubeconfig: await operatorKubeconfig(cluster),
    args: [
      '--no-leader-elect',
      `--audit-webhook-bind-address=127.0.0.1:${receiverPort}`,
      `--audit-webhook-cert-file=${serving.cert}`,
      `--audit-webhook-key-file=${serving.key}`,
      `--audit-webhook-client-ca-file=${ca.cert}`,
    ],
  });
  await op.waitForLog('the receiver', (l) => l.message === 'audit webhook receiver listening');
  await apply(cluster, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: { nodeAuthorization: { mode: 'Unmanaged' } },
  });
});
test.after(async () => {
  await op?.stop();
  await (cluster as Cluster | undefined)?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the kubeadm Component gives the leader-only audit Service the ClusterIP the webhook kubeconfig names', async () => {
  const overlay = await mkdtemp(join(dir, 'overlay-'));
  const rel = (p: string): string => relative(overlay, join(ROOT, p));
  await writeFile(
    join(overlay, 'kustomization.yaml'),
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [rel('config/default')],
      components: [rel('config/audit'), rel('config/audit/kubeadm')],
    }),
  );
  const rendered = parseAllDocuments(await mustKubectl(cluster, ['kustomize', overlay])).map((d) => d.toJS() as Record<string, unknown>);
  const service = rendered.find((o) => o.kind === 'Service' && (o.metadata as { name: string }).name === 'authpolicy-operator-audit') as
    { spec: { clusterIP?: string; selector: Record<string, string>; ports: { port: number }[] } } | undefined;
  assert.ok(service, 'the overlay renders the audit Service');
  assert.is(service.spec.clusterIP, shipped.hostname);
  assert.is(service.spec.ports[0]?.port, Number(shipped.port), 'the Service port is the one the webhook kubeconfig names');
  assert.equal(service.spec.selector, { 'app.kubernetes.io/name': 'authpolicy-operator', 'authpolicy.io/leader': 'true' });
  // The API server takes that address: it lies in the service range (kubeadm's default 10.96.0.0/12; the harness uses a /16 of it).
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: stringify(service) });
  const live = await getJson<{ spec: { clusterIP: string } }>(cluster, ['service', 'authpolicy-operator-audit', '-n', OPERATOR_NAMESPACE]);
  assert.is(live?.spec.clusterIP, shipped.hostname);
});

/** A bound token as the API server issues an extended one: valid for a year, but past its warnafter (as in stale-tokens.test.ts). */
async function staleToken(sa: string): Promise<string> {
  const account = await getJson<{ metadata: { uid: string } }>(cluster, ['serviceaccount', sa, '-n', 'ci']);
  const key = await importPKCS8(await readFile(cluster.signingKey().key, 'utf8'), 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({ 'kubernetes.io': { namespace: 'ci', serviceaccount: { name: sa, uid: account?.metadata.uid ?? '' }, warnafter: now - 3600 } })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer('https://kubernetes.default.svc.cluster.local')
    .setAudience('https://kubernetes.default.svc.cluster.local')
    .setSubject(`system:serviceaccount:ci:${sa}`)
    .setIssuedAt(now - 7200)
    .setNotBefore(now - 7200)
    .setExpirationTime(now + 365 * 86400)
    .sign(key);
}

test('audit events from the host-network API server reach the receiver by address: the stale token user is named', async () => {
  const stale = await writeKubeconfig(join(dir, 'stale.kubeconfig'), cluster.server, cluster.caFile, 'old', { token: await staleToken('old-client') });
  const fresh = await cluster.serviceAccountKubeconfig('ci', 'new-client');
  for (let i = 0; i < 3; i++) {
    assert.is(await rawGetStatus(cluster, stale, '/api'), 'OK');
    assert.is(await rawGetStatus(cluster, fresh, '/api'), 'OK');
  }
  const c = await waitForCondition(cluster, 'cluster', 'BoundTokensHealthy', (x) => x.reason === 'StaleTokensInUse', 90_000);
  assert.is(c.status, 'False');
  assert.match(c.message, /ci\/old-client/);
  assert.not.match(c.message, /new-client/);
});

test.run();
