// The results file's shape (read by scripts: per size and contender at least
// rotation.seconds, rotation.requests.total, peakRssMiB, and the operator's
// ratioToFloor) and its Markdown table.
import type { Size } from './presets.ts';
import type { RequestCount } from './measure.ts';
import type { RotationResult } from './rotation.ts';

export interface Ratio {
  requests?: number;
  seconds?: number;
  peakRss?: number;
}

export interface ContenderResult {
  error?: string;
  startToReadySeconds?: number;
  startToFirstStatusSeconds?: number;
  /** every cache the leader reads synced (the idle period starts then) */
  startToCachesSyncedSeconds?: number;
  idle?: {
    seconds: number;
    requests: RequestCount;
    requestsFromMetric: Record<string, number>;
    cpuSeconds: number;
    cpuPercentOfCore: number;
    peakRssMiB: number;
    heapUsedMiB: number;
    heapTotalMiB: number;
    standbyPeakRssMiB: number;
  };
  rotation?: RotationResult & { requests: RequestCount; requestsFromMetric?: Record<string, number>; reloaderRequests?: number; blankerRequests?: number };
  peakRssMiB?: number;
  largestProcessRssMiB?: number;
  standbyPeakRssMiB?: number;
  /** the standby took the lease during the run (then standbyPeakRssMiB is its idle-period figure) */
  standbyLed?: boolean;
  standbyLedPeakRssMiB?: number;
  cpuSeconds?: number;
  exit?: number | string;
  ratioToFloor?: Ratio;
  ratioToKubectl?: Ratio;
  ratioToReloader?: Ratio;
}

export interface SizeResult {
  size: Size;
  setupSeconds: number;
  contenders: Record<string, ContenderResult>;
}

export interface BenchResult {
  preset: string;
  date: string;
  startedAt: string;
  durationSeconds: number;
  parallelism: number;
  /** NODE_OPTIONS the operator ran with: config/manager's, or BENCH_OPERATOR_NODE_OPTIONS */
  operatorNodeOptions: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    kernel: string;
    node: string;
    note: string;
    /** 1, 5 and 15-minute load averages (`uptime`) when the run began and when this file was written */
    loadAverage?: { atStart: number[]; atWrite: number[] };
  };
  sizes: SizeResult[];
}

const cell = (x: number | string | undefined): string => (x === undefined ? '–' : typeof x === 'number' ? String(Math.round(x * 100) / 100) : x);

