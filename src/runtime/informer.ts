// A list-watch cache in the manner of client-go's reflector, built because
// @kubernetes/client-node's ListWatch stops for good on any error other than
// 410 and a client timeout. This one:
// - lists in pages, then watches from the list's resourceVersion with bookmarks,
//   resuming from the last resourceVersion seen after every disconnect;
// - relists on 410 Gone / "too old resource version";
// - retries a 403 or 404 (a permission not granted yet, a CRD not installed yet)
//   on a short bounded period, so a fix takes effect within seconds, and every
//   other failure with capped, jittered exponential backoff, never sooner than
//   the server's Retry-After; the same failure is logged once, not per retry;
// - detects a silently dead watch with a last-seen watchdog (bookmarks keep a
//   healthy quiet watch talking) and restarts that watch alone; the shared
//   connection is reset only if a probe on it gets no answer (client.checkConnection);
// - relists-and-diffs periodically as a bounded backstop;
// - or, for a collection read only now and then whose objects all change every few
//   seconds (node Leases: every kubelet renews every 10 s), lists it on a period
//   instead of watching: one wake-up per period instead of one per renewal;
// - transforms each object before caching it, so only the fields reconcilers
//   read are held (never a token value, never whole Pods);
// - calls handlers synchronously and contains their exceptions.
import { pollPeriodMs, type CachedObject, type PollInterval } from '../kube/cache-spec.ts';
import { isApiMissing, isForbidden, isGone, isNotFound, KubeApiError, describeError, retryAfterMs } from '../kube/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import { aborted, Backoff, BOUNDED_RETRY_MS, sleep, type BackoffPolicy } from './backoff.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

export type Cached = CachedObject;

export type EventType = 'add' | 'update' | 'delete';
export type Handler<T> = (type: EventType, obj: T, old: T | undefined) => void;

export interface InformerOptions<T extends Cached> {
  /** for logs and metrics, e.g. "nodes" */
  name: string;
  client: KubeClient;
  /** collection path, e.g. /api/v1/nodes */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** keep only what reconcilers read; return undefined to not cache the object */
  transform: (raw: unknown) => T | undefined;
  pageSize?: number;
  /** restart a watch that has sent nothing (not even a bookmark) for this long */
  inactivityTimeoutMs?: number;
  /** relist and diff this often as a backstop against missed events; 0 disables */
  relistIntervalMs?: number;
  /**
   * list (from the API server's watch cache, resourceVersion=0, one request) and diff this often
   * instead of watching: handlers see each period's changes as add/update/delete events. A function
   * computes the period from how many objects are cached (a cost per poll that grows with them).
   */
  pollIntervalMs?: PollInterval;
  backoff?: BackoffPolicy;
  /** what to tell the user when the API server does not serve `path` (e.g. how to install a CRD) */
  whenMissing?: string;
  /**
   * retry period for an API the server does not serve (default BOUNDED_RETRY_MS); a function is asked at
   * each retry (longer while something else watches for the API to appear and calls retryNow())
   */
  missingRetryMs?: number | (() => number);
  log: Logger;
  metrics?: Metrics;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: { metadata?: { name?: string; namespace?: string; resourceVersion?: string }; code?: number; reason?: string; message?: string };
}

interface ListResponse {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

const keyOf = (m: { name?: string | undefined; namespace?: string | undefined }): string => (m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? ''));

/**
 * kube-apiserver 1.37 sends a BOOKMARK on every watch that asked for them about once a
 * minute, even on an empty or field-selected one, but the first can take two minutes
 * (measured on the local control plane: first at ~120 s, then every ~60 s). Three
 * minutes leaves a margin; a stalled watch costs only its own restart.
 */
export const DEFAULT_INACTIVITY_TIMEOUT_MS = 180_000;
export const DEFAULT_RELIST_INTERVAL_MS = 30 * 60_000;

class WatchStalled extends Error {
  constructor(ms: number) {
    super(`watch sent nothing for ${ms} ms (no events, no bookmarks)`);
    this.name = 'WatchStalled';
  }
}

