// An in-memory API server for unit tests of `act`: the KubeClient verbs act uses over an
// object store with resourceVersions (a stale one is a 409, as on a real API server),
// faults injected per verb and path (real KubeApiErrors, so isConflict/isForbidden/isNotFound
// hold), every call recorded, and caches read through the same transforms the informers use.
// Pure logic only: the e2e tests run the same code against a real control plane.
import type { AreaContext } from '../../src/areas/area.ts';
import type { ResolvedSpec } from '../../src/api/defaults.ts';
import type { CacheHandle, CachedObject } from '../../src/kube/cache-spec.ts';
import type { Response } from 'undici';
import { resourceOf, type KubeClient, type RequestObserver, type RequestOptions } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import type { EventRecorder } from '../../src/runtime/events.ts';
import type { Informer } from '../../src/runtime/informer.ts';
import type { Logger } from '../../src/runtime/log.ts';

export type MemoryVerb = 'get' | 'list' | 'getText' | 'create' | 'replace' | 'mergePatch' | 'apply' | 'delete';
const METHOD: Record<MemoryVerb, 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'> = {
  get: 'GET',
  list: 'GET',
  getText: 'GET',
  create: 'POST',
  replace: 'PUT',
  mergePatch: 'PATCH',
  apply: 'PATCH',
  delete: 'DELETE',
};
const REASON: Record<number, string> = { 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 500: 'InternalError' };

export interface RecordedCall {
  verb: MemoryVerb;
  path: string;
  body: unknown;
}
export interface Fault {
  verb: MemoryVerb;
  path: string | RegExp;
  status: 403 | 404 | 409 | 500;
  times: number;
}

type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string };
  [k: string]: unknown;
};

/** /api/v1/namespaces/ns/secrets/name → its parts (cluster-scoped: namespace undefined). */
export function parsePath(path: string): { base: string; namespace: string | undefined; resource: string; name: string | undefined } {
  const parts = (path.split('?')[0] ?? '').split('/').filter(Boolean);
  const baseLen = parts[0] === 'api' ? 2 : 3;
  const base = `/${parts.slice(0, baseLen).join('/')}`;
  let rest = parts.slice(baseLen);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1] ?? '');
    rest = rest.slice(2);
  }
  return { base, namespace, resource: rest[0] ?? '', name: rest[1] === undefined ? undefined : decodeURIComponent(rest[1]) };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether an equality selector ("metadata.name=x,a=b") holds for an object (dotted paths) or a label map. */
function selects(selector: string, target: unknown): boolean {
  return selector
    .split(',')
    .filter(Boolean)
    .every((term) => {
      const [field = '', value] = term.split('=');
      const actual = isRecord(target) && field in target ? target[field] : field.split('.').reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), target);
      return actual === value;
    });
}

/** RFC 7386 JSON merge patch: null deletes, objects merge, everything else replaces. */
export function mergePatchOf(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const base = isRecord(target) ? target : {};
  const removed = new Set(
    Object.entries(patch)
      .filter(([, v]) => v === null)
      .map(([k]) => k),
  );
  const kept = Object.entries(base).filter(([k]) => !removed.has(k));
  const changed = Object.entries(patch)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => [k, mergePatchOf(base[k], v)] as const);
  return Object.fromEntries([...kept, ...changed]);
}

