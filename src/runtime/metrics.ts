// Prometheus metrics under controller-runtime's names, so existing dashboards
// and alerts for kubebuilder operators work unchanged. No label ever holds a
// timestamp, a token or another unbounded value.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { registerEventLoopDelay } from './event-loop-delay.ts';
import type { InFlight, QueueMetrics } from './workqueue.ts';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const queueBuckets = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];

export class Metrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly terminalReconcileErrors = new Counter({
    name: 'controller_runtime_terminal_reconcile_errors_total',
    help: 'Total number of terminal reconciliation errors per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly reconcilePanics = new Counter({
    name: 'controller_runtime_reconcile_panics_total',
    help: 'Total number of reconciliation panics per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly maxConcurrentReconciles = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'workqueue_depth',
    help: 'Current depth of workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'],
    buckets: queueBuckets,
    registers: [this.registry],
  });
  readonly workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: ['name', 'controller'],
    buckets: queueBuckets,
    registers: [this.registry],
  });
  /** Each queue's in-flight work, read at scrape time (client-go samples it every 500 ms instead). */
  private readonly inFlight = new Map<string, InFlight>();
  readonly unfinishedWork = new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help:
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. " +
      'Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
    collect: () => {
      for (const [name, probe] of this.inFlight) this.unfinishedWork.set({ name, controller: name }, probe().unfinishedSeconds);
    },
  });
  readonly longestRunningProcessor = new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running.',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
    collect: () => {
      for (const [name, probe] of this.inFlight) this.longestRunningProcessor.set({ name, controller: name }, probe().longestSeconds);
    },
  });
  readonly restRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host',
    labelNames: ['code', 'method', 'host'],
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'authpolicy_api_requests_total',
    help: 'API requests by verb and resource (e.g. POST subjectaccessreviews), to show what a reconcile costs',
    labelNames: ['verb', 'resource'],
    registers: [this.registry],
  });
  readonly clockOffset = leaderOnly(
    new Gauge({
      name: 'authpolicy_clock_offset_seconds',
      help: 'Measured clock offset per node (vs the API server) and per API server (vs the operator); positive is ahead',
      labelNames: ['kind', 'name'],
      registers: [this.registry],
    }),
    () => this.reporting,
  );
  readonly leaderStatus = new Gauge({
    name: 'leader_election_master_status',
    help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
    labelNames: ['name'],
    registers: [this.registry],
  });
  readonly informerRelists = new Counter({
    name: 'authpolicy_informer_relists_total',
    help: 'Full lists per informer, by why (initial, expired, periodic, error)',
    labelNames: ['informer', 'reason'],
    registers: [this.registry],
  });
  readonly informerWatchRestarts = new Counter({
    name: 'authpolicy_informer_watch_restarts_total',
    help: 'Watch reconnections per informer, by why (closed, stalled, error)',
    labelNames: ['informer', 'reason'],
    registers: [this.registry],
  });
  readonly informerSynced = new Gauge({
    name: 'authpolicy_informer_synced',
    help:
      'Whether each running informer cache has synced (1) or is still listing or failing (0); an area waits for its caches. ' +
      'Not exported for a cache that is stopped (a standby) or whose API the server does not serve (see authpolicy_informer_api_absent)',
    labelNames: ['informer'],
    registers: [this.registry],
  });
  readonly informerApiAbsent = new Gauge({
    name: 'authpolicy_informer_api_absent',
    help: "Whether the API server does not serve a running informer's resource (1: e.g. an optional CRD such as Argo Rollouts not installed) or does (0)",
    labelNames: ['informer'],
    registers: [this.registry],
  });
  readonly informerObjects = new Gauge({
    name: 'authpolicy_informer_cached_objects',
    help: 'Objects held in each informer cache',
    labelNames: ['informer'],
    registers: [this.registry],
  });
  readonly tokenRotations = tokenRotationsTotal(this.registry);
  readonly workloadRestarts = workloadRestartsTotal(this.registry);
  readonly conditions: ConditionGauge;
  /** whether the leader-only series (clock offsets) are exported: false from a step-down until the next term's first status */
  private reporting = true;

  constructor(options: { processMetrics?: boolean } = {}) {
    this.conditions = new ConditionGauge(this.registry, () => {
      this.reporting = true;
    });
    if (options.processMetrics ?? true) {
      // prom-client's event-loop monitor would wake the process every 10 ms (0.8 % of a core idle): made idle
      // here (its timer fires every ~24 days) and replaced by a coarser one under the same names.
      collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 2 ** 31 - 1 });
      registerEventLoopDelay(this.registry);
    }
  }

  /**
   * Leadership lost (or never held): what only a leader knows is no longer exported. The
   * conditions are dropped (the new leader exports them; a former leader's last values would
   * keep AuthPolicyNotReady firing after the new leader is Ready), and the clock offsets are
   * hidden until this process writes a status again in a later term (the clock area updates
   * only the offsets that changed, so they are kept, not cleared). Counters stay: they are
   * this process's history, and alerts read their increase.
   */
  stepDown(): void {
    this.conditions.clear();
    this.reporting = false;
  }

  /** The work queue's hooks, labelled like controller-runtime's (name = controller = the controller's name). */
  queueMetrics(): QueueMetrics {
    return {
      depth: (name, depth) => {
        this.queueDepth.set({ name, controller: name }, depth);
      },
      add: (name) => {
        this.queueAdds.inc({ name, controller: name });
      },
      retry: (name) => {
        this.queueRetries.inc({ name, controller: name });
      },
      queueDuration: (name, s) => {
        this.queueDuration.observe({ name, controller: name }, s);
      },
      workDuration: (name, s) => {
        this.workDuration.observe({ name, controller: name }, s);
      },
      inFlight: (name, probe) => {
        this.inFlight.set(name, probe);
      },
    };
  }

  /** A KubeClient observer feeding rest_client_requests_total and authpolicy_api_requests_total. */
  restObserver(host: string): (method: string, code: string, resource: string) => void {
    return (method, code, resource) => {
      this.restRequests.inc({ code, method: method === 'LIST' || method === 'WATCH' ? 'GET' : method, host });
      this.apiRequests.inc({ verb: method, resource });
    };
  }
}

