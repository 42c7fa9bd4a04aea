// The results file's shape (read by scripts: per size and contender at least
// rotation.seconds, rotation.requests.total, peakRssMiB, and the operator's
// ratioToFloor); its Markdown is markdown.ts.
import type { Size } from './presets.ts';
import type { RequestCount } from './measure.ts';
import type { RotationResult } from './rotation.ts';
import type { CgroupUsage, Resources } from './cgroup.ts';
import type { Spread } from './stats.ts';
import type { Verdict } from './verdicts.ts';

export interface Ratio {
  requests?: number;
  seconds?: number;
  peakRss?: number;
  /** peak anonymous memory (RssAnon) */
  peakAnon?: number;
  /** rotation CPU seconds */
  cpu?: number;
}

export interface EventLoop {
  p99Ms: number;
  maxMs: number;
}

/** Reconciles in a period and the wall seconds they took together (a reconcile's awaits included). */
export interface Reconciles {
  count: number;
  seconds: number;
}

/** One operator replica over one run (under its own cgroups when the shipped limits apply). */
export interface ReplicaFigures {
  /** VmHWM over the whole run */
  peakRssMiB: number;
  /** the most RssAnon sampled (every second): its own memory, without the node binary's shared file pages */
  peakAnonMiB?: number;
  rotationCpuSeconds: number;
  /** seconds its threads waited, runnable, for a CPU during the rotation (the shared machine's load) */
  rotationRunqueueWaitSeconds?: number;
  totalCpuSeconds: number;
  rotationRequests: number;
  watchesHeld?: { max: number; atEnd: number };
  /** event-loop delay over the rotation (its /metrics scraped at the regeneration and at the end) */
  eventLoopRotation?: EventLoop;
  /** reconciles during the rotation and the seconds they took (its controller_runtime_reconcile_* metrics) */
  reconcilesRotation?: Reconciles;
  /** "became leader" and "leader election lost" log lines over the run */
  becameLeader: number;
  lostLease: number;
  /** the cgroups at the end of the run (throttling since the replica started, peak charge, OOM kills) */
  cgroup?: CgroupUsage;
  /** CFS throttling during the rotation */
  cgroupRotation?: Partial<CgroupUsage>;
}

export interface ContenderResult {
  error?: string;
  /** the operator: when each area first gave a real verdict (not a "waiting for cache" placeholder), from start */
  verdicts?: Record<string, Verdict>;
  startToEveryVerdictSeconds?: number;
  replicas?: { leader: ReplicaFigures; standby: ReplicaFigures };
  /** the Lease's leaseTransitions: over the run, and from the regeneration to a settle time after the rotation */
  lease?: { transitionsInRun?: number; transitionsFromRotation?: number; holderAtEnd?: string };
  oomKills?: number;
  /** Reloader: what changed the Secrets, and its workers */
  trigger?: string;
  workers?: number;
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
    standbyRequests?: number;
    standbyCpuPercentOfCore?: number;
    eventLoop?: EventLoop;
    standbyEventLoop?: EventLoop;
    /** the leader's reconciles while idle */
    reconciles?: Reconciles;
  };
  rotation?: RotationResult & {
    requests: RequestCount;
    requestsFromMetric?: Record<string, number>;
    reloaderRequests?: number;
    blankerRequests?: number;
    /** the trigger's requests (blanking or delete/recreate), counted in requests.total */
    triggerRequests?: number;
    /** CPU seconds from the regeneration to the end of the rotation (the operator: both replicas) */
    cpuSeconds?: number;
    /** the new kube-apiserver's CPU seconds from its start (the regeneration) to the end of the rotation, and of that until it served */
    apiserverCpuSeconds?: number;
    apiserverStartupCpuSeconds?: number;
    /** after kube-apiserver served again, until kube-scheduler and kwok ran a canary Pod (before the tokens controller started; not in `seconds`) */
    neighboursSeconds?: number;
    /** the operator's event-loop delay over the rotation, the worse replica */
    eventLoop?: EventLoop;
    /** the machine's 1-minute load average during the rotation (the machine is shared) */
    load?: { mean: number; max: number; samples: number };
  };
  peakRssMiB?: number;
  /** the most anonymous memory (RssAnon, summed over the process tree) sampled: RSS less the executable's and libraries' file pages */
  peakAnonMiB?: number;
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
  ratioToReloaderBlank?: Ratio;
}

export interface SizeResult {
  size: Size;
  setupSeconds: number;
  /** the first run (the only one without --repeat) */
  contenders: Record<string, ContenderResult>;
  /** with --repeat N: every run, the first included, each on this cluster with its own regenerations */
  runs?: Record<string, ContenderResult>[];
  /** with --repeat N: per contender and figure, the median and spread over the runs (ratios taken within each run) */
  stats?: Record<string, Record<string, Spread>>;
}

export interface BenchResult {
  preset: string;
  date: string;
  startedAt: string;
  durationSeconds: number;
  parallelism: number;
  /** NODE_OPTIONS the operator ran with: config/manager's, or BENCH_OPERATOR_NODE_OPTIONS */
  operatorNodeOptions: string;
  /** the build measured: its commit, and whether src/ or config/ differed from it */
  commit?: string;
  /** config/manager's requests and limits, applied to each replica through cgroups (absent with --no-limits) */
  operatorResources?: Resources;
  repeat?: number;
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
