// The one Kubernetes client factory: kubeconfig loading (kubeconfig.ts: CA, client
// certificates, bearer tokens and the proxy choice of proxy.ts here; exec plugins, auth
// providers and SOCKS proxies through @kubernetes/client-node, imported only for them);
// authentication built once, a token file re-read only when it changes; requests are
// plain JSON over one reused undici dispatcher (direct, or undici's ProxyAgent through
// an http/https proxy), reported to observers per verb and resource, with typed errors
// and the operator's field manager. Every request to the API server (watches, lists,
// writes, /metrics, /openid/v1/jwks, the CLI's) goes through this one dispatcher.
import { stat, readFile } from 'node:fs/promises';
import { Agent, fetch, ProxyAgent, type Dispatcher, type Response } from 'undici';
import { KubeApiError, type StatusDetails } from './errors.ts';
import { loadConnection, type ClientOptions, type Connection } from './kubeconfig.ts';
import { redact, type ProxyChoice } from './proxy.ts';

export type { ClientOptions } from './kubeconfig.ts';
export const FIELD_MANAGER = 'authpolicy-operator';
const USER_AGENT = 'authpolicy-operator/0.1';
/** How long the connection probe waits for GET /version before declaring the connection dead. */
export const CONNECTION_PROBE_TIMEOUT_MS = 10_000;
/** A token file is checked for changes at most this often (client-go re-reads it every minute). */
const TOKEN_FILE_CHECK_MS = 10_000;

export type Verb = 'GET' | 'LIST' | 'WATCH' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Called after every request (for rest_client_requests_total and per-test counters). */
export type RequestObserver = (method: string, code: string, resource: string) => void;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?:
    | 'application/json'
    | 'application/merge-patch+json'
    | 'application/strategic-merge-patch+json'
    | 'application/apply-patch+yaml'
    | 'application/json-patch+json';
  signal?: AbortSignal;
  /** per-request deadline (default 30 s); ignored for streams */
  timeoutMs?: number;
  /** the Accept header (default application/json; /openid/v1/jwks serves only application/jwk-set+json) */
  accept?: string;
  /** send as another identity (Impersonate-User/-Group); the operator needs `impersonate` on both, by name */
  impersonate?: { user: string; group: string };
}

/** Authentication delegated to client-node (exec plugins, auth providers, proxies): per request, as it requires. */
type DelegatedAuth = (url: URL) => Promise<{ headers: Record<string, string>; dispatcher: Dispatcher | undefined }>;

async function clientNodeAuth(options: ClientOptions, proxy: ProxyChoice | undefined): Promise<DelegatedAuth> {
  const { HttpMethod, KubeConfig, RequestContext } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  if (options.context) kc.setCurrentContext(options.context);
  // client-node honours a cluster's proxy-url (undici's ProxyAgent; SOCKS through its own
  // connector) but not HTTPS_PROXY: the proxy chosen by proxy.ts is given to it as proxy-url.
  const current = kc.getCurrentCluster();
  if (proxy && current && current.proxyUrl !== proxy.url.href) {
    kc.loadFromOptions({
      clusters: kc.getClusters().map((c) => (c.name === current.name ? { ...c, proxyUrl: proxy.url.href } : c)),
      users: kc.getUsers(),
      contexts: kc.getContexts(),
      currentContext: kc.getCurrentContext(),
    });
  }
  // client-node builds a new dispatcher per call; the client keeps the first (and after a reset, the next).
  return async (url) => {
    const ctx = new RequestContext(url.toString(), HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
  };
}

/** The resource segment of an API path, for metrics and counters (no names, no namespaces). */
export function resourceOf(path: string): string {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const resource = rest[0] ?? parts[0] ?? 'unknown';
  const sub = rest.length >= 3 ? `/${rest[2] ?? ''}` : '';
  return `${resource}${sub}`;
}

/**
 * What code may ask of the API server. Everything is typed against this interface, so the
 * in-memory API server of the unit tests (test/support/memory-client.ts) implements it and
 * the compiler checks it against the real client, HttpKubeClient.
 */
export interface KubeClient {
  readonly server: string;
  /** told once per dead connection found by checkConnection */
  onDeadConnection: ((server: string) => void) | undefined;
  observe(observer: RequestObserver): void;
  resetConnections(): void;
  checkConnection(): Promise<boolean>;
  close(): void;
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts?: RequestOptions): Promise<T>;
  getText(path: string): Promise<string>;
  stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<Response>;
  list<T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal): Promise<T>;
  get<T>(path: string, opts?: RequestOptions): Promise<T>;
  create<T>(path: string, body: unknown, query?: RequestOptions['query']): Promise<T>;
  replace<T>(path: string, body: unknown, query?: RequestOptions['query']): Promise<T>;
  mergePatch<T>(path: string, patch: unknown, query?: RequestOptions['query']): Promise<T>;
  apply<T>(path: string, object: unknown, options?: { fieldManager?: string; force?: boolean; dryRun?: boolean }): Promise<T>;
  delete<T>(path: string, body?: unknown): Promise<T>;
}

/** `KubeClient.fromOptions(...)`: the real client, from a kubeconfig the way kubectl finds it. */
export const KubeClient = { fromOptions: (options: ClientOptions = {}): KubeClient => HttpKubeClient.fromOptions(options) };

