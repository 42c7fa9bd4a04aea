// Workers that take keys from a WorkQueue and reconcile them: at most
// `concurrency` at once, never the same key twice at once, errors retried by
// cause (see retryCause), results and timings exported under controller-runtime names.
import { randomUUID } from 'node:crypto';
import { describeError, retryCause } from '../kube/errors.ts';
import { BOUNDED_RETRY_MS, type BackoffPolicy } from './backoff.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

export interface ReconcileContext {
  key: string;
  reconcileID: string;
  log: Logger;
  /** aborted when the controller stops (shutdown or lost leadership) */
  signal: AbortSignal;
}

export interface ReconcileResult {
  /** reconcile this key again after this long (a periodic re-check), without counting a failure */
  requeueAfterMs?: number;
}

/**
 * Failures other than conflicts, 403 and 404 back off per key from 5 ms (controller-runtime's
 * base) to at most 16 s, not its 1000 s: after an outage (API-server restarts, a network
 * blip) the cluster is current again within seconds of recovering.
 */
export const RECONCILE_BACKOFF: BackoffPolicy = { baseMs: 5, maxMs: 16_000, factor: 2, jitter: 0 };
/**
 * Changes seen by watches are gathered this long before the reconcile they cause: at least
 * COALESCE_MIN_MS (the events of one burst, a relist's pages, arrive within it), at most COALESCE_MAX_MS,
 * and otherwise as long as the CPU the last reconcile took, so a stream of changes keeps the process busy
 * at most about half the time however fast it comes (a rotation stamps thousands of Secrets in a minute).
 * CPU, not wall time: a reconcile that mostly waits on the API server (a rotation step's writes) does not
 * push the next one further away, which would leave the tokens controller idle between steps.
 */
export const COALESCE_MIN_MS = 50;
export const COALESCE_MAX_MS = 1000;
/**
 * However fast a reconcile is, changes that keep coming start one at most this often per key (counted from
 * the start of the last): a rotation's stream of refills is judged about once a second, not after each 50 ms
 * window, so a reconcile made cheaper is not simply run more often. The first change after a quiet spell
 * still waits only COALESCE_MIN_MS.
 */
export const STREAM_PERIOD_MS = 1000;
/** Conflicts in a row retried at once before they count as ordinary failures (no hot loop). */
export const MAX_IMMEDIATE_RETRIES = 5;

/**
 * What counts as controller_runtime_reconcile_panics_total here: a reconcile that threw a JavaScript
 * programming error (a TypeError such as reading a property of undefined, a ReferenceError, a
 * RangeError), alone or inside the AggregateError of the areas that failed: Go would have panicked.
 * undici's TypeError for a failed request (it carries the network error as its cause) is not one.
 * Every error, a panic included, is retried: the operator has no terminal errors, so
 * controller_runtime_terminal_reconcile_errors_total stays 0.
 */
export function isProgrammingError(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isProgrammingError);
  if (err instanceof TypeError) return !(err.message === 'fetch failed' && err.cause !== undefined);
  return err instanceof ReferenceError || err instanceof RangeError;
}

export type Reconcile = (ctx: ReconcileContext) => Promise<ReconcileResult | undefined>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  concurrency?: number;
  log: Logger;
  metrics?: Metrics;
  /** the process's CPU time so far (ms): process.cpuUsage() unless a test scripts it */
  cpuMs?: () => number;
}

