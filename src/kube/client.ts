// The one Kubernetes client factory: kubeconfig loading and authentication come
// from @kubernetes/client-node (exec plugins, OIDC, in-cluster token refresh,
// proxies); requests are plain JSON over one reused undici dispatcher, reported
// to observers per verb and resource, with typed errors and the operator's field manager.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher, type Response } from 'undici';
import { KubeApiError, type StatusDetails } from './errors.ts';

export const FIELD_MANAGER = 'authpolicy-operator';
const USER_AGENT = 'authpolicy-operator/0.1';
/** How long the connection probe waits for GET /version before declaring the connection dead. */
export const CONNECTION_PROBE_TIMEOUT_MS = 10_000;

export type Verb = 'GET' | 'LIST' | 'WATCH' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Called after every request (for rest_client_requests_total and per-test counters). */
export type RequestObserver = (method: string, code: string, resource: string) => void;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: 'application/json' | 'application/merge-patch+json' | 'application/strategic-merge-patch+json' | 'application/apply-patch+yaml' | 'application/json-patch+json';
  signal?: AbortSignal;
  /** per-request deadline (default 30 s); ignored for streams */
  timeoutMs?: number;
}

export interface ClientOptions {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** Loads a kubeconfig the way kubectl does: --kubeconfig, $KUBECONFIG, ~/.kube/config, then in-cluster. */
export function loadKubeConfig({ kubeconfig, context }: ClientOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig) {
    try {
      kc.loadFromFile(kubeconfig);
    } catch (err) {
      throw new Error(`cannot read kubeconfig ${kubeconfig}: ${(err as Error).message}`, { cause: err });
    }
  }
  else kc.loadFromDefault();
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw new Error(`kubeconfig has no context "${context}"; known contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'}`);
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster');
  }
  return kc;
}

/** The resource segment of an API path, for metrics and counters (no names, no namespaces). */
export function resourceOf(path: string): string {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const resource = rest[0] ?? (parts[0] ?? 'unknown');
  const sub = rest.length >= 3 ? `/${rest[2] ?? ''}` : '';
  return `${resource}${sub}`;
}

export class KubeClient {
  readonly server: string;
  readonly config: KubeConfig;
  private readonly observers: RequestObserver[] = [];
  private dispatcher: Dispatcher | undefined;
  private dispatcherReady = false;
  /** how often the connection pool was dropped because it looked dead */
  connectionResets = 0;

