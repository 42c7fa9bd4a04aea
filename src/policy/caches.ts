// The informers the areas declare, created once per name and shared. Each area
// depends only on the caches it declared: one that cannot sync (a permission not
// granted) holds back that area alone, which reports why (see blockedBy).
import type { CacheHandle, CacheSpec } from '../areas/area.ts';
import type { KubeClient } from '../kube/client.ts';
import { isApiMissing, isForbidden, isNotFound } from '../kube/errors.ts';
import { collectionPath, Resources } from '../kube/paths.ts';
import { BOUNDED_RETRY_MS } from '../runtime/backoff.ts';
import { Informer, type Cached } from '../runtime/informer.ts';
import type { Logger } from '../runtime/log.ts';
import type { Metrics } from '../runtime/metrics.ts';

export interface CacheTuning {
  inactivityTimeoutMs?: number;
  relistIntervalMs?: number;
}

/**
 * How long a synced cache's list/watch may fail before what it holds stops being evidence: its areas then
 * report Unknown naming the failure (a 403: the permission to grant), as if it had never synced.
 */
export const CACHE_STALE_MS = 60_000;

/**
 * While the CRD serving a cache's API is watched (CacheSpec.servedBy), the cache looks for that API this
 * seldom: a backstop for a missed event; the CRD's establishment lists it at once.
 */
export const CRD_WATCHED_RETRY_MS = 10 * 60_000;

/** A CustomResourceDefinition, watched by name: only whether the API server serves it yet. */
interface CachedCrd extends Cached {
  established: boolean;
}

