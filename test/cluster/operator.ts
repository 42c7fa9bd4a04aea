// Installing the operator's CRD and RBAC from config/ into a harness cluster,
// and running the operator from source as a real process under its own
// ServiceAccount, so e2e tests prove the RBAC in config/ is sufficient.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { mustKubectl, type Cluster } from './harness.ts';
import { waitFor } from './wait.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OPERATOR_NAMESPACE = 'authpolicy-system';

/** Applies the CRD and config/rbac (the operator's ServiceAccount and roles) and waits for the CRD to be served. */
export async function installOperatorPrereqs(cluster: Cluster): Promise<void> {
  await mustKubectl(cluster, ['create', 'namespace', OPERATOR_NAMESPACE]).catch((err: unknown) => {
    if (!/AlreadyExists/.test(String(err))) throw err;
  });
  await mustKubectl(cluster, ['apply', '--server-side', '-k', `${ROOT}/config/crd`]);
  await mustKubectl(cluster, ['apply', '--server-side', '-k', `${ROOT}/config/rbac`]);
  await mustKubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/authpolicies.authpolicy.io']);
}

/** A kubeconfig for the operator's ServiceAccount (a bound token from TokenRequest). */
export async function operatorKubeconfig(cluster: Cluster): Promise<string> {
  return await cluster.serviceAccountKubeconfig(OPERATOR_NAMESPACE, 'authpolicy-operator', 24 * 3600);
}

export interface LogLine {
  level: string;
  message: string;
  [k: string]: unknown;
}

export interface OperatorProcess {
  child: ChildProcess;
  logs: LogLine[];
  /** raw output, for failure messages */
  output(): string;
  metricsUrl(): Promise<string>;
  healthUrl(): Promise<string>;
  metrics(): Promise<string>;
  waitForLog(what: string, match: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM (default) or SIGKILL; resolves with the exit code or signal */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface OperatorOptions {
  kubeconfig: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Starts `authpolicy-operator run` from source with free loopback ports for metrics and health. */
export function startOperator(opts: OperatorOptions): OperatorProcess {
  const child = spawn(
    process.execPath,
    [
      `${ROOT}/src/cli/main.ts`,
      'run',
      `--kubeconfig=${opts.kubeconfig}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      `--leader-election-namespace=${OPERATOR_NAMESPACE}`,
      '--log-level=debug',
      ...(opts.args ?? []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  const logs: LogLine[] = [];
  let raw = '';
  let partial = '';
  const onData = (chunk: Buffer): void => {
    raw += chunk.toString();
    partial += chunk.toString();
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', message: line });
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const waitForLog: OperatorProcess['waitForLog'] = async (what, match, timeoutMs = 30_000) =>
    await waitFor(
      `operator log: ${what}`,
      () => {
        if (child.exitCode !== null) throw new Error(`operator exited (${child.exitCode}):\n${raw.slice(-3000)}`);
        return logs.find(match);
      },
      { timeoutMs, intervalMs: 100 },
    );
  const endpoints = async (): Promise<{ metrics: string; ready: string }> => {
    const line = await waitForLog('serving metrics and health probes', (l) => l.message === 'serving metrics and health probes');
    return { metrics: String(line.metrics), ready: String(line.ready) };
  };
  return {
    child,
    logs,
    output: () => raw,
    metricsUrl: async () => (await endpoints()).metrics,
    healthUrl: async () => (await endpoints()).ready.replace(/\/readyz$/, ''),
    async metrics() {
      const res = await fetch((await endpoints()).metrics);
      return await res.text();
    },
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      // E2E_ARTIFACTS=<dir> keeps every operator's log for a post-mortem.
      const dir = process.env.E2E_ARTIFACTS;
      if (dir) await writeFile(`${dir}/operator-${child.pid ?? 0}.log`, raw);
      return code;
    },
  };
}

/** Runs `authpolicy-operator check` from source as a CI pipeline would (admin kubeconfig); its exit code and output. */
export async function runCheck(cluster: Cluster, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return await new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${ROOT}/src/cli/main.ts`, 'check', `--kubeconfig=${cluster.adminKubeconfig}`, ...args],
      { cwd: ROOT },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
      },
    );
  });
}

/** The value of a Prometheus sample, e.g. metricValue(text, 'leader_election_master_status', {name: 'x'}). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x): [string, string] => [x[1] ?? '', x[2] ?? '']));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[4]);
  }
  return undefined;
}
