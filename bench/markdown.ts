// A results file's Markdown: the machine and its load, the build and the limits it ran under, then per size
// one table per run and, over repeated runs, the median and spread of every figure.
import { sharesFor, quotaFor } from './cgroup.ts';
import { formatSpread } from './stats.ts';
import { MiB } from './measure.ts';
import type { BenchResult, ContenderResult, Ratio, SizeResult } from './report.ts';

const cell = (x: number | string | undefined): string => (x === undefined ? '–' : typeof x === 'number' ? String(Math.round(x * 100) / 100) : x);

const LABELS: Record<string, string> = {
  operator: 'operator (leader + standby)',
  kubectl: 'kubectl script',
  floor: 'raw floor',
  reloader: 'Reloader, delete/recreate trigger',
  'reloader-blank': 'Reloader, blank-refill trigger',
};

function header(r: BenchResult): string[] {
  const res = r.operatorResources;
  const load = r.machine.loadAverage;
  return [
    `# Benchmark ${r.preset}, ${r.date}${r.commit ? `, build ${r.commit}` : ''}`,
    '',
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}, Node ${r.machine.node}.${r.machine.note ? ` ${r.machine.note.replace(/\.?$/, '.')}` : ''}` +
      (load ? ` Load average (1/5/15 min) at start ${load.atStart.join(' / ')}, when written ${load.atWrite.join(' / ')}.` : '') +
      ' Anything else running on the machine shows in its load: CPU seconds and request counts do not depend on it, wall times do; each rotation' +
      "'s mean 1-minute load is in its row.",
    `The operator ran with NODE_OPTIONS=${r.operatorNodeOptions ? r.operatorNodeOptions : '(none)'}` +
      (res
        ? `, each replica in its own cgroups with config/manager's resources as the kubelet sets them (the cpu cgroups in one parent of default weight, as in kubepods): cpu request ${cell(res.requests.cpuMilli)}m (cpu.shares ${res.requests.cpuMilli === undefined ? '–' : sharesFor(res.requests.cpuMilli)}), limit ${cell(res.limits.cpuMilli)}m (cfs_quota ${res.limits.cpuMilli === undefined ? '–' : quotaFor(res.limits.cpuMilli) / 1000} ms per 100 ms), memory limit ${MiB(res.limits.memoryBytes ?? 0)} MiB (request ${MiB(res.requests.memoryBytes ?? 0)} MiB, a scheduling figure only).`
        : ', without limits.'),
    `Same cluster and run for every contender; ${r.parallelism} requests/rollouts in flight at most (Reloader: one worker, whatever this says). Requests are counted from the API server's audit log per client identity.${r.repeat && r.repeat > 1 ? ` Each size ran ${r.repeat} times; ratios are taken within a run, then summarised.` : ''}`,
    '',
  ];
}

function runTable(run: Record<string, ContenderResult>): string[] {
  const lines = [
    '| contender | rotation s | tokens s | requests | failed | rolled out once / more / not | tokens accepted | rotation CPU s | API server CPU s | peak RSS MiB | watches held | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, c] of Object.entries(run)) {
    const label = LABELS[name] ?? name;
    if (c.error || !c.rotation) {
      lines.push(`| ${label} | error: ${(c.error ?? 'no rotation').slice(0, 160).replace(/\|/g, '/')} | | | | | | | | | | |`);
      continue;
    }
    const rot = c.rotation;
    const requests = rot.triggerRequests !== undefined ? `${rot.requests.total} (trigger ${rot.triggerRequests})` : String(rot.requests.total);
    lines.push(
      `| ${label} | ${rot.finished ? '' : 'unfinished '}${rot.seconds} | ${cell(rot.tokensSeconds)} | ${requests} | ${rot.requests.failed} | ${rot.restartedOnce} / ${rot.restartedMoreThanOnce} / ${rot.notRestarted} of ${rot.dependents} | ${rot.secretsAuthenticated}/${rot.secrets} | ${cell(rot.cpuSeconds ?? c.cpuSeconds)} | ${cell(rot.apiserverCpuSeconds)} | ${cell(c.peakRssMiB)}${c.peakAnonMiB === undefined ? '' : ` (anon ${c.peakAnonMiB})`} | ${cell(rot.requests.watchesHeld?.max)} | ${cell(rot.load?.mean)} |`,
    );
  }
  return lines;
}

const rr = (x: Ratio | undefined): string =>
  x ? `requests ×${cell(x.requests)}, time ×${cell(x.seconds)}, peak RSS ×${cell(x.peakRss)} (anon ×${cell(x.peakAnon)}), rotation CPU ×${cell(x.cpu)}` : '–';

