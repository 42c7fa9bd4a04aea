// Prometheus metrics under controller-runtime's names, so existing dashboards
// and alerts for kubebuilder operators work unchanged. No label ever holds a
// timestamp, a token or another unbounded value.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueMetrics } from './workqueue.ts';

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
  readonly clockOffset = new Gauge({
    name: 'authpolicy_clock_offset_seconds',
    help: 'Measured clock offset per node (vs the API server) and per API server (vs the operator); positive is ahead',
    labelNames: ['kind', 'name'],
    registers: [this.registry],
  });
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
    help: 'Whether each started informer cache has synced (1) or is still listing or failing (0); an area waits for its caches',
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
  readonly conditions = new ConditionGauge(this.registry);

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
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

export const tokenRotationsTotal = (registry: Registry): Counter<'namespace' | 'result'> =>
  new Counter({
    name: 'authpolicy_token_rotations_total',
    help: 'Legacy token Secrets rotated in place, by namespace and result (succeeded, failed)',
    labelNames: ['namespace', 'result'],
    registers: [registry],
  });
export const workloadRestartsTotal = (registry: Registry): Counter<'kind' | 'namespace' | 'result'> =>
  new Counter({
    name: 'authpolicy_workload_restarts_total',
    help: 'Workload restarts after token rotations, by kind, namespace and result (restarted, failed)',
    labelNames: ['kind', 'namespace', 'result'],
    registers: [registry],
  });

/**
 * One series per AuthPolicy condition, value 1, labelled with its current status
 * and reason (kube-state-metrics' shape): a status or reason change replaces the
 * series, so `authpolicy_condition{type="Ready",status="False"} == 1` is exact.
 */
export class ConditionGauge {
  private readonly gauge: Gauge<'policy' | 'type' | 'status' | 'reason'>;
  private readonly current = new Map<string, Map<string, { status: string; reason: string }>>();

  constructor(registry: Registry) {
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
  }

  /** Drops a deleted policy's series. */
  forget(policy: string): void {
    this.set(policy, []);
    this.current.delete(policy);
  }
}
