// What an informer caches: a collection, its selectors, and the transform that
// keeps only the fields reconcilers read. Areas declare these; the operator
// creates one informer per name and shares it.

/** The identity and version every cached object keeps. */
export interface CachedObject {
  metadata: { name: string; namespace?: string | undefined; resourceVersion?: string | undefined };
}

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
  /** sees every event as it arrives (e.g. to time Lease renewals); must be cheap and not throw */
  onEvent?: (type: 'add' | 'update' | 'delete', obj: T, old: T | undefined) => void;
}

/** Erases a cache's object type so areas can list caches of different kinds together. */
export function defineCache<T extends CachedObject>(spec: CacheSpec<T>): CacheSpec {
  return spec as unknown as CacheSpec;
}