export function markdown(r: BenchResult): string {
  const lines = [
    `# Benchmark ${r.preset}, ${r.date}`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}, Node ${r.machine.node}. ${r.machine.note}` +
      (r.machine.loadAverage
        ? ` Load average (1/5/15 min) at start ${r.machine.loadAverage.atStart.join(' / ')}, when written ${r.machine.loadAverage.atWrite.join(' / ')}.`
        : ''),
    `The operator ran with NODE_OPTIONS=${r.operatorNodeOptions ? r.operatorNodeOptions : '(none)'}.`,
    `Same cluster and run for every contender; ${r.parallelism} requests/rollouts in flight at most. Requests are counted from the API server's audit log per client identity.`,
    '',
  ];
  lines.push(...summary(r), '');
  for (const s of r.sizes) {
    const z = s.size;
    lines.push(
      `## ${z.nodes} Nodes, ${z.secrets} Secrets in ${z.namespaces} namespaces, ${z.deployments} Deployments, ${z.pods} Pods (setup ${s.setupSeconds} s)`,
      '',
    );
    lines.push(
      '| contender | rotation s | tokens s | requests | failed | rolled out once / more / not | tokens accepted | peak RSS MiB | CPU s |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, c] of Object.entries(s.contenders)) {
      if (c.error || !c.rotation) {
        lines.push(`| ${name} | error: ${(c.error ?? 'no rotation').slice(0, 120).replace(/\|/g, '/')} | | | | | | | |`);
        continue;
      }
      const rot = c.rotation;
      const label = name === 'reloader' ? `reloader (+ blanking ${cell(rot.blankerRequests)} of the requests)` : name;
      lines.push(
        `| ${label} | ${rot.finished ? '' : 'unfinished '}${rot.seconds} | ${cell(rot.tokensSeconds)} | ${rot.requests.total} | ${rot.requests.failed} | ${rot.restartedOnce} / ${rot.restartedMoreThanOnce} / ${rot.notRestarted} of ${rot.dependents} | ${rot.secretsAuthenticated}/${rot.secrets} | ${cell(c.peakRssMiB)} | ${cell(c.cpuSeconds)} |`,
      );
    }
    const op = s.contenders.operator;
    if (op?.idle) {
      const i = op.idle;
      lines.push(
        '',
        `Operator: ready (/readyz) ${cell(op.startToReadySeconds)} s, first status ${cell(op.startToFirstStatusSeconds)} s, every cache synced ${cell(op.startToCachesSyncedSeconds)} s after start; idle ${i.seconds} s: ${i.requests.total} requests (${Object.entries(
          i.requests.byVerbResource,
        )
          .slice(0, 6)
          .map(([k, v]) => `${v} ${k}`)
          .join(
            ', ',
          )}), ${i.cpuPercentOfCore} % of a core, peak RSS ${i.peakRssMiB} MiB, V8 heap ${i.heapUsedMiB} used / ${i.heapTotalMiB} total MiB; standby replica peak RSS ${cell(op.standbyPeakRssMiB)} MiB${op.standbyLed ? ` (idle period: it took the lease later in the run, the leader not renewing it in time, and then peaked at ${cell(op.standbyLedPeakRssMiB)} MiB)` : ''}.`,
      );
      const rr = (x: Ratio | undefined): string => (x ? `requests ×${cell(x.requests)}, time ×${cell(x.seconds)}, peak RSS ×${cell(x.peakRss)}` : '–');
      lines.push(
        `Operator ratios — to the raw floor: ${rr(op.ratioToFloor)}; to the kubectl script: ${rr(op.ratioToKubectl)}; to Reloader: ${rr(op.ratioToReloader)}.`,
      );
      const t = op.rotation?.rollouts;
      if (t)
        lines.push(
          `Operator restarts (${t.timed} timed, restart mark to NewReplicaSetAvailable, to the second): median ${t.medianSeconds} s, p90 ${t.p90Seconds} s; ${t.startedPerSecond} started a second; ${t.meanInFlight} in flight on average.`,
        );
      if (op.rotation)
        lines.push(
          `Operator rotation requests by verb and resource: ${Object.entries(op.rotation.requests.byVerbResource)
            .slice(0, 10)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')}.`,
        );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** One row per size: how each contender's rotation time, requests and peak RSS grow, and the operator's idle cost. */
export function summary(r: BenchResult): string[] {
  const names = [...new Set(r.sizes.flatMap((s) => Object.keys(s.contenders)))];
  const head = [
    'Nodes / Secrets / Deployments / Pods',
    ...names.map((n) => `${n}: rotation s, requests, peak RSS MiB`),
    'operator idle: requests/min, % core, standby RSS MiB, ready s',
  ];
  const rows = r.sizes.map((s) => {
    const z = s.size;
    const cells = names.map((n) => {
      const c = s.contenders[n];
      if (!c?.rotation) return c?.error ? 'error' : '–';
      return `${c.rotation.finished ? '' : '>'}${c.rotation.seconds}, ${c.rotation.requests.total}, ${cell(c.peakRssMiB)}`;
    });
    const op = s.contenders.operator;
    const idle = op?.idle
      ? `${Math.round((op.idle.requests.total / op.idle.seconds) * 60)}, ${op.idle.cpuPercentOfCore}, ${cell(op.standbyPeakRssMiB)}, ${cell(op.startToReadySeconds)}`
      : '–';
    return [`${z.nodes} / ${z.secrets} / ${z.deployments} / ${z.pods}`, ...cells, idle];
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}
