// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules
// (k8s.io/client-go/tools/leaderelection/leaderelection.go): a candidate takes the lease only when
// its holder has not renewed it for leaseDuration as measured on the candidate's own clock (so
// skewed clocks cannot steal it), and retries every retryPeriod with jitter; the leader renews
// every retryPeriod by writing over the Lease it last wrote (one PUT, a GET only after a 409),
// each renewal retried until renewDeadline with no shorter cut per call, and gives up leading the
// moment a renewal misses that deadline; a clean shutdown releases the lease so a standby takes
// over at once. Defaults are controller-runtime's: 15 s / 10 s / 2 s; config/manager ships cert-manager's
// 60 s / 40 s / 15 s (docs/performance.md#leader-election-timings).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import { describeError, isConflict, isNotFound } from '../kube/errors.ts';
import { objectPath, collectionPath, Resources } from '../kube/paths.ts';
import { aborted, sleep } from './backoff.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}
interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  metrics?: Metrics;
}

/** RFC 3339 with microseconds, the metav1.MicroTime wire format. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * client-go's acquire loop waits retryPeriod plus up to 1.2 times that again between attempts
 * (wait.JitterUntil with leaderelection.JitterFactor = 1.2), so standbys do not ask in step.
 */
export const JITTER_FACTOR = 1.2;

/**
 * client-go's NewLeaderElector checks, one line each: a leader must give up before its lease can run out
 * on a standby's clock, and must be able to retry within its renew deadline. Throws on the first broken rule.
 */
export function checkTimings(t: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): void {
  const s = (ms: number): string => `${ms / 1000}s`;
  const flags = `--leader-election-lease-duration (${s(t.leaseDurationMs)}), --leader-election-renew-deadline (${s(t.renewDeadlineMs)}), --leader-election-retry-period (${s(t.retryPeriodMs)})`;
  if (!(t.retryPeriodMs > 0 && t.renewDeadlineMs > 0 && t.leaseDurationMs > 0)) throw new Error(`leader election: ${flags} must all be above 0`);
  if (t.leaseDurationMs <= t.renewDeadlineMs)
    throw new Error(`leader election: the lease duration must be longer than the renew deadline (${flags}); set them together`);
  if (t.renewDeadlineMs <= JITTER_FACTOR * t.retryPeriodMs)
    throw new Error(`leader election: the renew deadline must be longer than ${JITTER_FACTOR} × the retry period (${flags}); set them together`);
}

export class LeaderElector {
  readonly identity: string;
  private readonly o: Required<Omit<LeaderElectionOptions, 'metrics'>> & { metrics?: Metrics };
  /** the lease record last read or written, and when (by this process's clock) it was first seen */
  private observed: { fingerprint: string; holder: string; durationMs: number; at: number } = { fingerprint: '', holder: '', durationMs: 0, at: 0 };
  /** the Lease as last read or written, with its resourceVersion: the leader renews from it without a GET */
  private lease: Lease | undefined;
  private leading = false;
  /** Why the last attempt did not take or keep the lease, in words (undefined: it did), and how long it took. */
  private lastMiss: { why: string; tookMs: number } | undefined;

