// What an informer caches: a collection, its selectors, and the transform that
// keeps only the fields reconcilers read. Areas declare these; the operator
// creates one informer per name and shares it.

/** The identity and version every cached object keeps. */
export interface CachedObject {
  metadata: { name: string; namespace?: string | undefined; resourceVersion?: string | undefined };
}

/** A polling period, fixed or computed from the number of objects cached. */
export type PollInterval = number | ((cached: number) => number);

export const pollPeriodMs = (interval: PollInterval, cached: number): number => (typeof interval === 'number' ? interval : interval(cached));

/** An informer an area needs: started once by the operator (or by `check`) and shared by name. */
export interface CacheSpec<T extends CachedObject = CachedObject> {
  name: string;
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  transform: (raw: unknown) => T | undefined;
  /** does a change to this object warrant reconciling the policy now? (default: yes) */
  relevant?: (type: 'add' | 'update' | 'delete', obj: T, old: T | undefined) => boolean;
  /** what to tell the user when the API server does not serve `path` (e.g. how to install a CRD) */
  whenMissing?: string;
  /** how often to look again for an API the server does not serve (an optional CRD; default: like any 403 or 404, every 10 s) */
  missingRetryMs?: number;
  /**
   * the CustomResourceDefinition that serves `path` (e.g. rollouts.argoproj.io): while it is not installed,
   * it is watched by name and the collection listed once it is established, instead of every missingRetryMs
   * (that period stays as the fallback while the CRD watch itself cannot sync, e.g. a 403)
   */
  servedBy?: string;
  /**
   * list this often instead of watching (see InformerOptions.pollIntervalMs): for a collection whose
   * every object changes every few seconds and that is read only now and then (node Leases)
   */
  pollIntervalMs?: PollInterval;
  /** sees every event as it arrives (e.g. to time Lease renewals); must be cheap and not throw */
  onEvent?: (type: 'add' | 'update' | 'delete', obj: T, old: T | undefined) => void;
}

/**
 * A cache definition that remembers its object type: areas list caches of different kinds
 * together (as plain CacheSpecs), and `ctx.cache(handle)` hands back an informer of that type.
 */
export interface CacheHandle<T extends CachedObject> extends CacheSpec {
  /** type only, never set: the object type `ctx.cache(handle)` returns */
  readonly objectType?: T;
}

/** Declares a cache; the returned handle gives its informer its own type (`ctx.cache(handle)`). */
export function defineCache<T extends CachedObject>(spec: CacheSpec<T>): CacheHandle<T> {
  return spec as unknown as CacheHandle<T>;
}
