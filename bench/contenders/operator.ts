// The operator as it ships: the compiled dist/ through bin/authpolicy-operator.js
// (what the image's ENTRYPOINT runs) with config/manager's leader-election timings, on loopback ports, under a client certificate
// that RBAC sees as its ServiceAccount (CN system:serviceaccount:authpolicy-system:
// authpolicy-operator), so the shipped RBAC applies and a signing-key regeneration
// does not blind it; an extra group (bench:operator or bench:standby) tells the
// replicas apart in the audit log.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { ReplicaCgroups } from '../cgroup.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const OPERATOR_USER = 'system:serviceaccount:authpolicy-system:authpolicy-operator';
export const OPERATOR_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:authpolicy-system'];

export interface RunningOperator {
  child: ChildProcess;
  pid: number;
  metricsUrl: Promise<string>;
  readyUrl: Promise<string>;
  /** the last 2–4 MB of its output */
  output(): string;
  /** its "became leader" and "leader election lost" lines, counted as they arrive (output() keeps only the last MBs) */
  leadership(): { became: number; lost: number };
  stop(): Promise<void>;
}

/**
 * The NODE_OPTIONS the operator runs with: config/manager's, as shipped, unless
 * BENCH_OPERATOR_NODE_OPTIONS overrides them (a V8-flag trial; empty for none).
 * Under the shipped memory limit (a memory cgroup) they are passed as they are: Node sizes
 * --max-old-space-size-percentage from the cgroup's limit. Without one (--no-limits), a share of
 * the limit becomes the size it would give under the manifest's limit.
 */
export function operatorNodeOptions(underMemoryLimit = false): string {
  const override = process.env.BENCH_OPERATOR_NODE_OPTIONS;
  if (override !== undefined) return override;
  const manifest = parse(readFileSync(`${ROOT}/config/manager/manager.yaml`, 'utf8')) as {
    spec: { template: { spec: { containers: { env?: { name: string; value?: string }[]; resources?: { limits?: { memory?: string } } }[] } } };
  };
  const container = manifest.spec.template.spec.containers[0];
  const options = container?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  if (underMemoryLimit) return options;
  const limitMiB = /^(\d+)Mi$/.exec(container?.resources?.limits?.memory ?? '')?.[1];
  return options.replace(/--max-old-space-size-percentage=(\d+)/, (flag, percent: string) =>
    limitMiB === undefined ? flag : `--max-old-space-size=${Math.floor((Number(limitMiB) * Number(percent)) / 100)}`,
  );
}

/** config/manager's leader-election timings (--leader-election-lease-duration=60s …), passed as shipped. */
export function shippedLeaderElectionArgs(): string[] {
  const manifest = parse(readFileSync(`${ROOT}/config/manager/manager.yaml`, 'utf8')) as {
    spec: { template: { spec: { containers: { args?: string[] }[] } } };
  };
  return (manifest.spec.template.spec.containers[0]?.args ?? []).filter((a) => /^--leader-election-(lease-duration|renew-deadline|retry-period)=/.test(a));
}

/** Starts a replica; with `cgroups`, inside them (the shipped requests and limits, see ../cgroup.ts). */
export function startShippedOperator(kubeconfig: string, cgroups?: ReplicaCgroups): RunningOperator {
  const argv = [
    `${ROOT}/bin/authpolicy-operator.js`,
    'run',
    `--kubeconfig=${kubeconfig}`,
    '--leader-elect',
    ...shippedLeaderElectionArgs(),
    '--leader-election-namespace=authpolicy-system',
    '--metrics-bind-address=127.0.0.1:0',
    '--health-probe-bind-address=127.0.0.1:0',
    '--log-level=info',
  ];
  const run = cgroups ? cgroups.wrap(process.execPath, argv) : { command: process.execPath, args: argv };
  const child = spawn(run.command, run.args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: operatorNodeOptions(cgroups !== undefined) },
  });
  let raw = '';
  let pending = '';
  const leadership = { became: 0, lost: 0 };
  let resolveEndpoints: (e: { metrics: string; ready: string }) => void = () => undefined;
  const endpoints = new Promise<{ metrics: string; ready: string }>((r) => {
    resolveEndpoints = r;
  });
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString();
    raw += text;
    if (raw.length > 4_000_000) raw = raw.slice(-2_000_000);
    pending += text;
    const nl = pending.lastIndexOf('\n');
    if (nl >= 0) {
      const lines = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      leadership.became += (lines.match(/"message":"became leader"/g) ?? []).length;
      leadership.lost += (lines.match(/"message":"leader election lost/g) ?? []).length;
    }
    const m = /"message":"serving metrics and health probes"[^\n]*/.exec(raw) ?? /serving metrics and health probes[^\n]*/.exec(raw);
    if (m) {
      const metrics = /"metrics":"([^"]+)"/.exec(m[0])?.[1];
      const ready = /"ready":"([^"]+)"/.exec(m[0])?.[1];
      if (metrics && ready) resolveEndpoints({ metrics, ready });
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((r) =>
    child.on('exit', () => {
      r();
    }),
  );
  return {
    child,
    pid: child.pid ?? 0,
    metricsUrl: endpoints.then((e) => e.metrics),
    readyUrl: endpoints.then((e) => e.ready),
    output: () => raw,
    leadership: () => ({ ...leadership }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