/** The store and the verbs: it implements the client's interface, so the compiler checks it against the real one. */
export class MemoryClient implements KubeClient {
  readonly server = 'memory://in-memory-api-server';
  onDeadConnection: ((server: string) => void) | undefined = undefined;
  readonly calls: RecordedCall[] = [];
  private readonly observers: RequestObserver[] = [];
  private readonly texts = new Map<string, string>();
  private readonly reviewers: { path: RegExp; answer: (body: Obj) => object }[] = [];
  private readonly objects = new Map<string, Obj>();
  /** cache(handle)'s objects, by cache and stored content: the same object while the stored one is unchanged */
  private readonly transformed = new Map<string, unknown>();
  private readonly faults: Fault[] = [];
  private readonly reactors: ((path: string, obj: Obj) => void)[] = [];
  private version = 100;
  private uids = 0;
  private readonly now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.now = now;
  }

  /** This client as code typed for the real one sees it (no cast: MemoryClient implements KubeClient). */
  asKubeClient(): KubeClient {
    return this;
  }

  /** What getText(path) answers (e.g. the API server's /metrics); unset paths are a 404. */
  serveText(path: string, text: string): this {
    this.texts.set(path, text);
    return this;
  }

  /** What a create on a path matching `path` answers, storing nothing (reviews: TokenReview, SubjectAccessReview). */
  review(path: RegExp, answer: (body: Obj) => object): this {
    this.reviewers.push({ path, answer });
    return this;
  }

  /** The next `times` calls of `verb` on a path equal to (or matching) `path` fail with `status`. */
  fail(verb: MemoryVerb, path: string | RegExp, status: Fault['status'], times = 1): this {
    this.faults.push({ verb, path, status, times });
    return this;
  }

  /** Runs after every write that leaves an object (e.g. a simulated tokens controller); it may write itself. */
  react(reactor: (path: string, obj: Obj) => void): this {
    this.reactors.push(reactor);
    return this;
  }

  /** Puts an object in place without recording a call (the cluster as the test found it). */
  seed(path: string, obj: object): Obj {
    const o = this.stamp(structuredClone(obj) as Obj, undefined);
    this.objects.set(this.keyOf(path, o), o);
    return structuredClone(o);
  }

  /** The stored object (a copy), or undefined. */
  peek(path: string): Obj | undefined {
    const o = this.objects.get(path);
    return o === undefined ? undefined : structuredClone(o);
  }

  /** Writes the store directly (another controller's write: no call recorded, reactors not run). */
  poke(path: string, change: (o: Obj) => void): void {
    const o = this.objects.get(path);
    if (!o) throw new Error(`poke: ${path} is not stored`);
    change(o);
    o.metadata.resourceVersion = String(++this.version);
  }

  remove(path: string): void {
    this.objects.delete(path);
  }

  /** Every stored object in a collection (cluster-wide when the path names no namespace). */
  listPath(collection: string): Obj[] {
    const want = parsePath(collection);
    return [...this.objects.entries()]
      .filter(([k]) => {
        const p = parsePath(k);
        return p.base === want.base && p.resource === want.resource && (want.namespace === undefined || p.namespace === want.namespace);
      })
      .map(([, o]) => structuredClone(o));
  }

  /** Calls of one verb (optionally on paths containing `part`). */
  callsOf(verb: MemoryVerb, part = ''): RecordedCall[] {
    return this.calls.filter((c) => c.verb === verb && c.path.includes(part));
  }

  observe(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  /** No connections to drop, none to close, and the connection is always alive. */
  resetConnections(): void {
    /* nothing pooled */
  }
  close(): void {
    /* nothing open */
  }
  checkConnection(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** The verbs by HTTP method (PATCH by content type: apply or merge patch). */
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
    switch (method) {
      case 'GET':
        return this.get<T>(path);
      case 'POST':
        return this.create<T>(path, opts.body);
      case 'PUT':
        return this.replace<T>(path, opts.body);
      case 'PATCH':
        return opts.contentType === 'application/apply-patch+yaml' ? this.apply<T>(path, opts.body) : this.mergePatch<T>(path, opts.body);
      case 'DELETE':
        return this.delete<T>(path, opts.body);
    }
  }

  getText(path: string): Promise<string> {
    return this.run('getText', path, undefined, () => {
      const text = this.texts.get(path);
      if (text === undefined) throw this.error('getText', path, 404, 'NotFound', `${path} is not served (serveText sets it)`);
      return text;
    });
  }

  /** Watches are not served: unit tests read caches through `cache(handle)`. */
  stream(path: string): Promise<Response> {
    return Promise.reject(this.error('get', path, 405, 'MethodNotAllowed', 'the in-memory API server serves no watches: read caches through cache(handle)'));
  }

  /** A List of the collection's stored objects (field and label selectors of the form a=b,c=d). */
  list<T>(path: string, query: RequestOptions['query'] = {}): Promise<T> {
    return this.run('list', path, undefined, () => {
      const fields = String(query.fieldSelector ?? '');
      const labels = String(query.labelSelector ?? '');
      const items = this.listPath(path).filter((o) => selects(fields, o) && selects(labels, o.metadata.labels ?? {}));
      return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: String(this.version) }, items } as T;
    });
  }

  get<T>(path: string): Promise<T> {
    return this.run('get', path, undefined, () => this.existing('get', path) as T);
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.run('create', path, body, () => {
      const reviewer = this.reviewers.find((r) => r.path.test(path));
      if (reviewer) return { ...structuredClone(body as Obj), ...reviewer.answer(body as Obj) } as T;
      const o = structuredClone(body) as Obj;
      const key = this.keyOf(path, o);
      if (this.objects.has(key)) throw this.error('create', path, 409, 'AlreadyExists', `${key} already exists`);
      return this.write(key, this.stamp(o, undefined)) as T;
    });
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.run('replace', path, body, () => {
      const current = this.existing('replace', path);
      const o = structuredClone(body) as Obj;
      this.checkVersion('replace', path, current, o.metadata.resourceVersion);
      return this.write(path, this.stamp(o, current)) as T;
    });
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.run('mergePatch', path, patch, () => {
      const current = this.existing('mergePatch', path);
      const wanted = isRecord(patch) && isRecord(patch.metadata) ? patch.metadata.resourceVersion : undefined;
      this.checkVersion('mergePatch', path, current, typeof wanted === 'string' ? wanted : undefined);
      return this.write(path, this.stamp(mergePatchOf(current, patch) as Obj, current)) as T;
    });
  }

  /** Server-side apply, simplified: create, or merge the applied fields in; a changed spec bumps the generation. */
  apply<T>(path: string, object: unknown): Promise<T> {
    return this.run('apply', path, object, () => {
      const current = this.objects.get(path);
      const merged = mergePatchOf(current, object) as Obj;
      const o = this.stamp(merged, current);
      if (current && JSON.stringify(current.spec) !== JSON.stringify(o.spec)) o.metadata.generation = Number(current.metadata.generation ?? 1) + 1;
      return this.write(path, o) as T;
    });
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.run('delete', path, body, () => {
      const current = this.existing('delete', path);
      const pre = isRecord(body) && isRecord(body.preconditions) ? body.preconditions : {};
      if (typeof pre.uid === 'string' && pre.uid !== current.metadata.uid) {
        throw this.error(
          'delete',
          path,
          409,
          'Conflict',
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(current.metadata.uid)}`,
        );
      }
      this.checkVersion('delete', path, current, typeof pre.resourceVersion === 'string' ? pre.resourceVersion : undefined);
      this.objects.delete(path);
      return { kind: 'Status', status: 'Success' } as T;
    });
  }

  /** The informer view of one cache: the stored objects of its collection, through its transform and field selector. */
  cache<T extends CachedObject>(handle: CacheHandle<T>): Informer<T> {
    // As an informer does, a stored object is handed out as the same cached object until it changes (its
    // resourceVersion with it), so what the areas keep by object identity is exercised as in the operator.
    const all = (): T[] =>
      this.listPath(handle.path)
        .filter((o) => selects(handle.fieldSelector ?? '', o) && selects(handle.labelSelector ?? '', o.metadata.labels ?? {}))
        .flatMap((o) => {
          const key = `${handle.name} ${JSON.stringify(o)}`;
          const t = (this.transformed.has(key) ? this.transformed.get(key) : handle.transform(o)) as T | undefined;
          this.transformed.set(key, t);
          return t === undefined ? [] : [t];
        });
    const view = {
      get: (name: string, namespace?: string): T | undefined => all().find((o) => o.metadata.name === name && o.metadata.namespace === namespace),
      list: (namespace?: string): T[] => all().filter((o) => namespace === undefined || o.metadata.namespace === namespace),
    };
    return view as unknown as Informer<T>;
  }

  private async run<T>(verb: MemoryVerb, path: string, body: unknown, fn: () => T): Promise<T> {
    this.calls.push({ verb, path, body: structuredClone(body) });
    await Promise.resolve(); // answer asynchronously, as the network does
    const report = (code: string): void => {
      for (const o of this.observers) o(verb === 'list' ? 'LIST' : METHOD[verb], code, resourceOf(path));
    };
    try {
      const fault = this.faults.find((f) => f.verb === verb && f.times > 0 && (typeof f.path === 'string' ? f.path === path : f.path.test(path)));
      if (fault) {
        fault.times--;
        throw this.error(verb, path, fault.status, REASON[fault.status] ?? 'Error', 'injected by the test');
      }
      const answer = structuredClone(fn());
      report(verb === 'create' ? '201' : '200');
      return answer;
    } catch (err) {
      report(err instanceof KubeApiError ? String(err.status) : '<error>');
      throw err;
    }
  }

  private keyOf(path: string, o: Obj): string {
    const p = parsePath(path);
    if (p.name !== undefined) return path;
    const ns = o.metadata.namespace ?? p.namespace;
    return `${p.base}${ns ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${p.resource}/${encodeURIComponent(o.metadata.name)}`;
  }

  private existing(verb: MemoryVerb, path: string): Obj {
    const o = this.objects.get(path);
    if (!o) throw this.error(verb, path, 404, 'NotFound', `${parsePath(path).resource} "${parsePath(path).name ?? ''}" not found`);
    return o;
  }

  private checkVersion(verb: MemoryVerb, path: string, current: Obj, wanted: string | undefined): void {
    if (wanted !== undefined && wanted !== current.metadata.resourceVersion) {
      throw this.error(verb, path, 409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
    }
  }

  private stamp(o: Obj, current: Obj | undefined): Obj {
    o.metadata = {
      ...o.metadata,
      uid: current?.metadata.uid ?? o.metadata.uid ?? `uid-${++this.uids}`,
      creationTimestamp: current?.metadata.creationTimestamp ?? o.metadata.creationTimestamp ?? this.now().toISOString(),
      generation: o.metadata.generation ?? current?.metadata.generation ?? 1,
      resourceVersion: String(++this.version),
    };
    return o;
  }

  private write(key: string, o: Obj): Obj {
    this.objects.set(key, o);
    for (const r of this.reactors) r(key, o);
    return this.objects.get(key) ?? o;
  }

  private error(verb: MemoryVerb, path: string, status: number, reason: string, message: string): KubeApiError {
    return new KubeApiError({
      status,
      reason,
      message,
      method: METHOD[verb],
      path,
      ...(status === 404 ? { details: { name: parsePath(path).name ?? '' } } : {}),
    });
  }
}

/** A clock the test moves: ctx.now() reads it (and, with `tickMs`, moves it on by that much at each reading). */
export class TestClock {
  private ms: number;
  private readonly tickMs: number;
  constructor(start = '2026-06-01T00:00:00Z', tickMs = 0) {
    this.ms = Date.parse(start);
    this.tickMs = tickMs;
  }
  now = (): Date => {
    const d = new Date(this.ms);
    this.ms += this.tickMs;
    return d;
  };
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  meta: Record<string, unknown> | undefined;
}

/** A logger that keeps its lines for assertions. */
export function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: LogLine['level']) => (message: string, meta?: Record<string, unknown>) => {
    lines.push({ level, message, meta });
  };
  const log = { child: () => log, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
  return log as unknown as Logger;
}

/** An AreaContext over a MemoryClient, with the Events and log lines it produced. */
export function memoryContext(
  client: MemoryClient,
  clock: TestClock,
  spec: ResolvedSpec,
  options: { mode?: 'run' | 'check'; signal?: AbortSignal } = {},
): {
  ctx: AreaContext;
  events: RecordedEvent[];
  logs: LogLine[];
} {
  const events: RecordedEvent[] = [];
  const logs: LogLine[] = [];
  const lastMessage = new Map<string, string>();
  const recorder = {
    record: (_object: unknown, type: RecordedEvent['type'], reason: string, message: string) => {
      events.push({ type, reason, message });
      return Promise.resolve();
    },
    // as EventRecorder.recordChange: only when the message changed for this type and reason
    recordChange: (_object: unknown, type: RecordedEvent['type'], reason: string, message: string) => {
      if (lastMessage.get(`${type}/${reason}`) !== message) events.push({ type, reason, message });
      lastMessage.set(`${type}/${reason}`, message);
      return Promise.resolve();
    },
  };
  const ctx: AreaContext = {
    client: client.asKubeClient(),
    cache: (handle) => client.cache(handle),
    unsynced: () => undefined,
    policy: { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: {} },
    spec,
    log: recordingLogger(logs),
    events: recorder as unknown as EventRecorder,
    policyRef: { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', name: 'cluster' },
    signal: options.signal ?? new AbortController().signal,
    now: clock.now,
    mode: options.mode ?? 'run',
  };
  return { ctx, events, logs };
}
