// A rate-limited work queue with client-go's guarantees
// (k8s.io/client-go/util/workqueue): a key is queued at most once however often
// it is added, is never handed to two workers at once (an add while it is being
// processed is kept and delivered after done()), failures back off per key
// exponentially (5 ms → 1000 s by default), addAfter delays, and periodic
// resyncs wait behind real work.
import { backoffDelay, type BackoffPolicy } from './backoff.ts';

/** Work handed out and not done yet: its total age and the oldest one's (client-go's unfinished-work gauges). */
export type InFlight = () => { unfinishedSeconds: number; longestSeconds: number };

export interface QueueMetrics {
  depth(name: string, depth: number): void;
  add(name: string): void;
  retry(name: string): void;
  queueDuration(name: string, seconds: number): void;
  workDuration(name: string, seconds: number): void;
  /** called once per queue: the exporter reads the queue's in-flight work when it is scraped */
  inFlight?(name: string, probe: InFlight): void;
}

export const DEFAULT_RATE_LIMIT: BackoffPolicy = { baseMs: 5, maxMs: 1000 * 1000, factor: 2, jitter: 0 };

export class WorkQueue {
  readonly name: string;
  private readonly queue: string[] = [];
  private readonly lowPriority: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly rateLimit: BackoffPolicy;
  private readonly metrics: QueueMetrics | undefined;
  private readonly now: () => number;

  constructor(name: string, options: { rateLimit?: BackoffPolicy; metrics?: QueueMetrics; now?: () => number } = {}) {
    this.name = name;
    this.rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.metrics?.inFlight?.(name, () => this.inFlight());
  }

  /** Seconds spent so far on the keys being processed: summed, and the longest (0 when idle). */
  inFlight(): { unfinishedSeconds: number; longestSeconds: number } {
    const now = this.now();
    let unfinished = 0;
    let longest = 0;
    for (const started of this.startedAt.values()) {
      const s = Math.max(0, now - started) / 1000;
      unfinished += s;
      longest = Math.max(longest, s);
    }
    return { unfinishedSeconds: unfinished, longestSeconds: longest };
  }

  /** Queue a key now. A key already waiting is not queued twice. */
  add(key: string): void {
    this.enqueue(key, false);
  }

  /** Queue a key behind all normal work (periodic resync). */
  addLowPriority(key: string): void {
    this.enqueue(key, true);
  }

  private enqueue(key: string, low: boolean): void {
    if (this.shuttingDown) return;
    this.metrics?.add(this.name);
    if (this.dirty.has(key)) {
      // Promote a low-priority entry when real work arrives for the same key.
      if (!low) {
        const i = this.lowPriority.indexOf(key);
        if (i >= 0) {
          this.lowPriority.splice(i, 1);
          this.queue.push(key);
        }
      }
      return;
    }
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return; // delivered again after done()
    this.push(key, low);
  }

  private push(key: string, low: boolean): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.begin(key);
      waiter(key);
    } else {
      (low ? this.lowPriority : this.queue).push(key);
    }
    this.reportDepth();
  }

  private begin(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
    const added = this.addedAt.get(key);
    if (added !== undefined) this.metrics?.queueDuration(this.name, (this.now() - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, this.now());
  }

  /** Queue a key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /** Queue a key after its per-key exponential backoff (one more failure). */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    this.metrics?.retry(this.name);
    const delay = backoffDelay(n, this.rateLimit);
    this.addAfter(key, delay);
    return delay;
  }

  /** Count a failure for a key retried by other means (at once, or on a fixed period). */
  countRetry(key: string): void {
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    this.metrics?.retry(this.name);
  }

  /** Forget a key's failures: the next addRateLimited starts from the base delay again. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Whether a worker has the key now (handed out by get(), not done yet). */
  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to work on; resolves undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown && this.queue.length === 0 && this.lowPriority.length === 0) return Promise.resolve(undefined);
    const key = this.queue.shift() ?? this.lowPriority.shift();
    if (key !== undefined) {
      this.begin(key);
      this.reportDepth();
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key finished; if it was added while in flight, it is queued again now. */
  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    if (started !== undefined) this.metrics?.workDuration(this.name, (this.now() - started) / 1000);
    this.startedAt.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key, false);
  }

  /** Stop handing out work: pending delays are dropped and idle workers get undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.lowPriority.length = 0;
    this.dirty.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
    this.reportDepth();
  }

  get length(): number {
    return this.queue.length + this.lowPriority.length;
  }

  private reportDepth(): void {
    this.metrics?.depth(this.name, this.length);
  }
}
