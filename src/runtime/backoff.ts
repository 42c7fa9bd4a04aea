// Capped exponential backoff with jitter, the shape client-go's wait.Backoff and
// controller-runtime's rate limiters use; a server's Retry-After wins when longer.

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  factor?: number;
  /** fraction of the delay added at random, 0..1 (0 = deterministic) */
  jitter?: number;
}

/** Delay before retry number `attempt` (1-based): base·factor^(attempt-1), capped, plus jitter. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const factor = policy.factor ?? 2;
  const exp = Math.min(policy.baseMs * factor ** Math.max(0, attempt - 1), policy.maxMs);
  const jitter = policy.jitter ?? 0;
  return Math.min(policy.maxMs, Math.round(exp * (1 + jitter * random())));
}

/** A stateful backoff for one retry loop (a watch, leader election). */
export class Backoff {
  private attempts = 0;
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.policy = policy;
    this.random = random;
  }

  /** The next delay; never shorter than the server's Retry-After when one was given. */
  next(retryAfterMs?: number): number {
    this.attempts++;
    const delay = backoffDelay(this.attempts, this.policy, this.random);
    return retryAfterMs !== undefined ? Math.max(delay, retryAfterMs) : delay;
  }

  reset(): void {
    this.attempts = 0;
  }

  get failures(): number {
    return this.attempts;
  }
}

/** Reads signal.aborted afresh (it changes across awaits, which flow analysis cannot see). */
export function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Resolves after ms, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A 403 or 404 (a permission not granted yet, a CRD not installed yet) is retried at least
 * this often, never backed off further: a fix takes effect within seconds, without a restart.
 */
export const BOUNDED_RETRY_MS = 10_000;
