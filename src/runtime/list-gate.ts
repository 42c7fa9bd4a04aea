// At most a few list pages in flight across all informers. A page is a response
// body, its decoded text and its parsed objects held at once until the informer has
// transformed them; after an API-server restart every informer relists together
// and those pages, not the caches, set the process's peak memory. Pages wait in
// order of arrival; one slow list holds one slot, never the others.

export class ListGate {
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`list gate: limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Runs `fn` once a slot is free; a signal aborted while waiting rejects with its reason and takes no slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Pages running and waiting now (for tests and logs). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private acquire(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.running < this.limit) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', abort);
        this.running++;
        resolve();
      };
      const abort = (): void => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}
