// The operator beside each other contender, always within one run (same cluster, same build, minutes apart),
// and, over repeated runs, each figure and each ratio as a median and spread.
import type { ContenderResult, Ratio } from './report.ts';
import { spreads, type Spread } from './stats.ts';

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The operator's ratios to each other contender of the same run: requests, rotation time, peak RSS, rotation CPU. */
export function addRatios(run: Record<string, ContenderResult>): void {
  const op = run.operator;
  if (!op?.rotation) return;
  const rot = op.rotation;
  const ratio = (other: ContenderResult | undefined): Ratio | undefined =>
    other?.rotation
      ? {
          requests: round2(rot.requests.total / Math.max(1, other.rotation.requests.total)),
          seconds: round2(rot.seconds / Math.max(0.1, other.rotation.seconds)),
          peakRss: other.peakRssMiB ? round2((op.peakRssMiB ?? 0) / other.peakRssMiB) : undefined,
          ...(other.peakAnonMiB && op.peakAnonMiB !== undefined ? { peakAnon: round2(op.peakAnonMiB / other.peakAnonMiB) } : {}),
          cpu: other.rotation.cpuSeconds && rot.cpuSeconds !== undefined ? round2(rot.cpuSeconds / other.rotation.cpuSeconds) : undefined,
        }
      : undefined;
  op.ratioToFloor = ratio(run.floor);
  op.ratioToKubectl = ratio(run.kubectl);
  op.ratioToReloader = ratio(run.reloader);
  op.ratioToReloaderBlank = ratio(run['reloader-blank']);
}

type Pick = (c: ContenderResult) => number | undefined;

/** The figures summarised over runs, for every contender. */
export const FIGURES: Record<string, Pick> = {
  rotationSeconds: (c) => (c.rotation?.finished ? c.rotation.seconds : undefined),
  requests: (c) => c.rotation?.requests.total,
  peakRssMiB: (c) => c.peakRssMiB,
  peakAnonMiB: (c) => c.peakAnonMiB,
  rotationCpuSeconds: (c) => c.rotation?.cpuSeconds,
  apiserverCpuSeconds: (c) => c.rotation?.apiserverCpuSeconds,
  extraRollouts: (c) => c.rotation?.extraRollouts,
  loadMean: (c) => c.rotation?.load?.mean,
  tokensSeconds: (c) => c.rotation?.tokensSeconds,
  /** the last rollout's completion after the last token: a contender's restarts keeping up, or not */
  lastRolloutAfterTokensSeconds: (c) => {
    const done = c.rotation?.rollouts?.lastCompletedSeconds;
    const tokens = c.rotation?.tokensSeconds;
    return done === undefined || tokens === undefined ? undefined : round2(done - tokens);
  },
  slowestRolloutSeconds: (c) => c.rotation?.rollouts?.maxSeconds,
  neighboursSeconds: (c) => c.rotation?.neighboursSeconds,
};

/** And for the operator. */
export const OPERATOR_FIGURES: Record<string, Pick> = {
  standbyPeakRssMiB: (c) => c.standbyPeakRssMiB,
  eventLoopP99Ms: (c) => c.rotation?.eventLoop?.p99Ms,
  eventLoopMaxMs: (c) => c.rotation?.eventLoop?.maxMs,
  leaseTransitions: (c) => c.lease?.transitionsFromRotation,
  throttledSeconds: (c) =>
    c.replicas ? (c.replicas.leader.cgroupRotation?.throttledSeconds ?? 0) + (c.replicas.standby.cgroupRotation?.throttledSeconds ?? 0) : undefined,
  oomKills: (c) => c.oomKills,
  idleCpuPercent: (c) => c.idle?.cpuPercentOfCore,
  idleRequestsPerMinute: (c) => (c.idle ? round2(((c.idle.requests.total + (c.idle.standbyRequests ?? 0)) / c.idle.seconds) * 60) : undefined),
  everyVerdictSeconds: (c) => c.startToEveryVerdictSeconds,
  timeToFloor: (c) => c.ratioToFloor?.seconds,
  requestsToKubectl: (c) => c.ratioToKubectl?.requests,
  requestsToReloader: (c) => c.ratioToReloader?.requests,
  requestsToReloaderBlank: (c) => c.ratioToReloaderBlank?.requests,
  peakRssToReloader: (c) => c.ratioToReloader?.peakRss,
  peakAnonToReloader: (c) => c.ratioToReloader?.peakAnon,
  cpuToFloor: (c) => c.ratioToFloor?.cpu,
};

/** Per contender, each figure's median and spread over the runs (ratios were taken within each run). */
export function runStats(runs: readonly Record<string, ContenderResult>[]): Record<string, Record<string, Spread>> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const out: Record<string, Record<string, Spread>> = {};
  for (const name of names) {
    const picked = runs.map((r) => r[name]).filter((c): c is ContenderResult => c !== undefined && !c.error);
    const figures = name === 'operator' ? { ...FIGURES, ...OPERATOR_FIGURES } : FIGURES;
    out[name] = spreads(picked, figures);
  }
  return out;
}