// The operations kit's metrics (config/prometheus/rules.yaml alerts on them).
// Labels are bounded: namespaces that hold legacy token Secrets, the three
// workload kinds, fixed results, and the policies' condition types and reasons.

/** A rotation's outcome: `succeeded` (the tokens controller re-issued the token in place) or `failed`. */
export type RotationResult = 'succeeded' | 'failed';
/** A restart's outcome: `restarted` (the rollout was started) or `failed` (the write was refused). */
export type RestartResult = 'restarted' | 'failed';

export interface ConditionSample {
  type: string;
  status: string;
  reason?: string | undefined;
}

export const ROTATION_RESULTS: readonly RotationResult[] = ['succeeded', 'failed'];
export const RESTART_RESULTS: readonly RestartResult[] = ['restarted', 'failed'];

export const tokenRotationsTotal = (registry: Registry): Counter<'namespace' | 'result'> =>
  withAllResults(
    new Counter({
      name: 'authpolicy_token_rotations_total',
      help: 'Legacy token Secrets rotated in place, by namespace and result (succeeded, failed)',
      labelNames: ['namespace', 'result'],
      registers: [registry],
    }),
    ROTATION_RESULTS,
  );
export const workloadRestartsTotal = (registry: Registry): Counter<'kind' | 'namespace' | 'result'> =>
  withAllResults(
    new Counter({
      name: 'authpolicy_workload_restarts_total',
      help: 'Workload restarts after token rotations, by kind, namespace and result (restarted, failed)',
      labelNames: ['kind', 'namespace', 'result'],
      registers: [registry],
    }),
    RESTART_RESULTS,
  );

/**
 * The first increment for a label set (a namespace, a kind) also creates its sibling results at 0, so a
 * later `failed` after a `succeeded` is an increase from 0 that `increase()` sees. The very first
 * increment of a label set still creates a series already at 1: the alerts catch that with
 * `unless … offset` (config/prometheus/rules.yaml).
 */
function withAllResults<T extends string>(counter: Counter<T | 'result'>, results: readonly string[]): Counter<T | 'result'> {
  const inc = counter.inc.bind(counter) as (labels: LabelValues<T | 'result'>, value?: number) => void;
  counter.inc = ((labels: LabelValues<T | 'result'>, value?: number) => {
    for (const result of results) if (result !== labels.result) inc({ ...labels, result }, 0);
    inc(labels, value);
  }) as Counter<T | 'result'>['inc'];
  return counter;
}

/** A gauge exported only while `shown()` (values set meanwhile are kept, and exported again once shown). */
function leaderOnly<T extends string>(gauge: Gauge<T>, shown: () => boolean): Gauge<T> {
  const get = gauge.get.bind(gauge);
  gauge.get = async () => {
    const all = await get();
    return shown() ? all : { ...all, values: [] };
  };
  return gauge;
}

/**
 * One series per AuthPolicy condition, value 1, labelled with its current status
 * and reason (kube-state-metrics' shape): a status or reason change replaces the
 * series, so `authpolicy_condition{type="Ready",status="False"} == 1` is exact.
 */
export class ConditionGauge {
  private readonly gauge: Gauge<'policy' | 'type' | 'status' | 'reason'>;
  private readonly current = new Map<string, Map<string, { status: string; reason: string }>>();
  private readonly onSet: () => void;

  constructor(registry: Registry, onSet: () => void = () => undefined) {
    this.onSet = onSet;
    this.gauge = new Gauge({
      name: 'authpolicy_condition',
      help: 'An AuthPolicy condition (1 for its current status and reason)',
      labelNames: ['policy', 'type', 'status', 'reason'],
      registers: [registry],
    });
  }

  /** Records a policy's conditions as the status just written holds them. */
  set(policy: string, conditions: readonly ConditionSample[] | undefined): void {
    const before = this.current.get(policy) ?? new Map<string, { status: string; reason: string }>();
    const after = new Map<string, { status: string; reason: string }>();
    for (const c of conditions ?? []) after.set(c.type, { status: c.status, reason: c.reason ?? '' });
    for (const [type, old] of before) {
      const now = after.get(type);
      if (!now || now.status !== old.status || now.reason !== old.reason) this.gauge.remove({ policy, type, ...old });
    }
    for (const [type, now] of after) this.gauge.set({ policy, type, ...now }, 1);
    this.current.set(policy, after);
    this.onSet();
  }

  /** Drops every policy's series: this process no longer reconciles (see Metrics.stepDown). */
  clear(): void {
    this.gauge.reset();
    this.current.clear();
  }

  /** Drops a deleted policy's series. */
  forget(policy: string): void {
    const before = this.current.get(policy);
    for (const [type, old] of before ?? []) this.gauge.remove({ policy, type, ...old });
    this.current.delete(policy);
  }
}