export class Informer<T extends Cached> {
  readonly name: string;
  readonly path: string;
  private readonly opts: InformerOptions<T>;
  private readonly store = new Map<string, T>();
  private readonly handlers: Handler<T>[] = [];
  private resourceVersion = '';
  private synced = false;
  /** whether the API server serves this resource, as the last list found (undefined: not known since start) */
  private apiAbsent: boolean | undefined;
  /** aborted by retryNow(): ends the wait after a list of an API the server did not serve */
  private wakeMissing: AbortController | undefined;
  private syncWaiters: (() => void)[] = [];
  private readonly syncHandlers: (() => void)[] = [];
  private stopController = new AbortController();
  private watchAbort: AbortController | undefined;
  private relistRequested = false;
  private loop: Promise<void> | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  /** time (ms) the last byte arrived on a watch or a list completed */
  lastSeenAt = 0;
  /** the last list failure before the cache synced, for readiness and `check` messages (cleared on a successful list) */
  lastError: string | undefined;
  /** the error behind lastError, for callers that classify it (a 403 names the missing permission) */
  lastFailure: unknown;
  /** since when list/watch has failed without progress, synced or not (undefined: it works) */
  private failingSinceMs: number | undefined;
  private failingWith: unknown;
  readonly stats = { lists: 0, watches: 0, stalls: 0, expired: 0, errors: 0 };

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.name = opts.name;
    this.path = opts.path;
  }

  on(handler: Handler<T>): void {
    this.handlers.push(handler);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(keyOf({ name, namespace }));
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** Runs every time the cache becomes synced (the first list after start): whoever waited on it can act now. */
  onSync(handler: () => void): void {
    this.syncHandlers.push(handler);
  }

  get size(): number {
    return this.store.size;
  }

  /**
   * A synced cache whose list/watch has failed for at least `boundMs` without progress (a permission
   * taken away, an API server that keeps refusing): what it holds can no longer be refreshed.
   */
  staleFor(nowMs: number, boundMs: number): { failure: unknown; error: string; sinceMs: number } | undefined {
    if (!this.synced || this.failingSinceMs === undefined || nowMs - this.failingSinceMs < boundMs) return undefined;
    return { failure: this.failingWith, error: this.describeFailure(this.failingWith), sinceMs: this.failingSinceMs };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has filled the cache (or the informer stopped). */
  waitForSync(): Promise<void> {
    if (this.synced || this.stopController.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (this.loop) return;
    this.stopController = new AbortController();
    if (this.apiAbsent !== true) this.opts.metrics?.informerSynced.set({ informer: this.name }, this.synced ? 1 : 0);
    this.loop = this.run();
    const every = this.polled ? 0 : (this.opts.relistIntervalMs ?? DEFAULT_RELIST_INTERVAL_MS);
    if (every > 0) {
      this.relistTimer = setInterval(() => {
        this.requestRelist('periodic');
      }, every);
      this.relistTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopController.abort();
    this.watchAbort?.abort();
    if (this.relistTimer) clearInterval(this.relistTimer);
    for (const w of this.syncWaiters.splice(0)) w();
    await this.loop;
    this.loop = undefined;
  }

  /** Whether the collection is listed on a period instead of watched (pollIntervalMs). */
  get polled(): boolean {
    return this.opts.pollIntervalMs !== undefined;
  }

  /** Whether start() was called and stop() not since. */
  get running(): boolean {
    return this.loop !== undefined;
  }

  /**
   * Drops what the cache holds (after stop()): a replica that stops leading frees the memory of the
   * caches only a leader reads, and lists afresh if it leads again. No delete events: nothing is gone.
   */
  forget(): void {
    if (this.loop) throw new Error(`informer ${this.name}: forget() while running`);
    this.store.clear();
    this.resourceVersion = '';
    this.synced = false;
    this.lastError = undefined;
    this.lastFailure = undefined;
    this.failingSinceMs = undefined;
    this.apiAbsent = undefined;
    // Stopped (a standby): neither synced nor unsynced, so no alert reads a cache nobody runs.
    this.opts.metrics?.informerObjects.set({ informer: this.name }, 0);
    this.opts.metrics?.informerSynced.remove({ informer: this.name });
    this.opts.metrics?.informerApiAbsent.remove({ informer: this.name });
  }

  /**
   * Whether the API server says it does not serve this resource at all (an optional CRD not installed).
   * Such a cache is not "unsynced": authpolicy_informer_synced is withdrawn and
   * authpolicy_informer_api_absent is 1 until a list succeeds.
   */
  private markApiAbsent(absent: boolean): void {
    if (absent === this.apiAbsent) return;
    this.apiAbsent = absent;
    const labels = { informer: this.name };
    this.opts.metrics?.informerApiAbsent.set(labels, absent ? 1 : 0);
    if (absent) this.opts.metrics?.informerSynced.remove(labels);
    else this.opts.metrics?.informerSynced.set(labels, this.synced ? 1 : 0);
  }

  /** While waiting to list an API the server did not serve: list now (its CRD has just been established). */
  retryNow(reason: string): void {
    if (!this.wakeMissing) return;
    this.opts.log.info('listing again now', { informer: this.name, reason });
    this.wakeMissing.abort();
  }

  /** Ends the current watch and relists-and-diffs now. */
  requestRelist(reason: string): void {
    this.relistRequested = true;
    this.opts.log.debug('relist requested', { informer: this.name, reason });
    this.watchAbort?.abort(new Error(`relist: ${reason}`));
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(this.opts.backoff ?? { baseMs: 800, maxMs: 30_000, factor: 2, jitter: 0.5 });
    const signal = this.stopController.signal;
    let relistReason = 'initial';
    let lastLogged = '';
    while (!signal.aborted) {
      try {
        if (this.opts.pollIntervalMs !== undefined) {
          this.relistRequested = false;
          await this.relist(this.synced ? 'poll' : relistReason, signal);
          if (lastLogged) this.opts.log.info('list/watch works again', { informer: this.name });
          lastLogged = '';
          backoff.reset();
          await sleep(pollPeriodMs(this.opts.pollIntervalMs, this.size), signal);
          continue;
        }
        if (!this.resourceVersion || this.relistRequested) {
          const reason = this.relistRequested ? 'periodic' : relistReason;
          this.relistRequested = false;
          await this.relist(reason, signal);
          if (lastLogged) this.opts.log.info('list/watch works again', { informer: this.name });
          lastLogged = '';
        }
        const progressed = await this.watch(signal);
        if (progressed) {
          this.failingSinceMs = undefined;
          backoff.reset();
          lastLogged = '';
        } else if (!(this.relistRequested as boolean)) await sleep(backoff.next(), signal); // closed at once with nothing: do not hammer
        this.opts.metrics?.informerWatchRestarts.inc({ informer: this.name, reason: 'closed' });
      } catch (err) {
        if (aborted(signal)) break;
        if (isGone(err)) {
          this.stats.expired++;
          this.opts.log.info('resourceVersion expired; relisting', { informer: this.name, resourceVersion: this.resourceVersion });
          this.resourceVersion = '';
          relistReason = 'expired';
          continue;
        }
        if (err instanceof WatchStalled) {
          this.stats.stalls++;
          this.opts.metrics?.informerWatchRestarts.inc({ informer: this.name, reason: 'stalled' });
          this.opts.log.warn('watch went silent; reconnecting from the last resourceVersion', {
            informer: this.name,
            error: err.message,
            resourceVersion: this.resourceVersion,
          });
          // Only this watch is restarted, unless the shared connection under it is dead: probe it first
          // (with HTTP/2 it carries every request; resetting it on a hunch would kill every other watch).
          await this.opts.client.checkConnection();
          // A fresh watch usually works at once; back off only if stalls repeat.
          if (backoff.failures > 0) await sleep(backoff.next(), signal);
          else backoff.next();
          continue;
        }
        if (this.relistRequested) continue;
        this.stats.errors++;
        this.failingSinceMs ??= Date.now();
        this.failingWith = err;
        if (!this.synced) {
          this.lastError = this.describeFailure(err);
          this.lastFailure = err;
        }
        if (!this.resourceVersion) relistReason = 'error';
        if (isApiMissing(err)) this.markApiAbsent(true);
        this.opts.metrics?.informerWatchRestarts.inc({ informer: this.name, reason: 'error' });
        const waiting = isForbidden(err) || isNotFound(err);
        const delay =
          isApiMissing(err) && this.opts.missingRetryMs !== undefined
            ? typeof this.opts.missingRetryMs === 'number'
              ? this.opts.missingRetryMs
              : this.opts.missingRetryMs()
            : waiting
              ? Math.min(backoff.next(), BOUNDED_RETRY_MS)
              : backoff.next(retryAfterMs(err));
        // One failure is one log line at warn; its retries are debug until something else happens.
        const kind = err instanceof KubeApiError ? `${err.status} ${err.reason}` : describeError(err);
        const fields = { informer: this.name, error: this.describeFailure(err), retryInMs: delay, attempt: backoff.failures };
        if (kind !== lastLogged) this.opts.log.warn('list/watch failed; retrying', fields);
        else this.opts.log.debug('list/watch failed; retrying', fields);
        lastLogged = kind;
        if (isApiMissing(err)) {
          this.wakeMissing = new AbortController();
          await sleep(delay, AbortSignal.any([signal, this.wakeMissing.signal]));
          this.wakeMissing = undefined;
        } else await sleep(delay, signal);
      }
    }
  }

  /** The failure in words; a resource the API server does not serve says what to install. */
  private describeFailure(err: unknown): string {
    if (isApiMissing(err)) return this.opts.whenMissing ?? `the API server does not serve ${this.opts.path}: is its CRD or API service installed?`;
    return describeError(err);
  }

  /** A paged list that replaces the cache, emitting add/update/delete for what differs. */
  private async relist(reason: string, signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    this.opts.metrics?.informerRelists.inc({ informer: this.name, reason });
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page: ListResponse = await this.opts.client.list<ListResponse>(
        this.opts.path,
        {
          // A poll reads the API server's watch cache whole (as the reflector's first list does): one request.
          ...(this.polled ? { resourceVersion: '0' } : { limit: this.opts.pageSize ?? 500, continue: cont }),
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        signal,
      );
      for (const raw of page.items ?? []) {
        const obj = this.opts.transform(raw);
        if (obj) fresh.set(keyOf(obj.metadata), obj);
      }
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    for (const [key, old] of this.store) {
      if (!fresh.has(key)) {
        this.store.delete(key);
        this.emit('delete', old, undefined);
      }
    }
    for (const [key, obj] of fresh) this.upsert(key, obj);
    this.resourceVersion = rv;
    this.lastSeenAt = Date.now();
    this.failingSinceMs = undefined;
    this.lastError = undefined;
    this.opts.metrics?.informerObjects.set({ informer: this.name }, this.store.size);
    this.lastFailure = undefined;
    this.markApiAbsent(false);
    if (!this.synced) {
      this.synced = true;
      this.opts.metrics?.informerSynced.set({ informer: this.name }, 1);
      for (const w of this.syncWaiters.splice(0)) w();
      this.opts.log.info('cache synced', { informer: this.name, objects: this.store.size });
      for (const h of this.syncHandlers) {
        try {
          h();
        } catch (err) {
          this.opts.log.error('sync handler threw', { informer: this.name, error: describeError(err) });
        }
      }
    }
  }

  private upsert(key: string, obj: T): void {
    const old = this.store.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    this.store.set(key, obj);
    this.emit(old ? 'update' : 'add', obj, old);
  }

  private emit(type: EventType, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.opts.log.error('informer handler threw; event dropped for that handler', {
          informer: this.name,
          event: type,
          object: keyOf(obj.metadata),
          error: describeError(err),
        });
      }
    }
  }

  /** One watch connection. Returns whether it made progress; throws on errors and stalls. */
  private async watch(signal: AbortSignal): Promise<boolean> {
    this.stats.watches++;
    const abort = new AbortController();
    this.watchAbort = abort;
    const onStop = (): void => {
      abort.abort();
    };
    signal.addEventListener('abort', onStop, { once: true });
    const inactivityMs = this.opts.inactivityTimeoutMs ?? DEFAULT_INACTIVITY_TIMEOUT_MS;
    const state = { stalled: false };
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        state.stalled = true;
        abort.abort(new WatchStalled(inactivityMs));
      }, inactivityMs);
      timer.unref();
    };
    let progressed = false;
    try {
      arm();
      const response = await this.opts.client.stream(
        this.opts.path,
        {
          watch: 1,
          allowWatchBookmarks: true,
          resourceVersion: this.resourceVersion,
          // Like the reflector: a random 5-10 minute server-side timeout spreads reconnects.
          timeoutSeconds: 300 + Math.floor(Math.random() * 300),
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        abort.signal,
      );
      if (!response.body) return false;
      // The watch is established: what the cache holds is being refreshed again.
      this.failingSinceMs = undefined;
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of response.body) {
        arm();
        this.lastSeenAt = Date.now();
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          this.handleEvent(JSON.parse(line) as WatchEvent);
          progressed = true;
        }
      }
      return progressed;
    } catch (err) {
      if (state.stalled) throw new WatchStalled(inactivityMs);
      if (abort.signal.aborted && (signal.aborted || this.relistRequested)) return progressed;
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
      this.watchAbort = undefined;
    }
  }

  private handleEvent(event: WatchEvent): void {
    const meta = event.object.metadata ?? {};
    switch (event.type) {
      case 'ERROR': {
        const code = event.object.code ?? 500;
        throw new KubeApiError({
          status: code,
          reason: event.object.reason ?? 'WatchError',
          message: event.object.message ?? 'watch error',
          method: 'WATCH',
          path: this.opts.path,
        });
      }
      case 'BOOKMARK':
        break;
      case 'DELETED': {
        const key = keyOf(meta);
        const old = this.store.get(key);
        this.store.delete(key);
        const gone = old ?? this.opts.transform(event.object);
        if (gone) this.emit('delete', gone, undefined);
        break;
      }
      case 'ADDED':
      case 'MODIFIED': {
        const obj = this.opts.transform(event.object);
        const key = keyOf(meta);
        if (obj) this.upsert(key, obj);
        else if (this.store.has(key)) {
          // It no longer passes the transform's filter: treat as deleted.
          const old = this.store.get(key);
          this.store.delete(key);
          if (old) this.emit('delete', old, undefined);
        }
        break;
      }
    }
    if (meta.resourceVersion) this.resourceVersion = meta.resourceVersion;
    this.opts.metrics?.informerObjects.set({ informer: this.name }, this.store.size);
  }
}