  constructor(options: LeaderElectionOptions) {
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options, identity: this.identity };
    checkTimings(this.o);
  }

  isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return objectPath(Resources.leases, this.o.name, this.o.namespace);
  }

  private setLeading(v: boolean): void {
    this.leading = v;
    this.o.metrics?.leaderStatus.set({ name: this.o.name }, v ? 1 : 0);
  }

  /** The holder this replica last saw is itself and, by its own clock, the lease has not run out since. */
  private holdsValidLease(now: number): boolean {
    return this.observed.holder === this.identity && this.observed.at + this.observed.durationMs > now;
  }

  /**
   * One attempt to take or keep the lease, as client-go's tryAcquireOrRenew: a leader whose lease is
   * still valid writes its renewal over the Lease it last wrote (a PUT with that resourceVersion, no
   * GET); only if that fails (409: someone else wrote it) does it read the Lease and judge again.
   * Every call is bounded by `deadline` (epoch ms): the renew deadline, shared by all the retries of
   * one renewal, never cut shorter per call. Never throws.
   */
  async tryAcquireOrRenew(deadline = Date.now() + this.o.renewDeadlineMs): Promise<boolean> {
    const started = Date.now();
    const timeoutMs = (): number => Math.max(1, deadline - Date.now());
    const desired = (prev: LeaseSpec | undefined): LeaseSpec => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.o.leaseDurationMs / 1000),
      acquireTime: prev?.holderIdentity === this.identity && prev.acquireTime ? prev.acquireTime : microTime(new Date(started)),
      renewTime: microTime(new Date(started)),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity && prev.holderIdentity !== this.identity ? 1 : 0),
    });
    const miss = (why: string): false => {
      this.lastMiss = { why, tookMs: Date.now() - started };
      return false;
    };
    const lease = `${this.o.namespace}/${this.o.name}`;
    this.lastMiss = undefined;
    // 1. The fast path: the leader updates optimistically, assuming what it last wrote is current.
    if (this.lease && this.holdsValidLease(started)) {
      try {
        this.wrote(await this.put({ ...this.lease, spec: desired(this.lease.spec) }, timeoutMs()));
        return true;
      } catch (err) {
        // As client-go: any failure falls back to reading the Lease (a 409: someone else wrote it; a 404: deleted).
        this.o.log.debug('leader election: could not renew over the lease last written; reading it again', { lease, error: describeError(err) });
        if (Date.now() >= deadline) return miss(describeError(err));
      }
    }
    // 2. The slow path: read (or create) the Lease, judge its holder, write.
    try {
      let current: Lease;
      try {
        current = await this.o.client.get<Lease>(this.path, { timeoutMs: timeoutMs() });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const created = await this.o.client.request<Lease>('POST', collectionPath(Resources.leases, this.o.namespace), {
          timeoutMs: timeoutMs(),
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: desired(undefined) },
        });
        this.wrote(created);
        return true;
      }
      this.lease = current;
      this.observe(current.spec ?? {});
      const holder = this.observed.holder;
      if (holder !== '' && holder !== this.identity && this.observed.at + this.observed.durationMs > Date.now()) {
        return miss(`held by ${holder}`); // who renewed within a lease duration, by our clock
      }
      this.wrote(await this.put({ ...current, spec: desired(current.spec) }, timeoutMs()));
      return true;
    } catch (err) {
      if (isConflict(err)) return miss('the lease changed between its read and the write (409)');
      this.o.log.warn('leader election: could not acquire or renew the lease', { lease, error: describeError(err) });
      return miss(describeError(err));
    }
  }

  private async put(body: Lease, timeoutMs: number): Promise<Lease> {
    return await this.o.client.request<Lease>('PUT', this.path, { body, timeoutMs });
  }

  /** What the API server answered to a write: the next renewal writes over it. */
  private wrote(lease: Lease): void {
    this.lease = lease;
    this.observe(lease.spec ?? {}, true);
  }

  /** Notes the record; its time is when it was first seen changed (or written by this replica), on this clock. */
  private observe(spec: LeaseSpec, written = false): void {
    const fingerprint = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (!written && fingerprint === this.observed.fingerprint) return;
    this.observed = { fingerprint, holder: spec.holderIdentity ?? '', durationMs: (spec.leaseDurationSeconds ?? 0) * 1000, at: Date.now() };
  }

  /**
   * One renewal as client-go's renew loop makes it (wait.PollImmediateUntil under a context with the
   * renew deadline): try at once, then every retryPeriod from the start of the last try, until one
   * succeeds or renewDeadline has passed since the first; a slow call runs as long as the deadline allows.
   */
  private async renew(signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + this.o.renewDeadlineMs;
    for (;;) {
      const attempt = Date.now();
      if (await this.tryAcquireOrRenew(deadline)) return true;
      const next = attempt + this.o.retryPeriodMs;
      if (aborted(signal) || Math.max(next, Date.now()) >= deadline) return false;
      await sleep(next - Date.now(), signal);
    }
  }

  /**
   * Campaigns until `signal` aborts: on winning calls lead(leaderSignal) and keeps
   * renewing; when a renewal has not succeeded within renewDeadline, leaderSignal aborts at once and
   * it campaigns again. On shutdown the lease is released.
   */
  async run(signal: AbortSignal, lead: (leaderSignal: AbortSignal) => Promise<void> | void): Promise<void> {
    this.setLeading(false);
    while (!signal.aborted) {
      if (!(await this.tryAcquireOrRenew())) {
        await sleep(this.o.retryPeriodMs * (1 + Math.random() * JITTER_FACTOR), signal);
        continue;
      }
      this.setLeading(true);
      this.o.log.info('became leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.identity });
      const leaderAbort = new AbortController();
      const onStop = (): void => {
        leaderAbort.abort();
      };
      signal.addEventListener('abort', onStop, { once: true });
      const leading = Promise.resolve(lead(leaderAbort.signal));
      let lastRenew = Date.now();
      while (!aborted(signal)) {
        await sleep(this.o.retryPeriodMs, signal);
        if (aborted(signal)) break;
        const attempt = Date.now();
        if (await this.renew(signal)) {
          lastRenew = attempt;
          continue;
        }
        if (aborted(signal)) break;
        // Says why: a lease taken by another replica means this one's renewals did not reach the API server
        // within the lease duration (an overloaded API server, or this process too busy to send them).
        this.o.log.error('leader election lost: could not renew the lease within the renew deadline; stopped reconciling', {
          lease: `${this.o.namespace}/${this.o.name}`,
          renewDeadlineMs: this.o.renewDeadlineMs,
          sinceLastRenewalMs: Date.now() - lastRenew,
          ...(this.lastMiss ? { lastAttempt: this.lastMiss.why, lastAttemptMs: this.lastMiss.tookMs } : {}),
        });
        break;
      }
      this.setLeading(false);
      leaderAbort.abort();
      signal.removeEventListener('abort', onStop);
      await leading;
    }
    await this.release();
  }

  /**
   * Gives the lease up so a standby need not wait out the lease duration: written over the Lease this
   * replica last wrote, as client-go's release does (a 409 means another replica holds it already).
   */
  async release(): Promise<void> {
    if (!this.lease || this.observed.holder !== this.identity) return;
    const lease = `${this.o.namespace}/${this.o.name}`;
    try {
      const now = microTime(new Date());
      const spec: LeaseSpec = { ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      this.wrote(await this.put({ ...this.lease, spec }, this.o.renewDeadlineMs));
      this.o.log.info('released the leader lease', { lease });
    } catch (err) {
      if (isConflict(err)) this.o.log.info('did not release the leader lease: another replica has written it since', { lease });
      else this.o.log.warn('could not release the leader lease; a standby takes over after it expires', { lease, error: describeError(err) });
    }
  }
}
