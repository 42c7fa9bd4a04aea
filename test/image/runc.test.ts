// The built OCI image, run as a container the way the Deployment's pod runs it:
// unpacked by umoci, run by runc against the local control plane with the
// ServiceAccount's token (TokenRequest) at the standard path, a read-only root
// filesystem, user 65532, no capabilities, no new privileges and the manager's
// args. Host network (the pod's network namespace would need a CNI; the API
// server listens on 127.0.0.1), with free ports instead of :8080/:8081 because
// other tests share this host's network.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { mustKubectl, startCluster, type Cluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, metricValue, OPERATOR_NAMESPACE, ROOT } from '../cluster/operator.ts';
import { waitFor } from '../cluster/wait.ts';
import { readLayout, unpack, type Layout } from './layout.ts';
import { checkRules } from './prometheus-rules.ts';

const test = suite('the image under runc');
const LAYOUT = process.env.IMAGE_LAYOUT ?? join(ROOT, 'image/out/oci');
const POD = 'authpolicy-operator-image-e2e';
const ID = `authpolicy-image-e2e-${process.pid}`;

let cluster: Cluster;
let work: string;
let container: ChildProcess | undefined;
let exit: Promise<number | null>;
let output = '';
let ports: { metrics: number; health: number };
let tag: string;
let layout: Layout;
const HOST_ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
let startedAt = 0;
let readyAfterMs = 0;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
const run = (file: string, args: string[]): Promise<Result> =>
  new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 << 20, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
const must = async (file: string, args: string[]): Promise<string> => {
  const r = await run(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
};
const runc = (...args: string[]): Promise<Result> => run('runc', ['--root', join(work, 'runc-state'), ...args]);
const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
      .listen(0, '127.0.0.1', () => {
        const addr = s.address();
        s.close(() => {
          resolve(typeof addr === 'object' && addr ? addr.port : 0);
        });
      })
      .on('error', reject);
  });
const get = async (port: number, path: string): Promise<{ status: number; body: string }> => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
  return { status: r.status, body: await r.text() };
};
const show = (): string => `\n--- container output (last 4000 chars)\n${output.slice(-4000)}`;

test.before(async () => {
  if (!existsSync(join(LAYOUT, 'index.json'))) await must('bash', [join(ROOT, 'image/build.sh')]);
  work = await mkdtemp(join(tmpdir(), 'authpolicy-image-'));
  await chmod(work, 0o755);
  cluster = await startCluster({ scheduler: false });
});
test.after(async () => {
  if (container && container.exitCode === null) {
    await runc('kill', ID, 'KILL');
    await exit;
  }
  if (work) {
    await runc('delete', '--force', ID);
    await rm(work, { recursive: true, force: true });
  }
  await (cluster as Cluster | undefined)?.stop();
});

test('the image is configured as the Deployment expects on each platform: user 65532, entrypoint node, cmd run, OCI labels', async () => {
  layout = await readLayout(LAYOUT);
  tag = layout.tag;
  const version = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.is(tag, version, 'tagged with package.json version');
  assert.equal(Object.keys(layout.platforms), ['amd64', 'arm64']);
  for (const [arch, { config, manifest }] of Object.entries(layout.platforms)) {
    assert.is(config.config.User, '65532:65532', arch);
    assert.equal(config.config.Entrypoint, ['node', '/app/bin/authpolicy-operator.js'], arch);
    assert.equal(config.config.Cmd, ['run'], arch);
    for (const l of ['version', 'source', 'licenses', 'revision'])
      assert.ok(config.config.Labels?.[`org.opencontainers.image.${l}`], `${arch}: label org.opencontainers.image.${l}`);
    assert.is(manifest.layers.length, 3, `${arch}: base, node, app`);
  }
});

