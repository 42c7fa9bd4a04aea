// A real Argo CD (v3.2.11, built from the Go module proxy by build-argocd.sh)
// beside the harness's control plane: its CRDs and base configuration from the
// module's manifests/, Redis, the repo-server and the application-controller
// (upstream's own commands, in the argocd-lite binary) as local processes on
// loopback; the Applications sync from a Git repository (git-server.ts). No API
// server, UI or CLI: the tests drive Argo CD through its CRDs, as a GitOps
// user's Git commits and kubectl do.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { freePort } from '../cluster/ports.ts';
import { startProcess, type ManagedProcess } from '../cluster/processes.ts';
import { waitFor } from '../cluster/wait.ts';

const run = promisify(execFile);
export const ARGOCD_NAMESPACE = 'argocd';

const cached = new Map<string, string>();
/**
 * The folder build-argocd.sh fills (building first if needed; instant when cached):
 * everything by default, or only the named targets (e.g. 'argocd-health-test').
 */
export function argocdDir(...targets: string[]): string {
  const key = targets.join(' ');
  const hit = cached.get(key);
  if (hit) return hit;
  const script = fileURLToPath(new URL('./build-argocd.sh', import.meta.url));
  const out = execFileSync('bash', [script, ...targets], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error(`${script} printed no folder`);
  cached.set(key, dir);
  return dir;
}

export interface ArgoCD {
  dir: string;
  /**
   * The health a Lua script gives an object, computed by Argo CD's own util/lua as the
   * application-controller runs a check from argocd-cm (build/health-test --eval): what
   * `argocd admin settings resource-overrides health` prints, without building the CLI.
   */
  evalHealth(scriptFile: string, objectFile: string): Promise<{ status: string; message: string }>;
  /** asks the controller to compare an Application with Git now, as `argocd app get --refresh` or a Git webhook does */
  refresh(app: string): Promise<void>;
  logs(component: 'application-controller' | 'repo-server' | 'redis', lines?: number): Promise<string>;
  /** stops the application-controller and repo-server and starts them again (Redis keeps its cache) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts Argo CD against `cluster`: applies its CRDs and base ConfigMaps/Secret
 * into namespace argocd, the `default` AppProject (which Argo CD's API server
 * would create), then Redis, the repo-server and the application-controller.
 * The controller runs with the harness's admin credentials, as its install's
 * ClusterRole grants everything, and reaches the cluster as
 * https://kubernetes.default.svc through ARGOCD_FAKE_IN_CLUSTER (its local
 * development setting: the in-cluster destination from KUBECONFIG).
 */
export async function startArgoCD(cluster: Cluster): Promise<ArgoCD> {
  const dir = argocdDir('argocd-lite', 'argocd-health-test', 'kustomize', 'redis-server');
  const bin = join(dir, 'argocd-lite');
  const work = join(cluster.dir, 'argocd');
  const logs = join(cluster.dir, 'logs');
  await mkdir(join(work, 'tmp'), { recursive: true });

  for (const f of await readdir(join(dir, 'crds'))) await mustKubectl(cluster, ['apply', '--server-side', '-f', join(dir, 'crds', f)]);
  await mustKubectl(cluster, ['create', 'namespace', ARGOCD_NAMESPACE]);
  for (const f of await readdir(join(dir, 'config')))
    await mustKubectl(cluster, ['apply', '--server-side', '-n', ARGOCD_NAMESPACE, '-f', join(dir, 'config', f)]);
  for (const crd of ['applications', 'appprojects'])
    await mustKubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', `crd/${crd}.argoproj.io`]);
  // What Argo CD's API server does at its first start (SettingsManager.InitializeSettings): a
  // server.secretkey in argocd-secret. Without it the settings are "incomplete" and the controller
  // never sees argocd-cm change (a health check patched in later would be ignored until a restart).
  // From a file, so the key is in no command line or error message.
  const secretPatch = join(work, 'argocd-secret.patch.json');
  await writeFile(secretPatch, JSON.stringify({ data: { 'server.secretkey': randomBytes(32).toString('base64') } }), { mode: 0o600 });
  await mustKubectl(cluster, ['patch', 'secret', 'argocd-secret', '-n', ARGOCD_NAMESPACE, '--type=merge', `--patch-file=${secretPatch}`]);
  const project = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: { name: 'default', namespace: ARGOCD_NAMESPACE },
    spec: { sourceRepos: ['*'], destinations: [{ server: '*', namespace: '*' }], clusterResourceWhitelist: [{ group: '*', kind: '*' }] },
  };
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: JSON.stringify(project) });

  const [redisPort, repoPort, repoMetrics, controllerMetrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const redisAddr = `127.0.0.1:${redisPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dir}:${process.env.PATH ?? ''}`, // kustomize for the repo-server
    HOME: work,
    TMPDIR: join(work, 'tmp'),
    ARGOCD_GPG_ENABLED: 'false',
    ARGOCD_ASK_PASS_SOCK: join(work, 'ask-pass.sock'),
    ARGOCD_SSH_DATA_PATH: join(work, 'ssh'),
    ARGOCD_TLS_DATA_PATH: join(work, 'tls'),
    ARGOCD_GNUPGHOME: join(work, 'gnupg'),
    ARGOCD_FAKE_IN_CLUSTER: 'true',
    KUBECONFIG: cluster.adminKubeconfig,
  };
  const redis = startProcess(
    'redis',
    join(dir, 'redis-server'),
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work],
    join(logs, 'argocd-redis.log'),
  );
  let repoServer: ManagedProcess | undefined;
  let controller: ManagedProcess | undefined;
  const start = async (): Promise<void> => {
    repoServer = startProcess(
      'argocd-repo-server',
      bin,
      [
        'repo-server',
        '--address=127.0.0.1',
        `--port=${repoPort}`,
        `--metrics-address=127.0.0.1`,
        `--metrics-port=${repoMetrics}`,
        '--disable-tls',
        `--redis=${redisAddr}`,
      ],
      join(logs, 'argocd-repo-server.log'),
      env,
    );
    await waitFor('argocd-repo-server to serve its metrics', async () => {
      if (repoServer?.child.exitCode !== null) throw new Error(`argocd-repo-server exited: ${await repoServer?.tail()}`);
      return (await fetch(`http://127.0.0.1:${repoMetrics}/metrics`).catch(() => undefined))?.ok;
    });
    controller = startProcess(
      'argocd-application-controller',
      bin,
      [
        'application-controller',
        `--kubeconfig=${cluster.adminKubeconfig}`,
        `--namespace=${ARGOCD_NAMESPACE}`,
        `--redis=${redisAddr}`,
        `--repo-server=127.0.0.1:${repoPort}`,
        '--repo-server-plaintext',
        `--metrics-port=${controllerMetrics}`,
        // Resource health in Application status (status.resources[].health), which the tests read;
        // off by default since Argo CD 3.0 (controller.resource.health.persist in argocd-cmd-params-cm).
        '--persist-resource-health',
      ],
      join(logs, 'argocd-application-controller.log'),
      env,
    );
    await waitFor('argocd-application-controller to serve its metrics', async () => {
      if (controller?.child.exitCode !== null) throw new Error(`argocd-application-controller exited: ${await controller?.tail()}`);
      return (await fetch(`http://127.0.0.1:${controllerMetrics}/metrics`).catch(() => undefined))?.ok;
    });
  };
  const stopBoth = async (): Promise<void> => {
    await controller?.stop();
    await repoServer?.stop();
  };
  try {
    await waitFor('redis to accept connections', async () => {
      if (redis.child.exitCode !== null) throw new Error(`redis exited: ${await redis.tail()}`);
      return (await redis.tail(50)).includes('Ready to accept connections');
    });
    await start();
  } catch (err) {
    await stopBoth();
    await redis.stop();
    throw err;
  }
  return {
    dir,
    async evalHealth(scriptFile, objectFile) {
      const r = await run(join(dir, 'argocd-health-test'), ['--eval', scriptFile, objectFile]);
      return JSON.parse(r.stdout) as { status: string; message: string };
    },
    async refresh(app) {
      await mustKubectl(cluster, ['annotate', '--overwrite', '-n', ARGOCD_NAMESPACE, `application/${app}`, 'argocd.argoproj.io/refresh=normal']);
    },
    async logs(component, lines = 40) {
      const p = component === 'redis' ? redis : component === 'repo-server' ? repoServer : controller;
      return (await p?.tail(lines)) ?? '';
    },
    async restart() {
      await stopBoth();
      await start();
    },
    async stop() {
      await stopBoth();
      await redis.stop();
    },
  };
}