export class HttpKubeClient implements KubeClient {
  readonly server: string;
  private readonly connection: Connection;
  private readonly observers: RequestObserver[] = [];
  private dispatcher: Dispatcher | undefined;
  private dispatcherReady = false;
  private delegated: Promise<DelegatedAuth> | undefined;
  private token: { value: string; mtimeMs: number; checkedAt: number } | undefined;
  /** how often the connection pool was dropped because it looked dead */
  connectionResets = 0;
  /** told once per dead connection found by checkConnection (every caller waiting on that probe shares it) */
  onDeadConnection: ((server: string) => void) | undefined;

  /** the clock the token file's re-reads are throttled by (made with the client) */
  private readonly now: () => number;

  constructor(connection: Connection, now: () => number = Date.now) {
    this.connection = connection;
    this.server = connection.server;
    this.now = now;
  }

  /** How the API server is reached, for error messages: ` through the proxy <url> (from HTTPS_PROXY)` or nothing. */
  private get route(): string {
    const proxy = this.connection.proxy;
    return proxy ? ` through the proxy ${redact(proxy.url)} (from ${proxy.from})` : '';
  }

  /** Loads a kubeconfig the way kubectl does: --kubeconfig, $KUBECONFIG, ~/.kube/config, then in-cluster. */
  static fromOptions(options: ClientOptions = {}): HttpKubeClient {
    return new HttpKubeClient(loadConnection(options));
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
        if (timedOut) {
          this.resetConnections();
          this.onDeadConnection?.(this.server);
        }
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

  /** The bearer token; a token file is re-read only when its modification time changed. */
  private async bearer(): Promise<string | undefined> {
    const source = this.connection.token;
    if (!source) return undefined;
    if ('value' in source) return source.value;
    const now = this.now();
    if (this.token && now - this.token.checkedAt < TOKEN_FILE_CHECK_MS) return this.token.value;
    try {
      const { mtimeMs } = await stat(source.file);
      if (!this.token || mtimeMs !== this.token.mtimeMs) this.token = { value: (await readFile(source.file, 'utf8')).trim(), mtimeMs, checkedAt: now };
      else this.token.checkedAt = now;
    } catch (err) {
      // A file briefly missing while the kubelet swaps it: keep the token we have.
      if (!this.token) throw new Error(`cannot read the token file ${source.file}: ${(err as Error).message}`, { cause: err });
    }
    return this.token.value;
  }

  /** Auth headers and the TLS dispatcher, built once (and again only after resetConnections). */
  private async auth(url: URL): Promise<{ headers: Record<string, string>; dispatcher: Dispatcher | undefined }> {
    if (this.connection.delegate) {
      this.delegated ??= clientNodeAuth(this.connection.delegate, this.connection.proxy);
      const auth = await (await this.delegated)(url);
      if (!this.dispatcherReady) {
        this.dispatcher = auth.dispatcher;
        this.dispatcherReady = true;
      }
      return { headers: auth.headers, dispatcher: this.dispatcher };
    }
    if (!this.dispatcherReady) {
      // undici speaks HTTP/2 to the API server when it offers it (ALPN): one connection for everything.
      const keepAlive = { keepAlive: true, keepAliveInitialDelay: 30_000 };
      const proxy = this.connection.proxy;
      // Through a proxy: one CONNECT tunnel, TLS to the API server inside it (the proxy sees neither
      // credentials nor requests); an https proxy's own certificate is checked against Node's CAs.
      this.dispatcher = proxy
        ? new ProxyAgent({ uri: proxy.url.href, requestTls: { ...this.connection.tls, ...keepAlive }, proxyTls: keepAlive })
        : new Agent({ connect: { ...this.connection.tls, ...keepAlive } });
      this.dispatcherReady = true;
    }
    const token = await this.bearer();
    return { headers: token ? { Authorization: `Bearer ${token}` } : {}, dispatcher: this.dispatcher };
  }

  private async send(verb: Verb, method: string, path: string, opts: RequestOptions, stream: boolean, probing = false): Promise<Response> {
    const url = this.url(path, opts.query);
    const { headers, dispatcher } = await this.auth(url);
    headers['User-Agent'] = USER_AGENT;
    headers.Accept = opts.accept ?? 'application/json';
    if (opts.impersonate) Object.assign(headers, { 'Impersonate-User': opts.impersonate.user, 'Impersonate-Group': opts.impersonate.group });
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
      // The innermost cause says what failed (undici nests a proxy's refusal under "Request was cancelled.").
      let cause = (err as { cause?: Error }).cause;
      while (cause?.cause instanceof Error) cause = cause.cause;
      throw new KubeApiError({
        status: 0,
        reason: timedOut ? 'Timeout' : aborted ? 'Aborted' : 'NetworkError',
        method,
        path,
        message: timedOut
          ? `no answer from the API server at ${this.server}${this.route} within ${timeoutMs / 1000}s`
          : `${(err as Error).message}${cause ? ` (${cause.message})` : ''}; is the API server at ${this.server} reachable${this.route}?`,
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
      query: {
        fieldManager: options.fieldManager ?? FIELD_MANAGER,
        force: (options.force ?? false) ? 'true' : undefined,
        dryRun: options.dryRun ? 'All' : undefined,
      },
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
    method,
    path,
    retryAfterSeconds: fromHeader ?? status.details?.retryAfterSeconds,
    details: status.details,
  });
}