test('runs as the pod would: becomes leader, serves /readyz and /metrics, reconciles the sample to Ready', async () => {
  await installOperatorPrereqs(cluster);
  // The pod the container stands for (no scheduler: it stays Pending), so the leader's label has a target.
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: POD, namespace: OPERATOR_NAMESPACE, labels: { 'app.kubernetes.io/name': 'authpolicy-operator' } },
      spec: { serviceAccountName: 'authpolicy-operator', containers: [{ name: 'operator', image: `authpolicy-operator:${tag}` }] },
    }),
  });

  // The projected volume the kubelet would write: a TokenRequest token, the cluster CA, the namespace.
  const sa = join(work, 'serviceaccount');
  await mkdir(sa, { mode: 0o755 });
  await chmod(sa, 0o755);
  const token = (await mustKubectl(cluster, ['create', 'token', 'authpolicy-operator', '-n', OPERATOR_NAMESPACE, '--duration=600s'])).trim();
  await writeFile(join(sa, 'token'), token, { mode: 0o644 });
  await copyFile(cluster.caFile, join(sa, 'ca.crt'));
  await chmod(join(sa, 'ca.crt'), 0o644);
  await writeFile(join(sa, 'namespace'), OPERATOR_NAMESPACE, { mode: 0o644 });

  const bundle = join(work, 'bundle');
  await unpack(layout, HOST_ARCH, work, bundle); // this machine's platform of the index
  const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
    process: {
      args: string[];
      env: string[];
      user: { uid: number; gid: number };
      terminal: boolean;
      noNewPrivileges?: boolean;
      capabilities: Record<string, string[]>;
    };
    root: { readonly?: boolean };
    hostname?: string;
    mounts: { destination: string; type: string; source: string; options: string[] }[];
    linux: { namespaces: { type: string }[] };
  };
  assert.equal(spec.process.user, { uid: 65532, gid: 65532 }, 'the image runs as 65532');
  const deployment = parse(await readFile(join(ROOT, 'config/manager/manager.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  ports = { metrics: await freePort(), health: await freePort() };
  const args = (deployment.spec.template.spec.containers[0]?.args ?? []).map((a) =>
    a
      .replace(/^--metrics-bind-address=.*/, `--metrics-bind-address=127.0.0.1:${ports.metrics}`)
      .replace(/^--health-probe-bind-address=.*/, `--health-probe-bind-address=127.0.0.1:${ports.health}`),
  );
  assert.is(args[0], 'run', "the manager's args start with run (the image's cmd)");
  spec.process.args = [...spec.process.args.slice(0, -1), ...args]; // entrypoint + the manager's args
  spec.process.terminal = false;
  spec.process.noNewPrivileges = true;
  spec.process.capabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  spec.process.env = [
    ...spec.process.env.filter((e) => !e.startsWith('TERM=')),
    'KUBERNETES_SERVICE_HOST=127.0.0.1',
    `KUBERNETES_SERVICE_PORT=${cluster.port}`,
    `POD_NAMESPACE=${OPERATOR_NAMESPACE}`,
    `POD_NAME=${POD}`,
  ];
  spec.root.readonly = true;
  spec.hostname = POD;
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== 'network');
  spec.mounts.push({
    destination: '/var/run/secrets/kubernetes.io/serviceaccount',
    type: 'bind',
    source: sa,
    options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
  });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec, null, 2));

  startedAt = Date.now();
  container = spawn('runc', ['--root', join(work, 'runc-state'), 'run', '--bundle', bundle, ID], { stdio: ['ignore', 'pipe', 'pipe'] });
  container.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  container.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  exit = new Promise((resolve) =>
    container?.on('exit', (code) => {
      resolve(code);
    }),
  );

  await waitFor('/readyz to answer 200', async () => (await get(ports.health, '/readyz')).status === 200, { timeoutMs: 60_000 }).catch((err: unknown) => {
    throw new Error(`${String(err)}${show()}`);
  });
  readyAfterMs = Date.now() - startedAt;
  const lease = await waitFor(
    'the container to hold the leader Lease',
    async () => {
      const l = JSON.parse(await mustKubectl(cluster, ['get', 'lease', 'authpolicy-operator', '-n', OPERATOR_NAMESPACE, '-o', 'json'])) as {
        spec: { holderIdentity?: string };
      };
      return l.spec.holderIdentity?.startsWith(`${POD}_`) ? l : undefined;
    },
    { timeoutMs: 60_000 },
  );
  assert.ok(lease.spec.holderIdentity, 'lease held');
  await waitFor(
    `pod ${POD} labelled authpolicy.io/leader=true`,
    async () =>
      (await mustKubectl(cluster, ['get', 'pod', POD, '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.metadata.labels.authpolicy\\.io/leader}'])) === 'true',
  );

  await mustKubectl(cluster, ['apply', '--server-side', '-f', join(ROOT, 'config/samples/authpolicy_v1alpha1_authpolicy.yaml')]);
  const wait = await cluster.kubectl(['wait', '--for=condition=Ready', 'authpolicy/cluster', '--timeout=120s']);
  assert.is(wait.code, 0, `${wait.stderr}${show()}`);

  const metrics = await get(ports.metrics, '/metrics');
  assert.is(metrics.status, 200);
  assert.is(metricValue(metrics.body, 'leader_election_master_status', { name: 'authpolicy-operator' }), 1);
  assert.is(metricValue(metrics.body, 'authpolicy_condition', { policy: 'cluster', type: 'Ready', status: 'True' }), 1);
  const rootfs = await run('du', ['-sb', join(bundle, 'rootfs')]);
  const blobs = await run('du', ['-sb', join(LAYOUT, 'blobs')]);
  console.log(
    `image: ${Math.round(Number(blobs.stdout.split('\t')[0]) / 2 ** 20)} MiB compressed, ${Math.round(Number(rootfs.stdout.split('\t')[0]) / 2 ** 20)} MiB unpacked; /readyz 200 after ${readyAfterMs} ms`,
  );
});