function operatorLines(op: ContenderResult): string[] {
  const lines: string[] = [];
  if (op.verdicts) {
    lines.push(
      `Operator start: /readyz ${cell(op.startToReadySeconds)} s, first reconcile ${cell(op.startToFirstStatusSeconds)} s, every cache synced ${cell(op.startToCachesSyncedSeconds)} s; first real verdict (not "waiting for cache") per area: ${Object.entries(
        op.verdicts,
      )
        .map(([a, v]) => `${a} ${v.seconds} s (${v.status} ${v.reason})`)
        .join(', ')}${op.startToEveryVerdictSeconds === undefined ? '; some area gave none within 300 s' : `; every area ${op.startToEveryVerdictSeconds} s`}.`,
    );
  }
  if (op.idle) {
    const i = op.idle;
    lines.push(
      `Operator idle ${i.seconds} s: leader ${i.requests.total} requests (${Object.entries(i.requests.byVerbResource)
        .slice(0, 6)
        .map(([k, v]) => `${v} ${k}`)
        .join(
          ', ',
        )}), ${i.cpuPercentOfCore} % of a core, event loop p99 ${cell(i.eventLoop?.p99Ms)} ms / max ${cell(i.eventLoop?.maxMs)} ms, ${cell(i.reconciles?.count)} reconciles (${cell(i.reconciles?.seconds)} s); standby ${cell(i.standbyRequests)} requests, ${cell(i.standbyCpuPercentOfCore)} % of a core.`,
    );
  }
  const reps = op.replicas;
  if (reps) {
    for (const [name, f] of Object.entries(reps)) {
      const t = f.cgroupRotation;
      lines.push(
        `Operator ${name}: peak RSS ${f.peakRssMiB} MiB over the run (anonymous ${cell(f.peakAnonMiB)} MiB; cgroup peak charge ${cell(f.cgroup?.memoryPeakMiB)} MiB, limit hits ${cell(f.cgroup?.memoryFailcnt)}, OOM kills ${cell(f.cgroup?.oomKills)}); rotation: ${f.rotationCpuSeconds} CPU s (runnable but waiting for a CPU ${cell(f.rotationRunqueueWaitSeconds)} s), ${f.rotationRequests} requests, ${cell(f.watchesHeld?.max)} watches held at most, event loop p99 ${cell(f.eventLoopRotation?.p99Ms)} ms / max ${cell(f.eventLoopRotation?.maxMs)} ms, ${cell(f.reconcilesRotation?.count)} reconciles (${cell(f.reconcilesRotation?.seconds)} s), CPU throttled in ${cell(t?.nrThrottled)} of ${cell(t?.nrPeriods)} periods (${cell(t?.throttledSeconds)} s); "became leader" ${f.becameLeader}×, "leader election lost" ${f.lostLease}×.`,
      );
    }
  }
  if (op.lease) {
    lines.push(
      `Lease transitions: ${cell(op.lease.transitionsFromRotation)} from the regeneration to a settle time after the rotation, ${cell(op.lease.transitionsInRun)} over the run.`,
    );
  }
  lines.push(
    `Operator ratios (this run) — to the raw floor: ${rr(op.ratioToFloor)}; to the kubectl script: ${rr(op.ratioToKubectl)}; to Reloader (delete/recreate): ${rr(op.ratioToReloader)}; to Reloader (blank-refill): ${rr(op.ratioToReloaderBlank)}.`,
  );
  if (op.rotation)
    lines.push(
      `Operator rotation requests by verb and resource (both replicas): ${Object.entries(op.rotation.requests.byVerbResource)
        .slice(0, 10)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}.`,
    );
  return lines;
}

/** Each contender's restarts, timed from their marks (Reloader's carry none): whose was a late rollout. */
function restartLines(run: Record<string, ContenderResult>): string[] {
  const lines: string[] = [];
  for (const [name, c] of Object.entries(run)) {
    const t = c.rotation?.rollouts;
    if (!t) continue;
    const when =
      t.lastCompletedSeconds === undefined
        ? ''
        : ` Marked from ${t.firstStartSeconds} s to ${t.lastStartSeconds} s into the rotation (the last token ${cell(c.rotation?.tokensSeconds)} s), the last rolled out at ${t.lastCompletedSeconds} s; the slowest took ${cell(t.maxSeconds)} s.`;
    lines.push(
      `${LABELS[name] ?? name}: restarts (${t.timed} timed, restart mark to NewReplicaSetAvailable, to the second): median ${t.medianSeconds} s, p90 ${t.p90Seconds} s; ${t.startedPerSecond} started a second; ${t.meanInFlight} in flight on average.${when}`,
    );
  }
  return lines.length ? [...lines, ''] : [];
}

/** How long after each regeneration's kube-apiserver served kube-scheduler and kwok ran a canary Pod again. */
function neighbourLines(run: Record<string, ContenderResult>): string[] {
  const waits = Object.entries(run).filter(([, c]) => c.rotation?.neighboursSeconds !== undefined);
  if (!waits.length) return [];
  return [
    `kube-scheduler and kwok ran a canary Pod, after kube-apiserver served again and before kube-controller-manager started (left out of each rotation's time): ${waits
      .map(([name, c]) => `${LABELS[name] ?? name} ${c.rotation?.neighboursSeconds} s`)
      .join(', ')}.`,
    '',
  ];
}

function statsTable(s: SizeResult): string[] {
  if (!s.stats) return [];
  const figures = [...new Set(Object.values(s.stats).flatMap((x) => Object.keys(x)))];
  const names = Object.keys(s.stats);
  return [
    `Median (lowest–highest) over ${s.runs?.length ?? 1} runs:`,
    '',
    `| figure | ${names.map((n) => LABELS[n] ?? n).join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...figures.map((f) => `| ${f} | ${names.map((n) => formatSpread(s.stats?.[n]?.[f])).join(' | ')} |`),
    '',
  ];
}

export function markdown(r: BenchResult): string {
  const lines = header(r);
  for (const s of r.sizes) {
    const z = s.size;
    lines.push(
      `## ${z.nodes} Nodes, ${z.secrets} Secrets in ${z.namespaces} namespaces, ${z.deployments} Deployments, ${z.pods} Pods (setup ${s.setupSeconds} s)`,
      '',
      ...statsTable(s),
    );
    const runs = s.runs ?? [s.contenders];
    runs.forEach((run, i) => {
      if (runs.length > 1) lines.push(`### Run ${i + 1}`, '');
      lines.push(...runTable(run), '');
      if (run.operator && !run.operator.error) lines.push(...operatorLines(run.operator), '');
      lines.push(...restartLines(run), ...neighbourLines(run));
    });
  }
  return lines.join('\n');
}
