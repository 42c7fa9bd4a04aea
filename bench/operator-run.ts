// One run of the operator as it ships: a leader and a standby replica, each under the shipped requests and
// limits (../cgroup.ts), from a fresh start (the AuthPolicy's status cleared, as on a new install) to the end
// of one rotation. Counted for both replicas: requests (audit log), CPU seconds (/proc), peak RSS over the
// whole run (VmHWM, sampled so a replica that exits keeps its figure), event-loop delay (the operator's own
// nodejs_eventloop_lag_* gauges, whose histogram restarts at every scrape: one scrape opens a window, the next
// reads it), CFS throttling and OOM kills (the cgroups), lease transitions (the Lease and the replicas' logs),
// and when each area first gave a real verdict.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../test/cluster/wait.ts';
import type { Api } from './kube.ts';
import { createReplicaCgroups, runqueueWaitSeconds, type CgroupUsage, type ReplicaCgroups, type Resources } from './cgroup.ts';
import { counterBy, cpuSeconds, diff, gauge, peakRss, reconcilesBetween, statusField, MiB, type BenchGroup, type RequestCount } from './measure.ts';
import { baseline, clockStart, waitRotation, type Regeneration, type RotationResult } from './rotation.ts';
import { startShippedOperator, type RunningOperator } from './contenders/operator.ts';
import { newVerdicts, AREA_CONDITIONS, type Condition, type Verdict } from './verdicts.ts';
import type { Size } from './presets.ts';
import type { ContenderResult, EventLoop, ReplicaFigures } from './report.ts';

export interface RunContext {
  admin: Api;
  kubeconfigs: { operator: string; standby: string };
  log(m: string): void;
  requests(group: BenchGroup, from: number, to: number): Promise<RequestCount>;
  /** regenerates the signing key; resolves with when it began and the new kube-apiserver's pid */
  regenerate(): Promise<Regeneration>;
  idleSeconds: number;
  rotationTimeoutMs: number;
  settleMs: number;
  work: string;
  /** the shipped resources, or undefined with --no-limits */
  resources?: Resources;
  /** unique per run: names the cgroups */
  tag: string;
}

const POLICY = '/apis/authpolicy.io/v1alpha1/authpolicies/cluster';
const LEASE = '/apis/coordination.k8s.io/v1/namespaces/authpolicy-system/leases/authpolicy-operator';
const round = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A replica, its cgroups and what is sampled of it every second (so an exit keeps the last figures). */
interface Replica {
  name: 'leader' | 'standby';
  op: RunningOperator;
  cgroups?: ReplicaCgroups;
  peakRssBytes: number;
  /** the most RssAnon sampled: its own memory, without the node binary's file pages */
  peakAnonBytes: number;
  cpu: number;
  stopSampling(): void;
}

function startReplica(ctx: RunContext, name: 'leader' | 'standby'): Replica {
  const cgroups = ctx.resources ? createReplicaCgroups(`authpolicy-bench-${ctx.tag}-${name}`, ctx.resources) : undefined;
  const op = startShippedOperator(name === 'leader' ? ctx.kubeconfigs.operator : ctx.kubeconfigs.standby, cgroups);
  const r: Replica = { name, op, cgroups, peakRssBytes: 0, peakAnonBytes: 0, cpu: 0, stopSampling: () => undefined };
  const sample = async (): Promise<void> => {
    r.peakRssBytes = Math.max(r.peakRssBytes, (await peakRss(op.pid)) ?? 0);
    r.peakAnonBytes = Math.max(r.peakAnonBytes, (await statusField(op.pid, 'RssAnon')) ?? 0);
    r.cpu = Math.max(r.cpu, (await cpuSeconds(op.pid)) ?? 0);
  };
  const timer = setInterval(() => void sample(), 1000);
  r.stopSampling = () => {
    clearInterval(timer);
  };
  return r;
}