test("a legacy token rotation in the container: the counters move and every alert's metric and labels exist", async () => {
  const ns = 'image-e2e';
  await mustKubectl(cluster, ['create', 'namespace', ns]);
  await mustKubectl(cluster, ['create', 'serviceaccount', 'builder', '-n', ns]);
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'kubernetes.io/service-account-token',
          metadata: { name: 'builder-token', namespace: ns, annotations: { 'kubernetes.io/service-account.name': 'builder' } },
        },
        // no replicas: its rollout finishes without a kubelet
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'builder', namespace: ns },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'builder' } },
            template: {
              metadata: { labels: { app: 'builder' } },
              spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 't', secret: { secretName: 'builder-token' } }] },
            },
          },
        },
      ],
    }),
  });
  await waitFor(
    'the tokens controller to fill builder-token',
    async () => (await mustKubectl(cluster, ['get', 'secret', 'builder-token', '-n', ns, '-o', 'jsonpath={.data.token}'])) !== '',
  );
  // A token the API server rejects (InvalidToken): the operator must rotate it in place and restart the Deployment.
  await mustKubectl(cluster, [
    'patch',
    'secret',
    'builder-token',
    '-n',
    ns,
    '--type=merge',
    '-p',
    JSON.stringify({ data: { token: Buffer.from('not-a-valid-token').toString('base64') } }),
  ]);
  const scrape = await waitFor(
    'a succeeded rotation and a restart in /metrics',
    async () => {
      const body = (await get(ports.metrics, '/metrics')).body;
      const rotated = metricValue(body, 'authpolicy_token_rotations_total', { namespace: ns, result: 'succeeded' }) ?? 0;
      const restarted = metricValue(body, 'authpolicy_workload_restarts_total', { kind: 'Deployment', namespace: ns, result: 'restarted' }) ?? 0;
      return rotated >= 1 && restarted >= 1 ? body : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  ).catch((err: unknown) => {
    throw new Error(`${String(err)}${show()}`);
  });
  const token = Buffer.from(await mustKubectl(cluster, ['get', 'secret', 'builder-token', '-n', ns, '-o', 'jsonpath={.data.token}']), 'base64').toString();
  assert.is.not(token, 'not-a-valid-token', 'the token was re-issued in place');
  const problems = checkRules(await readFile(join(ROOT, 'config/prometheus/rules.yaml'), 'utf8'), scrape);
  assert.equal(problems, [], problems.join('\n'));
});

test('SIGTERM: the container exits 0 and releases the lease', async () => {
  const kill = await runc('kill', ID, 'TERM');
  assert.is(kill.code, 0, kill.stderr);
  const code = await Promise.race([
    exit,
    new Promise<string>((r) =>
      setTimeout(() => {
        r('still running after 30 s');
      }, 30_000),
    ),
  ]);
  assert.is(code, 0, `exit code${show()}`);
  const lease = JSON.parse(await mustKubectl(cluster, ['get', 'lease', 'authpolicy-operator', '-n', OPERATOR_NAMESPACE, '-o', 'json'])) as {
    spec: { holderIdentity?: string; leaseDurationSeconds?: number };
  };
  assert.is(lease.spec.holderIdentity ?? '', '', 'the lease is released');
  assert.match(output, /released the leader lease/);
});

test.run();
