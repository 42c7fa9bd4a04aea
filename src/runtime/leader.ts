// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules
// (k8s.io/client-go/tools/leaderelection): a candidate takes the lease only when
// its holder has not renewed it for leaseDuration as measured on the candidate's
// own clock (so skewed clocks cannot steal it), the leader renews every
// retryPeriod and gives up leading the moment renewals have failed for
// renewDeadline, and a clean shutdown releases the lease so a standby takes
// over at once. Defaults are controller-runtime's: 15 s / 10 s / 2 s.
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

export class LeaderElector {
  readonly identity: string;
  private readonly o: Required<Omit<LeaderElectionOptions, 'metrics'>> & { metrics?: Metrics };
  private observedSpec = '';
  private observedAt = 0;
  private leading = false;
  /** Why the last attempt did not take or keep the lease, in words (undefined: it did), and how long it took. */
  private lastMiss: { why: string; tookMs: number } | undefined;

  constructor(options: LeaderElectionOptions) {
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...options, identity: this.identity };
  }

  /** One lease call may not outlast half the renew deadline, or a hung connection would keep a deposed leader reconciling. */
  private get callTimeoutMs(): number {
    return Math.max(1000, Math.floor(this.o.renewDeadlineMs / 3));
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

  /** One attempt to take or keep the lease. Never throws. */
  async tryAcquireOrRenew(now: () => Date = () => new Date()): Promise<boolean> {
    const t = now();
    const desired = (prev: LeaseSpec | undefined): LeaseSpec => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.o.leaseDurationMs / 1000),
      acquireTime: prev?.holderIdentity === this.identity && prev.acquireTime ? prev.acquireTime : microTime(t),
      renewTime: microTime(t),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity && prev.holderIdentity !== this.identity ? 1 : 0),
    });
    const started = Date.now();
    const miss = (why: string): false => {
      this.lastMiss = { why, tookMs: Date.now() - started };
      return false;
    };
    this.lastMiss = undefined;
    try {
      let lease: Lease;
      try {
        lease = await this.o.client.get<Lease>(this.path, { timeoutMs: this.callTimeoutMs });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.o.client.request('POST', collectionPath(Resources.leases, this.o.namespace), {
          timeoutMs: this.callTimeoutMs,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: desired(undefined) },
        });
        this.observe(desired(undefined), Date.now());
        return true;
      }
      const spec = lease.spec ?? {};
      const fingerprint = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
      if (fingerprint !== this.observedSpec) this.observe(spec, Date.now());
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== '' && holder !== this.identity && this.observedAt + durationMs > Date.now()) {
        return miss(`held by ${holder}`); // who renewed within a lease duration, by our clock
      }
      const next = desired(spec);
      await this.o.client.request('PUT', this.path, { body: { ...lease, spec: next }, timeoutMs: this.callTimeoutMs });
      this.observe(next, Date.now());
      return true;
    } catch (err) {
      if (isConflict(err)) return miss('the lease changed between its read and the write (409)');
      this.o.log.warn('leader election: could not acquire or renew the lease', { lease: `${this.o.namespace}/${this.o.name}`, error: describeError(err) });
      return miss(describeError(err));
    }
  }

  private observe(spec: LeaseSpec, at: number): void {
    this.observedSpec = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    this.observedAt = at;
  }

  /**
   * Campaigns until `signal` aborts: on winning calls lead(leaderSignal) and keeps
   * renewing; when renewals fail for renewDeadline, leaderSignal aborts at once and
   * it campaigns again. On shutdown the lease is released.
   */
  async run(signal: AbortSignal, lead: (leaderSignal: AbortSignal) => Promise<void> | void): Promise<void> {
    this.setLeading(false);
    while (!signal.aborted) {
      if (!(await this.tryAcquireOrRenew())) {
        await sleep(this.o.retryPeriodMs * (1 + Math.random() * 0.2), signal);
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
        // A renewal counts from when it was sent: the lease's renewTime is stamped then.
        const attempt = Date.now();
        if (await this.tryAcquireOrRenew()) {
          lastRenew = attempt;
        } else if (Date.now() - lastRenew >= this.o.renewDeadlineMs) {
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
      }
      this.setLeading(false);
      leaderAbort.abort();
      signal.removeEventListener('abort', onStop);
      await leading;
    }
    await this.release();
  }

  /** Gives the lease up so a standby need not wait out the lease duration. */
  async release(): Promise<void> {
    try {
      const lease = await this.o.client.get<Lease>(this.path);
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = microTime(new Date());
      await this.o.client.replace(this.path, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      });
      this.o.log.info('released the leader lease', { lease: `${this.o.namespace}/${this.o.name}` });
    } catch (err) {
      this.o.log.warn('could not release the leader lease; a standby takes over after it expires', { error: describeError(err) });
    }
  }
}
