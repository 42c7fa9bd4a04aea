// The operator as it ships: the compiled dist/ through bin/authpolicy-operator.js
// (what the image's ENTRYPOINT runs), on loopback ports, under a client certificate
// that RBAC sees as its ServiceAccount (CN system:serviceaccount:authpolicy-system:
// authpolicy-operator), so the shipped RBAC applies and a signing-key regeneration
// does not blind it; an extra group (bench:operator or bench:standby) tells the
// replicas apart in the audit log.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OPERATOR_USER = 'system:serviceaccount:authpolicy-system:authpolicy-operator';
export const OPERATOR_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:authpolicy-system'];

export interface RunningOperator {
  child: ChildProcess;
  pid: number;
  metricsUrl: Promise<string>;
  readyUrl: Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

export function startShippedOperator(kubeconfig: string): RunningOperator {
  const child = spawn(process.execPath, [
    `${ROOT}/bin/authpolicy-operator.js`, 'run', `--kubeconfig=${kubeconfig}`, '--leader-elect',
    '--leader-election-namespace=authpolicy-system', '--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0',
    '--log-level=info',
  ], {
    cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    // BENCH_OPERATOR_NODE_OPTIONS tries V8 flags on the operator only (e.g. --max-semi-space-size=2)
    env: { ...process.env, NODE_OPTIONS: process.env.BENCH_OPERATOR_NODE_OPTIONS ?? '' },
  });
  let raw = '';
  let resolveEndpoints: (e: { metrics: string; ready: string }) => void = () => undefined;
  const endpoints = new Promise<{ metrics: string; ready: string }>((r) => { resolveEndpoints = r; });
  const onData = (chunk: Buffer): void => {
    raw += chunk.toString();
    if (raw.length > 4_000_000) raw = raw.slice(-2_000_000);
    const m = /"message":"serving metrics and health probes"[^\n]*/.exec(raw) ?? /serving metrics and health probes[^\n]*/.exec(raw);
    if (m) {
      const metrics = /"metrics":"([^"]+)"/.exec(m[0])?.[1];
      const ready = /"ready":"([^"]+)"/.exec(m[0])?.[1];
      if (metrics && ready) resolveEndpoints({ metrics, ready });
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((r) => child.on('exit', () => { r(); }));
  return {
    child, pid: child.pid ?? 0,
    metricsUrl: endpoints.then((e) => e.metrics),
    readyUrl: endpoints.then((e) => e.ready),
    output: () => raw,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
