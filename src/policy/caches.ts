// The informers the areas declare, created once per name and shared.
import type { CacheSpec } from '../areas/area.ts';
import type { KubeClient } from '../kube/client.ts';
import { Informer, type Cached } from '../runtime/informer.ts';
import type { Logger } from '../runtime/log.ts';
import type { Metrics } from '../runtime/metrics.ts';

export interface CacheTuning {
  inactivityTimeoutMs?: number;
  relistIntervalMs?: number;
}

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
        name: spec.name, client: this.client, path: spec.path, transform: spec.transform,
        ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
        ...(spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {}),
        ...this.tuning,
        log: this.log, ...(this.metrics ? { metrics: this.metrics } : {}),
      });
      this.informers.set(spec.name, informer);
    }
    if (onChange || spec.onEvent) {
      informer.on((type, obj, old) => {
        spec.onEvent?.(type, obj, old);
        if (onChange && (!spec.relevant || spec.relevant(type, obj, old))) onChange();
      });
    }
    return informer;
  }

  get<T extends Cached>(name: string): Informer<T> {
    const informer = this.informers.get(name);
    if (!informer) throw new Error(`no cache named "${name}" was declared by any area`);
    return informer as unknown as Informer<T>;
  }

  start(): void {
    for (const i of this.informers.values()) i.start();
  }

  /** Resolves when every cache has synced (or `signal` aborts); rejects after timeoutMs naming the laggards and why. */
  async waitForSync(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const pending = [...this.informers.values()];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const waiting = pending.filter((i) => !i.hasSynced()).map((i) => (i.lastError ? `${i.name} (${i.lastError})` : i.name));
        reject(new Error(`caches did not sync within ${timeoutMs} ms: ${waiting.join(', ')} (check the API server is reachable and the operator may list and watch them)`));
      }, timeoutMs);
    });
    try {
      const stopped = new Promise<void>((resolve) => { if (signal?.aborted) resolve(); else signal?.addEventListener('abort', () => { resolve(); }, { once: true }); });
      await Promise.race([Promise.all(pending.map((i) => i.waitForSync())), timeout, stopped]);
    } finally {
      clearTimeout(timer);
    }
  }

  synced(): { ok: boolean; detail: string } {
    const waiting = [...this.informers.values()].filter((i) => !i.hasSynced()).map((i) => i.name);
    return waiting.length === 0 ? { ok: true, detail: 'ok' } : { ok: false, detail: `caches not synced: ${waiting.join(', ')}` };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