  constructor(config: KubeConfig) {
    this.config = config;
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  static fromOptions(options: ClientOptions = {}): KubeClient {
    return new KubeClient(loadKubeConfig(options));
  }

  observe(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  private record(verb: Verb, code: string, path: string): void {
    const resource = resourceOf(path);
    for (const o of this.observers) o(verb, code, resource);
  }

  private url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * Drops every pooled connection. undici speaks HTTP/2 to the API server, so all
   * requests share one TCP connection; if it silently dies (a NAT or load balancer
   * drops the flow) every request on it hangs. Callers do not reset on a hunch: they
   * ask checkConnection(), which resets only when the connection itself is dead.
   */
  resetConnections(): void {
    const old = this.dispatcher;
    this.dispatcher = undefined;
    this.dispatcherReady = false;
    this.connectionResets++;
    if (old) void old.destroy().catch(() => undefined);
  }

  private probe: Promise<boolean> | undefined;

  /**
   * Is the connection to the API server alive? Sends one small request (GET /version,
   * readable by everyone) on the shared connection; if it gets no answer within
   * CONNECTION_PROBE_TIMEOUT_MS the connection is dead and is reset, so the next request
   * opens a fresh one. The HTTP/2 health check of client-go does the same with a PING
   * (k8s.io/client-go/transport: ReadIdleTimeout 30 s, PingTimeout 15 s;
   * kubernetes/kubernetes#95898). One probe at a time: concurrent callers share it.
   * Resolves true when the connection answered (any HTTP status counts as an answer).
   */
  checkConnection(): Promise<boolean> {
    this.probe ??= (async () => {
      try {
        await this.send('GET', 'GET', '/version', { timeoutMs: CONNECTION_PROBE_TIMEOUT_MS }, false, true);
        return true;
      } catch (err) {
        if (err instanceof KubeApiError && err.status > 0) return true;
        const timedOut = err instanceof KubeApiError && err.reason === 'Timeout';
        if (timedOut) this.resetConnections();
        return !timedOut;
      } finally {
        this.probe = undefined;
      }
    })();
    return this.probe;
  }

  /** Closes every connection: a one-shot command ends at once even if a server never answers. */
  close(): void {
    const old = this.dispatcher;
    this.dispatcher = undefined;
    this.dispatcherReady = false;
    if (old) void old.destroy().catch(() => undefined);
  }

  /** Fresh auth headers per request (tokens rotate); the TLS dispatcher is built once and reused. */
  private async auth(url: URL): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher | undefined }> {
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await this.config.applySecurityAuthentication(ctx);
    if (!this.dispatcherReady) {
      this.dispatcher = ctx.getDispatcher();
      this.dispatcherReady = true;
    }
    return { headers: ctx.getHeaders(), dispatcher: this.dispatcher };
  }

  private async send(verb: Verb, method: string, path: string, opts: RequestOptions, stream: boolean, probing = false): Promise<Response> {
    const url = this.url(path, opts.query);
    const { headers, dispatcher } = await this.auth(url);
    headers['User-Agent'] = USER_AGENT;
    headers.Accept = 'application/json';
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    }
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const signals = [opts.signal, stream ? undefined : AbortSignal.timeout(timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body, dispatcher, signal: signals.length ? AbortSignal.any(signals) : undefined });
    } catch (err) {
      this.record(verb, '<error>', path);
      const aborted = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
      const timedOut = aborted && !opts.signal?.aborted;
      // A slow answer is not yet a dead connection: ask (the probe resets it only if it is).
      if (timedOut && !probing) void this.checkConnection();
      const cause = (err as { cause?: Error }).cause;
      throw new KubeApiError({
        status: 0, reason: timedOut ? 'Timeout' : aborted ? 'Aborted' : 'NetworkError', method, path,
        message: timedOut
          ? `no answer from the API server at ${this.server} within ${timeoutMs / 1000}s`
          : `${(err as Error).message}${cause ? ` (${cause.message})` : ''}; is the API server at ${this.server} reachable?`,
        cause: err,
      });
    }
    this.record(verb, String(response.status), path);
    if (response.status >= 400) throw await toError(response, method, path);
    return response;
  }

  /** One request with a JSON answer; throws KubeApiError on any non-2xx. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, method, path, opts, false);
    const text = await response.text();
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** A GET of a plain-text endpoint, e.g. the API server's /metrics. */
  async getText(path: string): Promise<string> {
    const response = await this.send('GET', 'GET', path, {}, false);
    return await response.text();
  }

  /** A streaming GET (watch); the caller reads and cancels the body. */
  async stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<Response> {
    return await this.send('WATCH', 'GET', path, { query, signal }, true);
  }

  async list<T>(path: string, query: RequestOptions['query'] = {}, signal?: AbortSignal): Promise<T> {
    const response = await this.send('LIST', 'GET', path, { query, ...(signal ? { signal } : {}), timeoutMs: 120_000 }, false);
    return (await response.json()) as T;
  }

  get<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  create<T>(path: string, body: unknown, query: RequestOptions['query'] = {}): Promise<T> {
    return this.request<T>('POST', path, { body, query: { fieldManager: FIELD_MANAGER, ...query } });
  }

  replace<T>(path: string, body: unknown, query: RequestOptions['query'] = {}): Promise<T> {
    return this.request<T>('PUT', path, { body, query: { fieldManager: FIELD_MANAGER, ...query } });
  }

  mergePatch<T>(path: string, patch: unknown, query: RequestOptions['query'] = {}): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager: FIELD_MANAGER, ...query } });
  }

  /** Server-side apply under the operator's field manager (or a sub-manager, e.g. for restarts). */
  apply<T>(path: string, object: unknown, options: { fieldManager?: string; force?: boolean; dryRun?: boolean } = {}): Promise<T> {
    return this.request<T>('PATCH', path, {
      body: object,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: options.force ?? false ? 'true' : undefined, dryRun: options.dryRun ? 'All' : undefined },
    });
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body === undefined ? {} : { body });
  }
}

async function toError(response: Response, method: string, path: string): Promise<KubeApiError> {
  let status: { reason?: string; message?: string; details?: StatusDetails } = {};
  const text = await response.text().catch(() => '');
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    status = { message: text.slice(0, 300) };
  }
  const header = response.headers.get('retry-after');
  const fromHeader = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  return new KubeApiError({
    status: response.status,
    reason: status.reason ?? (response.statusText || `HTTP${response.status}`),
    message: status.message ?? response.statusText,
    method, path,
    retryAfterSeconds: fromHeader ?? status.details?.retryAfterSeconds,
    details: status.details,
  });
}
