// The real Argo Rollouts for the tests: its controller and CRDs, built from the Go module proxy by
// build-rollouts.sh (cached in ~/.cache/authpolicy-operator/rollouts/<hash>), or $AUTHPOLICY_ROLLOUTS
// (a directory with rollouts-controller and crds/). The controller runs as a process against a
// harness cluster, kept local: no leader election, metrics and healthz on free ports.
import { execFileSync } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { freePort } from '../cluster/ports.ts';
import { startProcess, type ManagedProcess } from '../cluster/processes.ts';
import { waitFor } from '../cluster/wait.ts';

/** The namespace the controller believes it runs in (POD_NAMESPACE: where it would read its notification settings). */
export const ROLLOUTS_NAMESPACE = 'argo-rollouts';
const CRDS = ['rollouts', 'analysisruns', 'analysistemplates', 'clusteranalysistemplates', 'experiments'];
let cached: string | undefined;

/** The directory with rollouts-controller and crds/ (building them first if needed: minutes the first time, instant after). */
export function rolloutsDir(): string {
  if (cached) return cached;
  if (process.env.AUTHPOLICY_ROLLOUTS) return (cached = process.env.AUTHPOLICY_ROLLOUTS);
  const script = fileURLToPath(new URL('./build-rollouts.sh', import.meta.url));
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = out.trim().split('\n').pop();
  if (!dir) throw new Error(`${script} printed no directory`);
  return (cached = dir);
}

/** Applies Argo Rollouts' own CRDs (Rollout, AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate, Experiment) and waits until served. */
export async function installRolloutsCrds(cluster: Cluster): Promise<void> {
  const dir = join(rolloutsDir(), 'crds');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  if (!files.includes('rollout-crd.yaml')) throw new Error(`${dir} has no rollout-crd.yaml: remove it and run test/rollouts/build-rollouts.sh again`);
  // Server-side: the CRDs are ~600 kB each, beyond what client-side apply's last-applied annotation can hold.
  await mustKubectl(cluster, ['apply', '--server-side', ...files.flatMap((f) => ['-f', join(dir, f)])]);
  // `kubectl wait` fails at once while a CRD has no conditions yet: asked again until the deadline.
  const wait = ['wait', '--for=condition=Established', '--timeout=10s', ...CRDS.map((c) => `crd/${c}.argoproj.io`)];
  await waitFor('the Argo Rollouts CRDs to be Established', async () => (await cluster.kubectl(wait)).code === 0, { timeoutMs: 60_000, intervalMs: 500 });
}

export interface RolloutsController {
  process: ManagedProcess;
  /** what the controller says its version is, from its first log line */
  version: string;
  /** the controller's whole log so far */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts rollouts-controller with the cluster's admin credentials (it needs cluster-wide rights to
 * replace pods; its RBAC is not what is under test) and waits until its caches are synced and its
 * workers run ("Started controller"). It listens on 0.0.0.0 (hard-coded upstream), on free ports.
 */
export async function startRolloutsController(cluster: Cluster): Promise<RolloutsController> {
  const bin = join(rolloutsDir(), 'rollouts-controller');
  const [metricsPort, healthzPort] = await Promise.all([freePort(), freePort()]);
  const proc = startProcess(
    'rollouts-controller',
    bin,
    [
      `--kubeconfig=${cluster.adminKubeconfig}`,
      '--leader-elect=false',
      `--metricsPort=${metricsPort}`,
      `--healthzPort=${healthzPort}`,
      '--loglevel=info',
      '--logformat=json',
    ],
    join(cluster.dir, 'logs', 'rollouts-controller.log'),
    { ...process.env, POD_NAMESPACE: ROLLOUTS_NAMESPACE },
  );
  const log = (): Promise<string> => readFile(proc.logFile, 'utf8').catch(() => '');
  try {
    await waitFor(
      'rollouts-controller to sync its caches and start its workers',
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`rollouts-controller exited with ${proc.child.exitCode}:\n${await proc.tail(20)}`);
        return (await log()).includes('"msg":"Started controller"');
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const starting = (await log()).split('\n').find((l) => l.includes('Argo Rollouts controller starting')) ?? '';
  const version = /"Version":"([^"]+)"/.exec(starting)?.[1] ?? 'unknown';
  return { process: proc, version, log, stop: () => proc.stop() };
}
