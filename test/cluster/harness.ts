// A real Kubernetes control plane on loopback for tests, benchmarks and the demo:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from
// pinned Go modules (see build-binaries.sh), with throwaway certificates.
import { readFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { binDir } from './binaries.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createCA, createSigningKey, issueCert, type CertFiles } from './pki.ts';
import { freePort } from './ports.ts';
import { startProcess, type ManagedProcess } from './processes.ts';
import { waitFor } from './wait.ts';

export type AuthorizationMode = 'Node,RBAC' | 'RBAC';

/** Authorizers of a structured AuthorizationConfiguration file (--authorization-config), in order. */
export type AuthorizerType = 'Node' | 'RBAC';

/** What decides requests and which admission plugins run; a restart may change either. */
interface ApiserverPolicyOptions {
  /** use --authorization-config with these authorizers (named by their type, lower case) instead of --authorization-mode */
  authorizationConfig?: AuthorizerType[];
  /** --enable-admission-plugins=NodeRestriction (default) or, false, --disable-admission-plugins=NodeRestriction */
  nodeRestriction?: boolean;
}

/** The controllers the harness runs by default: what the operator's stories need. */
export const DEFAULT_CONTROLLERS = [
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'daemonset-controller',
  'namespace-controller',
  'garbage-collector-controller',
];

export interface ClusterOptions extends ApiserverPolicyOptions {
  /** "Node,RBAC" (default, with the NodeRestriction admission plugin) or "RBAC" only: the incidents' broken fresh cluster */
  authorizationMode?: AuthorizationMode;
  /** give kube-controller-manager the SA private key, so its tokens controller fills legacy token Secrets (default true) */
  tokensController?: boolean;
  controllers?: string[];
  /** start kube-scheduler (default true) */
  scheduler?: boolean;
  /** extra kube-apiserver flags, e.g. ["--audit-webhook-config-file=…"] */
  apiserverArgs?: string[];
  /** wait for kube-controller-manager to be working (the default ServiceAccount exists) before returning (default true) */
  waitForControllers?: boolean;
}

export interface RestartOptions extends ApiserverPolicyOptions {
  /** regenerate the SA signing key pair: every token signed before is rejected afterwards */
  newSigningKey?: boolean;
  authorizationMode?: AuthorizationMode;
  tokensController?: boolean;
  /**
   * also restart kube-scheduler once kube-apiserver serves: its watches failed during the outage, and client-go's
   * reflector then waits 0.8 s doubling to 30 s (jitter up to twice that) before it watches again, a backoff that
   * only resets after 2 minutes without a failure, so outages a minute apart leave it watching up to a minute late
   */
  restartScheduler?: boolean;
  /** runs once kube-apiserver serves again, before kube-controller-manager starts (the bench waits there until kwok runs a Pod again) */
  onServing?: () => Promise<void>;
}

export interface Cluster {
  dir: string;
  server: string;
  port: number;
  /** etcd's client URL (its JSON gateway serves /v3/kv/range, /v3/kv/compaction) */
  etcdUrl: string;
  caFile: string;
  binDir: string;
  adminKubeconfig: string;
  /** how long the start took, in ms */
  startupMs: number;
  authorizationMode(): AuthorizationMode;
  /** a kubeconfig with a kubelet-like client certificate: CN=system:node:<name>, O=system:nodes */
  nodeKubeconfig(nodeName: string): Promise<string>;
  /** a kubeconfig with a client certificate for any user and groups (survives SA signing-key regeneration; the bench tells its clients apart by group) */
  userKubeconfig(user: string, groups: string[]): Promise<string>;
  /** a kubeconfig with a fresh bound token (TokenRequest) for a ServiceAccount */
  serviceAccountKubeconfig(namespace: string, name: string, expirationSeconds?: number): Promise<string>;
  /** the key files currently used to sign SA tokens (tests sign their own JWTs with it) */
  signingKey(): CertFiles & { pub: string };
  kubectl(args: string[], options?: { kubeconfig?: string; input?: string }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** stop kube-apiserver and kube-controller-manager and start them again; etcd keeps its data */
  restart(options?: RestartOptions): Promise<void>;
  stopControllerManager(): Promise<void>;
  /** (re)starts kube-controller-manager; `controllers` and `args` (e.g. the legacy-token cleaner and its period) stay for later starts */
  startControllerManager(options?: { tokensController?: boolean; controllers?: string[]; args?: string[] }): Promise<void>;
  /** the last log lines of a component, for failure messages */
  logs(component: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler', lines?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a control plane and waits until it serves (`/readyz`) and its controllers work. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = Date.now();
  const bin = binDir();
  const dir = await mkdtemp(join(tmpdir(), 'authpolicy-cluster-'));
  const removeDirOnExit = (): void => {
    if (!process.env.KEEP_CLUSTER) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', removeDirOnExit);
  const pki = join(dir, 'pki');
  await mkdir(pki);
  await mkdir(join(dir, 'logs'));

  let mode: AuthorizationMode = options.authorizationMode ?? 'Node,RBAC';
  let tokensController = options.tokensController ?? true;
  let authorizationConfig = options.authorizationConfig;
  let nodeRestriction = options.nodeRestriction ?? true;
  let configGeneration = 0;
  let controllers = options.controllers ?? DEFAULT_CONTROLLERS;
  let kcmArgs: string[] = [];
  const [etcdPort, peerPort, port] = await Promise.all([freePort(), freePort(), freePort()]);
  const server = `https://127.0.0.1:${port}`;

  const ca = await createCA(pki);
  const [serving, admin, kcm, sched, apiserverClient] = await Promise.all([
    issueCert(pki, ca, {
      name: 'apiserver',
      commonName: 'kube-apiserver',
      altNames: [
        'IP:127.0.0.1',
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default',
        'DNS:kubernetes.default.svc',
        'DNS:kubernetes.default.svc.cluster.local',
        'IP:10.96.0.1',
      ],
    }),
    issueCert(pki, ca, { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] }),
    // The harness's controller-manager runs all controllers under one identity
    // (--use-service-account-credentials=false), so it is given system:masters.
    issueCert(pki, ca, { name: 'controller-manager', commonName: 'system:kube-controller-manager', organizations: ['system:masters'] }),
    issueCert(pki, ca, { name: 'scheduler', commonName: 'system:kube-scheduler' }),
    issueCert(pki, ca, { name: 'apiserver-kubelet-client', commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] }),
  ]);
  let saKey = await createSigningKey(pki, 'sa-1');
  let keyGeneration = 1;

  const kubeconfigs = join(dir, 'kubeconfigs');
  await mkdir(kubeconfigs);
  const adminKubeconfig = await writeKubeconfig(join(kubeconfigs, 'admin.kubeconfig'), server, ca.cert, 'admin', {
    clientCertificate: admin.cert,
    clientKey: admin.key,
  });
  const kcmKubeconfig = await writeKubeconfig(join(kubeconfigs, 'controller-manager.kubeconfig'), server, ca.cert, 'kcm', {
    clientCertificate: kcm.cert,
    clientKey: kcm.key,
  });
  const schedKubeconfig = await writeKubeconfig(join(kubeconfigs, 'scheduler.kubeconfig'), server, ca.cert, 'scheduler', {
    clientCertificate: sched.cert,
    clientKey: sched.key,
  });

  const logFile = (name: string): string => join(dir, 'logs', `${name}.log`);
  const procs: Partial<Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler', ManagedProcess>> = {};

  const etcd = startProcess(
    'etcd',
    join(bin, 'etcd'),
    [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
      '--quota-backend-bytes=4294967296',
    ],
    logFile('etcd'),
  );
  procs.etcd = etcd;

  // kube-apiserver runs as a process, not as a static pod: no Pod in kube-system shows its flags,
  // so the operator sees this cluster as it sees a managed control plane (flags hidden).
  /** --authorization-mode, or a fresh AuthorizationConfiguration file (apiserver.config.k8s.io/v1) for --authorization-config */
  const authorizationArg = (): string => {
    if (!authorizationConfig) return `--authorization-mode=${mode}`;
    const file = join(dir, `authorization-config-${++configGeneration}.yaml`);
    const authorizers = authorizationConfig.map((type) => `  - type: ${type}\n    name: ${type.toLowerCase()}\n`).join('');
    writeFileSync(file, `apiVersion: apiserver.config.k8s.io/v1\nkind: AuthorizationConfiguration\nauthorizers:\n${authorizers}`);
    return `--authorization-config=${file}`;
  };

  const startApiserver = (): ManagedProcess =>
    startProcess(
      'kube-apiserver',
      join(bin, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        '--advertise-address=127.0.0.1',
        `--cert-dir=${pki}`,
        `--tls-cert-file=${serving.cert}`,
        `--tls-private-key-file=${serving.key}`,
        `--client-ca-file=${ca.cert}`,
        `--kubelet-client-certificate=${apiserverClient.cert}`,
        `--kubelet-client-key=${apiserverClient.key}`,
        `--service-account-key-file=${saKey.pub}`,
        `--service-account-signing-key-file=${saKey.key}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        authorizationArg(),
        // The incidents' clusters all had NodeRestriction on; only the authorizer differed.
        nodeRestriction ? '--enable-admission-plugins=NodeRestriction' : '--disable-admission-plugins=NodeRestriction',
        '--service-cluster-ip-range=10.96.0.0/16',
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
        ...(options.apiserverArgs ?? []),
      ],
      logFile('kube-apiserver'),
    );

  const startKcm = (): ManagedProcess =>
    startProcess(
      'kube-controller-manager',
      join(bin, 'kube-controller-manager'),
      [
        `--kubeconfig=${kcmKubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        `--controllers=${controllers.join(',')}`,
        `--root-ca-file=${ca.cert}`,
        '--use-service-account-credentials=false',
        ...(tokensController ? [`--service-account-private-key-file=${saKey.key}`] : []),
        '--concurrent-deployment-syncs=5',
        '--concurrent-replicaset-syncs=5',
        ...kcmArgs,
      ],
      logFile('kube-controller-manager'),
    );

  const startScheduler = (): ManagedProcess =>
    startProcess(
      'kube-scheduler',
      join(bin, 'kube-scheduler'),
      [
        `--kubeconfig=${schedKubeconfig}`,
        `--authentication-kubeconfig=${schedKubeconfig}`,
        `--authorization-kubeconfig=${schedKubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
      ],
      logFile('kube-scheduler'),
    );

  const [cachedCa, cachedAdminCert, cachedAdminKey] = await Promise.all([readFile(ca.cert), readFile(admin.cert), readFile(admin.key)]);
  const readyz = (): Promise<boolean> =>
    new Promise((resolve) => {
      const req = httpsRequest(`${server}/readyz`, { ca: cachedCa, cert: cachedAdminCert, key: cachedAdminKey, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => {
        resolve(false);
      });
      req.on('timeout', () => {
        req.destroy();
        resolve(false);
      });
      req.end();
    });

  const kubectl: Cluster['kubectl'] = async (args, opts = {}) => {
    const child = execFile(join(bin, 'kubectl'), [`--kubeconfig=${opts.kubeconfig ?? adminKubeconfig}`, ...args], { maxBuffer: 64 << 20 });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number>((resolve) =>
      child.on('close', (c) => {
        resolve(c ?? 1);
      }),
    );
    return { stdout, stderr, code };
  };

  // Generous deadlines: a process that exits fails the wait at once, so these bound only a slow start, which on a
  // 2-core machine running two e2e files (one of them a real kubelet and containerd) has taken over a minute.
  const waitUntilServing = async (what: string): Promise<void> => {
    const apiserver = procs['kube-apiserver'];
    await waitFor(
      `kube-apiserver /readyz (${what})`,
      async () => {
        if (apiserver && apiserver.child.exitCode !== null) {
          throw new Error(`kube-apiserver exited with ${apiserver.child.exitCode}:\n${await apiserver.tail(15)}`);
        }
        return await readyz();
      },
      { timeoutMs: 180_000, intervalMs: 150 },
    );
  };

  const waitForControllers = async (): Promise<void> => {
    await waitFor(
      'kube-controller-manager to create ServiceAccount default/default',
      async () => {
        const kcmProc = procs['kube-controller-manager'];
        if (kcmProc && kcmProc.child.exitCode !== null) {
          throw new Error(`kube-controller-manager exited with ${kcmProc.child.exitCode}:\n${await kcmProc.tail(15)}`);
        }
        const r = await kubectl(['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name']);
        return r.code === 0;
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([procs['kube-scheduler']?.stop(), procs['kube-controller-manager']?.stop()]);
    await procs['kube-apiserver']?.stop();
    await procs.etcd?.stop();
    process.off('exit', removeDirOnExit);
    if (!process.env.KEEP_CLUSTER) await rm(dir, { recursive: true, force: true });
  };

  try {
    // etcd first: kube-apiserver gives up on etcd after 20 s, and on a loaded machine (a cold CI, Go builds beside
    // the tests) etcd has taken that long to serve: every e2e file then failed with "etcd grpc connection not ready".
    await waitFor(
      'etcd /health',
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdPort}/health`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        return res?.ok === true && ((await res.json()) as { health?: string }).health === 'true';
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    procs['kube-apiserver'] = startApiserver();
    await waitUntilServing('first start');
    procs['kube-controller-manager'] = startKcm();
    if (options.scheduler ?? true) procs['kube-scheduler'] = startScheduler();
    if (options.waitForControllers ?? true) await waitForControllers();
  } catch (err) {
    const logs = await Promise.all(Object.values(procs).map(async (p) => `--- ${p.name}\n${await p.tail(10)}`));
    await stop();
    throw new Error(`control plane did not start: ${(err as Error).message}\n${logs.join('\n')}`, { cause: err });
  }

  const nodeKubeconfigs = new Map<string, string>();
  const cluster: Cluster = {
    dir,
    server,
    port,
    etcdUrl: `http://127.0.0.1:${etcdPort}`,
    caFile: ca.cert,
    binDir: bin,
    adminKubeconfig,
    startupMs: Date.now() - started,
    authorizationMode: () => mode,
    signingKey: () => saKey,
    async nodeKubeconfig(nodeName) {
      const existing = nodeKubeconfigs.get(nodeName);
      if (existing) return existing;
      const cert = await issueCert(pki, ca, { name: `kubelet-${nodeName}`, commonName: `system:node:${nodeName}`, organizations: ['system:nodes'] });
      const path = await writeKubeconfig(join(kubeconfigs, `node-${nodeName}.kubeconfig`), server, ca.cert, `system:node:${nodeName}`, {
        clientCertificate: cert.cert,
        clientKey: cert.key,
      });
      nodeKubeconfigs.set(nodeName, path);
      return path;
    },
    async userKubeconfig(user, groups) {
      const file = [user, ...groups].join('.').replace(/[^\w.-]/g, '_');
      const cert = await issueCert(pki, ca, { name: `user-${file}`, commonName: user, organizations: groups });
      return await writeKubeconfig(join(kubeconfigs, `user-${file}.kubeconfig`), server, ca.cert, user, { clientCertificate: cert.cert, clientKey: cert.key });
    },
    async serviceAccountKubeconfig(namespace, name, expirationSeconds = 3600) {
      const r = await kubectl(['create', 'token', name, '-n', namespace, `--duration=${expirationSeconds}s`]);
      if (r.code !== 0) throw new Error(`TokenRequest for serviceaccount ${namespace}/${name} failed: ${r.stderr.trim()}`);
      return await writeKubeconfig(join(kubeconfigs, `sa-${namespace}-${name}-${Date.now()}.kubeconfig`), server, ca.cert, `${namespace}:${name}`, {
        token: r.stdout.trim(),
      });
    },
    kubectl,
    async restart(opts = {}) {
      await procs['kube-controller-manager']?.stop();
      await procs['kube-apiserver']?.stop();
      if (opts.newSigningKey) saKey = await createSigningKey(pki, `sa-${++keyGeneration}`);
      if (opts.authorizationMode) mode = opts.authorizationMode;
      if (opts.authorizationConfig) authorizationConfig = opts.authorizationConfig;
      if (opts.nodeRestriction !== undefined) nodeRestriction = opts.nodeRestriction;
      if (opts.tokensController !== undefined) tokensController = opts.tokensController;
      procs['kube-apiserver'] = startApiserver();
      await waitUntilServing('restart');
      if (opts.restartScheduler && procs['kube-scheduler']) {
        await procs['kube-scheduler'].stop();
        procs['kube-scheduler'] = startScheduler();
      }
      await opts.onServing?.();
      procs['kube-controller-manager'] = startKcm();
      await waitForControllers();
    },
    async stopControllerManager() {
      await procs['kube-controller-manager']?.stop();
      delete procs['kube-controller-manager'];
    },
    async startControllerManager(opts = {}) {
      if (opts.tokensController !== undefined) tokensController = opts.tokensController;
      if (opts.controllers) controllers = opts.controllers;
      if (opts.args) kcmArgs = opts.args;
      await procs['kube-controller-manager']?.stop();
      procs['kube-controller-manager'] = startKcm();
      await waitForControllers();
    },
    async logs(component, lines = 40) {
      return (await procs[component]?.tail(lines)) ?? `(${component} is not running)`;
    },
    stop,
  };
  return cluster;
}

/** Runs a kubectl-like command line and throws with its stderr when it fails. */
export async function mustKubectl(cluster: Cluster, args: string[], options?: { kubeconfig?: string; input?: string }): Promise<string> {
  const r = await cluster.kubectl(args, options);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
