// The bench's own minimal API client: a client certificate from a harness
// kubeconfig, one undici connection pool, JSON in and out, nothing cached. The
// generator and the readers use it as admin (not audited); the raw floor uses it
// under its own identity, so its requests are exactly the ones written here.
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Dispatcher } from 'undici';
import { parse } from 'yaml';

interface KubeconfigDoc {
  clusters: { cluster: { server: string; 'certificate-authority': string } }[];
  users: { user: { 'client-certificate'?: string; 'client-key'?: string } }[];
}

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class Api {
  readonly server: string;
  private readonly dispatcher: Dispatcher;
  private readonly userAgent: string;

  constructor(kubeconfig: string, userAgent: string) {
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigDoc;
    const cluster = doc.clusters[0]?.cluster;
    const user = doc.users[0]?.user;
    if (!cluster || !user?.['client-certificate'] || !user['client-key']) throw new Error(`${kubeconfig}: the bench needs a client-certificate kubeconfig`);
    this.server = cluster.server;
    if (!/^https:\/\/127\.0\.0\.1:\d+$/.test(this.server)) throw new Error(`${kubeconfig}: the bench only talks to a loopback API server, not ${this.server}`);
    this.dispatcher = new Agent({
      connect: { ca: readFileSync(cluster['certificate-authority']), cert: readFileSync(user['client-certificate']), key: readFileSync(user['client-key']) },
      connections: 16,
    });
    this.userAgent = userAgent;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await fetch(this.server + path, {
      method,
      dispatcher: this.dispatcher,
      headers: { 'User-Agent': this.userAgent, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': contentType }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (res.status >= 400) throw new ApiError(res.status, `${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /**
   * A watch from `resourceVersion`, calling `onEvent` per event until it returns true
   * (resolves) or `signal` aborts. One request.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the watched object's shape
  async watch<T>(path: string, resourceVersion: string, onEvent: (type: string, object: T) => boolean, signal: AbortSignal): Promise<void> {
    const sep = path.includes('?') ? '&' : '?';
    const res = await fetch(`${this.server}${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}`, {
      dispatcher: this.dispatcher,
      headers: { 'User-Agent': this.userAgent, Accept: 'application/json' },
      signal,
    });
    if (res.status >= 400 || !res.body) throw new ApiError(res.status, `watch ${path}: ${res.status} ${await res.text()}`);
    let partial = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      partial += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as { type: string; object: T };
        if (ev.type === 'ERROR') throw new ApiError(0, `watch ${path}: ${JSON.stringify(ev.object)}`);
        if (onEvent(ev.type, ev.object)) {
          await res.body.cancel().catch(() => undefined);
          return;
        }
      }
    }
    throw new ApiError(0, `watch ${path} ended before it saw what it waited for`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** Runs `fn` over `items` with at most `parallelism` in flight. */
export async function pool<T>(items: T[], parallelism: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, items.length) }, worker));
}