async function metricsOf(r: Replica): Promise<string> {
  return await (await fetch(await r.op.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
}

/** The event-loop delay since the previous scrape of `text`'s replica, in ms (prom-client resets its histogram on each scrape). */
function eventLoop(text: string): EventLoop | undefined {
  const p99 = gauge(text, 'nodejs_eventloop_lag_p99_seconds');
  const max = gauge(text, 'nodejs_eventloop_lag_max_seconds');
  return p99 === undefined || max === undefined ? undefined : { p99Ms: Math.round(p99 * 10000) / 10, maxMs: Math.round(max * 10000) / 10 };
}

async function sampleNow(r: Replica): Promise<{ cpu: number; rss: number; anon: number; wait?: number }> {
  const cpu = (await cpuSeconds(r.op.pid)) ?? r.cpu;
  r.cpu = Math.max(r.cpu, cpu);
  r.peakRssBytes = Math.max(r.peakRssBytes, (await peakRss(r.op.pid)) ?? 0);
  r.peakAnonBytes = Math.max(r.peakAnonBytes, (await statusField(r.op.pid, 'RssAnon')) ?? 0);
  return { cpu: r.cpu, rss: r.peakRssBytes, anon: r.peakAnonBytes, wait: await runqueueWaitSeconds(r.op.pid) };
}

async function leaseTransitions(admin: Api): Promise<{ transitions: number; holder: string } | undefined> {
  const lease = await admin.request<{ spec?: { leaseTransitions?: number; holderIdentity?: string } }>('GET', LEASE).catch(() => undefined);
  return lease ? { transitions: lease.spec?.leaseTransitions ?? 0, holder: lease.spec?.holderIdentity ?? '' } : undefined;
}

const waitDelta = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Math.round((b - a) * 100) / 100;

const mergeCounts = (a: RequestCount, b: RequestCount): RequestCount => ({
  total: a.total + b.total,
  // watches held by the two replicas: the sum of each one's most (an upper bound of both at once)
  watchesHeld: { max: (a.watchesHeld?.max ?? 0) + (b.watchesHeld?.max ?? 0), atEnd: (a.watchesHeld?.atEnd ?? 0) + (b.watchesHeld?.atEnd ?? 0) },
  byVerbResource: Object.fromEntries(
    Object.entries(
      [a.byVerbResource, b.byVerbResource].reduce<Record<string, number>>((out, x) => {
        for (const [k, v] of Object.entries(x)) out[k] = (out[k] ?? 0) + v;
        return out;
      }, {}),
    ).sort((x, y) => y[1] - x[1]),
  ),
  byUserAgent: {},
  failed: a.failed + b.failed,
});

/** Polls the AuthPolicy's conditions until every area gave a real verdict (or `stop`). */
function watchVerdicts(admin: Api, started: number): { verdicts: Map<string, Verdict>; stop(): Promise<void> } {
  const verdicts = new Map<string, Verdict>();
  const state = { stopped: false };
  const loop = (async () => {
    while (!state.stopped && verdicts.size < Object.keys(AREA_CONDITIONS).length) {
      const p = await admin.request<{ status?: { conditions?: Condition[] } }>('GET', POLICY).catch(() => undefined);
      newVerdicts(p?.status?.conditions ?? [], round((Date.now() - started) / 1000), verdicts);
      await sleep(200);
    }
  })();
  return {
    verdicts,
    stop: async () => {
      state.stopped = true;
      await loop;
    },
  };
}

export async function operatorRun(ctx: RunContext, size: Size): Promise<ContenderResult> {
  const admin = ctx.admin;
  const log = (m: string): void => {
    ctx.log(m);
  };
  // A fresh start: no status left by an earlier run, so "first verdict" is this replica's own.
  await admin.request('PATCH', `${POLICY}/status`, { status: null }, 'application/merge-patch+json');
  const lease0 = await leaseTransitions(admin);
  const started = Date.now();
  const leader = startReplica(ctx, 'leader');
  const verdictWatch = watchVerdicts(admin, started);
  let standby: Replica | undefined;
  const readyz = async (url: Promise<string>): Promise<boolean> => (await fetch(await url).catch(() => undefined))?.status === 200;
  const alive = (r: Replica): void => {
    if (r.op.child.exitCode !== null) throw new Error(`operator ${r.name} exited with ${r.op.child.exitCode}: ${r.op.output().slice(-600)}`);
  };
  try {
    await waitFor('the operator /readyz (its AuthPolicy cache synced)', async () => (alive(leader), readyz(leader.op.readyUrl)), {
      timeoutMs: 600_000,
      intervalMs: 200,
    });
    const readySeconds = (Date.now() - started) / 1000;
    await waitFor(
      "the operator's first successful reconcile",
      async () => {
        const r = counterBy(await metricsOf(leader), 'controller_runtime_reconcile_total', ['result']);
        return (r.success ?? 0) + (r.requeue_after ?? 0) >= 1;
      },
      { timeoutMs: 600_000, intervalMs: 250 },
    );
    const statusSeconds = (Date.now() - started) / 1000;
    // The idle period starts once every cache the leader reads has synced (Argo Rollouts is not installed: that
    // cache never syncs) and every area has given a real verdict.
    await waitFor(
      "the leader's caches to sync",
      async () => {
        const synced = Object.entries(counterBy(await metricsOf(leader), 'authpolicy_informer_synced', ['informer'])).filter(([name]) => name !== 'rollouts');
        return synced.length > 1 && synced.every(([, v]) => v === 1);
      },
      { timeoutMs: 600_000, intervalMs: 250 },
    );
    const syncedSeconds = (Date.now() - started) / 1000;
    await waitFor('every area to give a real verdict', () => Promise.resolve(verdictWatch.verdicts.size === Object.keys(AREA_CONDITIONS).length), {
      timeoutMs: 300_000,
      intervalMs: 250,
    }).catch(() => {
      log(
        `operator: after 300 s, areas without a real verdict: ${Object.keys(AREA_CONDITIONS)
          .filter((a) => !verdictWatch.verdicts.has(a))
          .join(', ')}`,
      );
    });
    await verdictWatch.stop();
    log(
      `operator ready after ${readySeconds.toFixed(1)} s, first status after ${statusSeconds.toFixed(1)} s, caches synced after ${syncedSeconds.toFixed(1)} s; verdicts: ${[
        ...verdictWatch.verdicts,
      ]
        .map(([a, v]) => `${a} ${v.seconds} s (${v.reason})`)
        .join(', ')}`,
    );
    const sb = startReplica(ctx, 'standby');
    standby = sb;
    const both = [leader, sb];
    await waitFor('the standby /readyz', async () => (alive(sb), readyz(sb.op.readyUrl)), { timeoutMs: 600_000, intervalMs: 200 });

    // idle
    log(`idle for ${ctx.idleSeconds} s`);
    const idleFrom = Date.now();
    const m0 = await metricsOf(leader);
    await metricsOf(sb);
    const c0 = await Promise.all(both.map(sampleNow));
    await sleep(ctx.idleSeconds * 1000); // the measurement period itself, not a wait for a condition
    const m1 = await metricsOf(leader);
    const sbIdleMetrics = await metricsOf(sb);
    const c1 = await Promise.all(both.map(sampleNow));
    const idleTo = Date.now();
    const idleReq = await Promise.all([ctx.requests('bench:operator', idleFrom, idleTo), ctx.requests('bench:standby', idleFrom, idleTo)]);
    const idleCpu = c1.map((c, i) => c.cpu - (c0[i]?.cpu ?? 0));
    const idleLoops = [eventLoop(m1), eventLoop(sbIdleMetrics)];
    const idle = {
      seconds: ctx.idleSeconds,
      requests: idleReq[0],
      standbyRequests: idleReq[1].total,
      requestsFromMetric: diff(
        counterBy(m1, 'authpolicy_api_requests_total', ['verb', 'resource']),
        counterBy(m0, 'authpolicy_api_requests_total', ['verb', 'resource']),
      ),
      cpuSeconds: round2(idleCpu[0] ?? 0),
      cpuPercentOfCore: Math.round(((idleCpu[0] ?? 0) / ctx.idleSeconds) * 1000) / 10,
      standbyCpuPercentOfCore: Math.round(((idleCpu[1] ?? 0) / ctx.idleSeconds) * 1000) / 10,
      peakRssMiB: MiB(c1[0]?.rss ?? 0),
      heapUsedMiB: MiB(gauge(m1, 'nodejs_heap_size_used_bytes') ?? 0),
      heapTotalMiB: MiB(gauge(m1, 'nodejs_heap_size_total_bytes') ?? 0),
      standbyPeakRssMiB: MiB(c1[1]?.rss ?? 0),
      eventLoop: idleLoops[0],
      reconciles: reconcilesBetween(m0, m1),
    };
    log(
      `idle: ${idle.requests.total} + ${idle.standbyRequests} (standby) requests, ${idle.cpuPercentOfCore} % of a core (+ ${idle.standbyCpuPercentOfCore} % standby), peak RSS ${idle.peakRssMiB} MiB (standby ${idle.standbyPeakRssMiB} MiB)`,
    );

    // rotation
    const base = await baseline(admin);
    const r0 = await Promise.all(both.map((r) => metricsOf(r).catch(() => '')));
    const cpu0 = await Promise.all(both.map(sampleNow));
    const cg0 = await Promise.all(both.map(async (r) => (r.cgroups ? await r.cgroups.usage() : undefined)));
    const leaseAtRotation = await leaseTransitions(admin);
    const { start, apiserverPid, neighboursSeconds } = await ctx.regenerate();
    const apiserverStartupCpu = apiserverPid ? await cpuSeconds(apiserverPid) : undefined;
    const rotation: RotationResult = await waitRotation(admin, base, clockStart(start, neighboursSeconds), ctx.rotationTimeoutMs, ctx.settleMs, (m) => {
      log(`operator: ${m}`);
    });
    const end = Date.now();
    const apiserverCpu = apiserverPid ? await cpuSeconds(apiserverPid) : undefined;
    const r1 = await Promise.all(both.map((r) => metricsOf(r).catch(() => '')));
    const cpu1 = await Promise.all(both.map(sampleNow));
    const rotReq = await Promise.all([ctx.requests('bench:operator', start, end), ctx.requests('bench:standby', start, end)]);
    // a settle time after the rotation: a lease lost as the load ends shows here
    await sleep(Math.min(30_000, ctx.settleMs));
    const lease1 = await leaseTransitions(admin);
    const cg1 = await Promise.all(both.map(async (r) => (r.cgroups ? await r.cgroups.usage() : undefined)));
    const final = await Promise.all(both.map(sampleNow));
    const figures = (i: number): ReplicaFigures => {
      const r = both[i] as Replica;
      const leadership = r.op.leadership();
      const delta = (a?: CgroupUsage, b?: CgroupUsage): Partial<CgroupUsage> | undefined =>
        a && b
          ? {
              nrPeriods: b.nrPeriods - a.nrPeriods,
              nrThrottled: b.nrThrottled - a.nrThrottled,
              throttledSeconds: round2(b.throttledSeconds - a.throttledSeconds),
            }
          : undefined;
      return {
        peakRssMiB: MiB(final[i]?.rss ?? 0),
        peakAnonMiB: MiB(final[i]?.anon ?? 0),
        rotationCpuSeconds: round2((cpu1[i]?.cpu ?? 0) - (cpu0[i]?.cpu ?? 0)),
        rotationRunqueueWaitSeconds: waitDelta(cpu0[i]?.wait, cpu1[i]?.wait),
        totalCpuSeconds: round2(final[i]?.cpu ?? 0),
        rotationRequests: rotReq[i]?.total ?? 0,
        watchesHeld: rotReq[i]?.watchesHeld,
        eventLoopRotation: eventLoop(r1[i] ?? ''),
        reconcilesRotation: reconcilesBetween(r0[i] ?? '', r1[i] ?? ''),
        becameLeader: leadership.became,
        lostLease: leadership.lost,
        cgroup: cg1[i],
        cgroupRotation: delta(cg0[i], cg1[i]),
      };
    };
    const leaderFig = figures(0);
    const standbyFig = figures(1);
    const requests = mergeCounts(rotReq[0], rotReq[1]);
    const loops = [leaderFig.eventLoopRotation, standbyFig.eventLoopRotation].filter((x): x is EventLoop => x !== undefined);
    return {
      startToReadySeconds: round(readySeconds),
      startToFirstStatusSeconds: round(statusSeconds),
      startToCachesSyncedSeconds: round(syncedSeconds),
      verdicts: Object.fromEntries(verdictWatch.verdicts),
      startToEveryVerdictSeconds:
        verdictWatch.verdicts.size === Object.keys(AREA_CONDITIONS).length ? Math.max(...[...verdictWatch.verdicts.values()].map((v) => v.seconds)) : undefined,
      idle: { ...idle, standbyEventLoop: idleLoops[1] },
      rotation: {
        ...rotation,
        requests,
        requestsFromMetric: diff(
          counterBy(r1[0] ?? '', 'authpolicy_api_requests_total', ['verb', 'resource']),
          counterBy(r0[0] ?? '', 'authpolicy_api_requests_total', ['verb', 'resource']),
        ),
        cpuSeconds: round2(leaderFig.rotationCpuSeconds + standbyFig.rotationCpuSeconds),
        apiserverCpuSeconds: apiserverCpu === undefined ? undefined : round2(apiserverCpu),
        apiserverStartupCpuSeconds: apiserverStartupCpu === undefined ? undefined : round2(apiserverStartupCpu),
        neighboursSeconds,
        eventLoop: loops.length ? { p99Ms: Math.max(...loops.map((l) => l.p99Ms)), maxMs: Math.max(...loops.map((l) => l.maxMs)) } : undefined,
      },
      replicas: { leader: leaderFig, standby: standbyFig },
      lease: {
        // no Lease before the first run: it is created with 0 transitions
        transitionsInRun: lease1 ? lease1.transitions - (lease0?.transitions ?? 0) : undefined,
        transitionsFromRotation: leaseAtRotation && lease1 ? lease1.transitions - leaseAtRotation.transitions : undefined,
        holderAtEnd: lease1?.holder === '' ? undefined : lease1?.holder,
      },
      peakRssMiB: Math.max(leaderFig.peakRssMiB, standbyFig.peakRssMiB),
      peakAnonMiB: Math.max(leaderFig.peakAnonMiB ?? 0, standbyFig.peakAnonMiB ?? 0),
      standbyPeakRssMiB: standbyFig.peakRssMiB,
      cpuSeconds: round2(leaderFig.totalCpuSeconds + standbyFig.totalCpuSeconds),
      oomKills: (leaderFig.cgroup?.oomKills ?? 0) + (standbyFig.cgroup?.oomKills ?? 0),
    };
  } finally {
    await verdictWatch.stop();
    for (const r of [standby, leader]) {
      if (!r) continue;
      r.stopSampling();
      await r.op.stop();
      r.cgroups?.remove();
      // kept with the audit log (KEEP_CLUSTER=1): what each status write changed, what failed
      await writeFile(join(ctx.work, `operator-${r.name}-${size.name}-${ctx.tag}.log`), r.op.output());
    }
  }
}