const processCpuMs = (): number => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly opts: ControllerOptions;
  private workers: Promise<void>[] = [];
  private abort = new AbortController();
  private running = false;
  /** the CPU the process spent during the last reconcile (ms): the coalescing window of the changes that follow it */
  private lastReconcileCpuMs = 0;
  /** keys a watch saw change while they were being reconciled: queued again a window after */
  private readonly changedWhileRunning = new Set<string>();
  /** when each key's last reconcile started (Date.now() ms) */
  private readonly lastStarted = new Map<string, number>();

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue(opts.name, { rateLimit: RECONCILE_BACKOFF, ...(opts.metrics ? { metrics: opts.metrics.queueMetrics() } : {}) });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const n = this.opts.concurrency ?? 1;
    this.initMetrics(n);
    this.workers = Array.from({ length: n }, () => this.work());
    this.opts.log.info('controller started', { controller: this.name, workers: n });
  }

  /**
   * Like controller-runtime's initMetrics: every series this controller will count exists from its
   * start at 0, so the first error or panic is an increase that rate() and increase() see.
   */
  private initMetrics(workers: number): void {
    const m = this.opts.metrics;
    if (!m) return;
    const controller = this.name;
    m.maxConcurrentReconciles.set({ controller }, workers);
    m.activeWorkers.set({ controller }, 0);
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) m.reconcileTotal.inc({ controller, result }, 0);
    m.reconcileErrors.inc({ controller }, 0);
    m.terminalReconcileErrors.inc({ controller }, 0);
    m.reconcilePanics.inc({ controller }, 0);
  }

  /**
   * Queues a key for a change a watch saw. Changes within the coalescing window (see COALESCE_MIN_MS)
   * cost one reconcile: the first starts the window, the others find the key already pending. Changes
   * while the key is being reconciled cost one more reconcile, a window after that one ends.
   */
  enqueue(key: string): void {
    if (this.queue.isProcessing(key)) this.changedWhileRunning.add(key);
    else this.queue.addAfter(key, this.coalesceMs(key));
  }

  /**
   * The coalescing window now: the CPU the last reconcile took, within COALESCE_MIN_MS..COALESCE_MAX_MS, and at
   * least what is left of STREAM_PERIOD_MS since the key's last reconcile started.
   */
  coalesceMs(key?: string): number {
    const window = Math.min(COALESCE_MAX_MS, Math.max(COALESCE_MIN_MS, Math.round(this.lastReconcileCpuMs)));
    const started = key === undefined ? undefined : this.lastStarted.get(key);
    return started === undefined ? window : Math.max(window, STREAM_PERIOD_MS - (Date.now() - started));
  }

  /** Stops taking work, aborts in-flight reconciles' signals and waits for them to return. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort();
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.opts.log.info('controller stopped', { controller: this.name });
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.reconcileOne(key);
      this.queue.done(key);
      if (this.changedWhileRunning.delete(key)) this.queue.addAfter(key, this.coalesceMs(key));
    }
  }

  /**
   * controller-runtime's retry, per cause: a conflict re-reads and retries at once (a
   * debug line: the next attempt resolves it); a 403 or 404 retries every BOUNDED_RETRY_MS
   * (the areas already report it in status); anything else backs off exponentially.
   */
  private retry(key: string, err: unknown, log: ReconcileContext['log']): void {
    const cause = retryCause(err);
    const failures = this.queue.numRequeues(key);
    if (cause === 'conflict' && failures < MAX_IMMEDIATE_RETRIES) {
      this.queue.countRetry(key);
      this.queue.add(key);
      log.debug('reconcile hit a conflict; retrying at once', { error: describeError(err) });
    } else if (cause === 'bounded') {
      this.queue.countRetry(key);
      this.queue.addAfter(key, BOUNDED_RETRY_MS);
      (failures === 0 ? log.info.bind(log) : log.debug.bind(log))('reconcile incomplete (forbidden or not found); retrying', {
        error: describeError(err),
        retryInMs: BOUNDED_RETRY_MS,
      });
    } else {
      // The first failure of a streak is an error; its retries are debug lines until it heals.
      const delay = this.queue.addRateLimited(key);
      if (failures === 0) log.error('reconcile failed; will retry', { error: describeError(err), retryInMs: delay });
      else log.debug('reconcile failed again; will retry', { error: describeError(err), retryInMs: delay, attempt: failures + 1 });
    }
  }

  private async reconcileOne(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const log = this.opts.log.child({ controller: this.name, object: key, reconcileID });
    const metrics = this.opts.metrics;
    metrics?.activeWorkers.inc({ controller: this.name });
    const end = metrics?.reconcileTime.startTimer({ controller: this.name });
    const cpuMs = this.opts.cpuMs ?? processCpuMs;
    const cpuAtStart = cpuMs();
    this.lastStarted.set(key, Date.now());
    try {
      const result = await this.opts.reconcile({ key, reconcileID, log, signal: this.abort.signal });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.addAfter(key, result.requeueAfterMs);
        metrics?.reconcileTotal.inc({ controller: this.name, result: 'requeue_after' });
      } else {
        metrics?.reconcileTotal.inc({ controller: this.name, result: 'success' });
      }
    } catch (err) {
      metrics?.reconcileTotal.inc({ controller: this.name, result: 'error' });
      metrics?.reconcileErrors.inc({ controller: this.name });
      if (isProgrammingError(err)) metrics?.reconcilePanics.inc({ controller: this.name });
      if (this.abort.signal.aborted) {
        log.info('reconcile abandoned at shutdown', { error: describeError(err) });
      } else {
        this.retry(key, err, log);
      }
    } finally {
      this.lastReconcileCpuMs = cpuMs() - cpuAtStart;
      end?.();
      metrics?.activeWorkers.dec({ controller: this.name });
    }
  }
}