function toCachedCrd(raw: unknown): CachedCrd {
  const crd = raw as { metadata: { name: string; resourceVersion?: string }; status?: { conditions?: { type?: string; status?: string }[] } };
  return {
    metadata: { name: crd.metadata.name, resourceVersion: crd.metadata.resourceVersion },
    established: (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True'),
  };
}

/** A declared cache that has not synced, and the failure keeping it from syncing (undefined: still listing). */
export interface UnsyncedCache {
  name: string;
  path: string;
  failure: unknown;
  /** synced once, but failing since for CACHE_STALE_MS: no grace is due, the bound has passed */
  stale?: boolean;
  /** words for that failure (the informer's lastError) */
  error: string | undefined;
  /** listed on a period, never watched: only `list` is needed */
  polled: boolean;
}

/**
 * An update that changed nothing the cache keeps but the resourceVersion (a field the transform drops:
 * managedFields, status the areas do not read, an annotation of someone else's): the areas read only
 * what is cached, so it cannot change what they decide.
 */
export function unchangedButVersion(type: 'add' | 'update' | 'delete', obj: Cached, old: Cached | undefined): boolean {
  if (type !== 'update' || !old) return false;
  const withoutVersion = (o: Cached): string => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return withoutVersion(obj) === withoutVersion(old);
}

const crdWatchName = (crd: string): string => `crd-${crd}`;

export class CacheSet {
  private readonly informers = new Map<string, Informer<Cached>>();
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly tuning: CacheTuning;

  constructor(client: KubeClient, log: Logger, metrics?: Metrics, tuning: CacheTuning = {}) {
    this.client = client;
    this.log = log;
    this.metrics = metrics;
    this.tuning = tuning;
  }

  /** Creates (once) the informer for a spec and returns it; `onChange` runs for relevant events. */
  add(spec: CacheSpec, onChange?: () => void): Informer<Cached> {
    let informer = this.informers.get(spec.name);
    if (!informer) {
      informer = new Informer<Cached>({
        name: spec.name,
        client: this.client,
        path: spec.path,
        transform: spec.transform,
        ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
        ...(spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {}),
        ...(spec.whenMissing ? { whenMissing: spec.whenMissing } : {}),
        ...(spec.servedBy !== undefined
          ? { missingRetryMs: this.whileCrdWatched(spec.servedBy, spec.missingRetryMs ?? BOUNDED_RETRY_MS) }
          : spec.missingRetryMs !== undefined
            ? { missingRetryMs: spec.missingRetryMs }
            : {}),
        ...this.tuning,
        ...(spec.pollIntervalMs !== undefined ? { pollIntervalMs: spec.pollIntervalMs } : {}),
        log: this.log,
        ...(this.metrics ? { metrics: this.metrics } : {}),
      });
      this.informers.set(spec.name, informer);
      if (spec.servedBy !== undefined) {
        const served = informer;
        const crd = spec.servedBy;
        this.crdWatch(crd).on((type, obj) => {
          if (type !== 'delete' && obj.established) served.retryNow(`CustomResourceDefinition ${crd} is established`);
        });
      }
    }
    // A cache that syncs late (a permission granted, a CRD installed) lets its area run now.
    if (onChange) informer.onSync(onChange);
    if (onChange || spec.onEvent) {
      informer.on((type, obj, old) => {
        spec.onEvent?.(type, obj, old);
        if (onChange && !unchangedButVersion(type, obj, old) && (!spec.relevant || spec.relevant(type, obj, old))) onChange();
      });
    }
    return informer;
  }

  /** The retry period of a cache whose CRD is watched: long while that watch works, `fallbackMs` while it does not. */
  private whileCrdWatched(crd: string, fallbackMs: number): () => number {
    return () => {
      const watch = this.informers.get(crdWatchName(crd));
      return watch?.hasSynced() && !watch.staleFor(Date.now(), CACHE_STALE_MS) ? CRD_WATCHED_RETRY_MS : fallbackMs;
    };
  }

  /**
   * One informer per CRD a cache is served by, watching that CRD alone by name (list and watch with
   * resourceNames in config/rbac): an optional API is listed once it is installed, not polled for.
   */
  private crdWatch(crd: string): Informer<CachedCrd> {
    const name = crdWatchName(crd);
    const existing = this.informers.get(name);
    if (existing) return existing as unknown as Informer<CachedCrd>;
    const informer = new Informer<CachedCrd>({
      name,
      client: this.client,
      path: collectionPath(Resources.customResourceDefinitions),
      fieldSelector: `metadata.name=${crd}`,
      transform: toCachedCrd,
      ...this.tuning,
      log: this.log,
      ...(this.metrics ? { metrics: this.metrics } : {}),
    });
    this.informers.set(name, informer as unknown as Informer<Cached>);
    return informer;
  }

  /** The informer of a declared cache, typed by its handle. */
  get<T extends Cached>(handle: CacheHandle<T>): Informer<T> {
    return this.named(handle.name) as unknown as Informer<T>;
  }

  private named(name: string): Informer<Cached> {
    const informer = this.informers.get(name);
    if (!informer) throw new Error(`no cache named "${name}" was declared by any area`);
    return informer;
  }

  /** Starts the named caches (default: all). */
  start(names?: readonly string[]): void {
    for (const i of this.informers.values()) if (!names || names.includes(i.name)) i.start();
  }

  /**
   * Stops every cache but the named ones and drops what they hold: a standby replica keeps only
   * what /readyz needs, and lists the rest again when it leads (a few seconds at 5,000 Secrets).
   */
  async stopAllBut(kept: readonly string[]): Promise<void> {
    const stopping = [...this.informers.values()].filter((i) => !kept.includes(i.name) && i.running);
    await Promise.all(stopping.map((i) => i.stop()));
    for (const i of stopping) i.forget();
  }

  /**
   * The given caches (by spec) that have not synced yet, or whose list/watch has failed for CACHE_STALE_MS
   * since they synced (what they hold can no longer be refreshed), each with what keeps it from syncing.
   */
  unsynced(specs: readonly CacheSpec[], nowMs = Date.now()): UnsyncedCache[] {
    return specs
      .map((spec) => this.named(spec.name))
      .flatMap((i): UnsyncedCache[] => {
        if (!i.hasSynced()) return [{ name: i.name, path: i.path, failure: i.lastFailure, error: i.lastError, polled: i.polled }];
        const stale = i.staleFor(nowMs, CACHE_STALE_MS);
        if (!stale) return [];
        const error = `not refreshed since ${new Date(stale.sinceMs).toISOString()}: ${stale.error}`;
        return [{ name: i.name, path: i.path, failure: stale.failure, error, polled: i.polled, stale: true }];
      });
  }

  /**
   * Resolves once every cache has either synced or failed in a way waiting will not fix
   * soon (403, 404), or at the deadline, or when `signal` aborts: `check` then reports
   * each area whose caches did not sync as Unknown, saying why, instead of failing whole.
   */
  async settle(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const settled = (): boolean => [...this.informers.values()].every((i) => i.hasSynced() || isForbidden(i.lastFailure) || isNotFound(i.lastFailure));
    const deadline = Date.now() + timeoutMs;
    while (!settled() && Date.now() < deadline && !signal?.aborted) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, Math.max(0, deadline - Date.now()))));
    }
  }

  /**
   * Resolves when the named caches have synced (or `signal` aborts); rejects after
   * timeoutMs naming the laggards and why.
   */
  async waitForSync(names: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const pending = names.map((n) => this.named(n));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const waiting = pending.filter((i) => !i.hasSynced()).map((i) => (i.lastError ? `${i.name} (${i.lastError})` : i.name));
        reject(new Error(`caches did not sync within ${timeoutMs} ms: ${waiting.join(', ')}`));
      }, timeoutMs);
    });
    try {
      const stopped = new Promise<void>((resolve) => {
        if (signal?.aborted) resolve();
        else
          signal?.addEventListener(
            'abort',
            () => {
              resolve();
            },
            { once: true },
          );
      });
      await Promise.race([Promise.all(pending.map((i) => i.waitForSync())), timeout, stopped]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * /readyz: ready once the caches in `required` (the AuthPolicy cache: without it nothing
   * can be reported) have synced. Any other cache that has not synced is listed with why,
   * but does not make the replica unready: its area reports Unknown in status instead. An API
   * the server does not serve (say Argo Rollouts not installed) is no failure: nothing to sync; nor is a cache a
   * standby has not started.
   */
  readiness(required: readonly string[]): { ok: boolean; detail: string } {
    const lines: string[] = [];
    let ok = true;
    for (const i of this.informers.values()) {
      if (i.hasSynced() || !i.running) continue; // not started: a standby lists only when it leads
      if (!required.includes(i.name) && isApiMissing(i.lastFailure)) continue;
      if (required.includes(i.name)) ok = false;
      lines.push(`cache ${i.name} not synced${required.includes(i.name) ? ' (required)' : ''}${i.lastError ? `: ${i.lastError}` : ''}`);
    }
    return { ok, detail: lines.length ? lines.join('\n') : 'ok' };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
