// Bounded waits for the one-shot commands (`check`, `status`): every wait ends at
// the deadline the user gave, and the error is one short line naming the server
// and the cause, never a stack or one line per informer.
import { parseDuration } from '../api/duration.ts';
import { describeError, KubeApiError } from '../kube/errors.ts';

/** The longest error line a command prints (the cause is cut, the server and what failed are kept). */
export const MAX_ERROR_CHARS = 280;

/** Thrown when the deadline passes; its message says who did not answer and how long we waited. */
export class DeadlineExceeded extends Error {
  constructor(server: string, ms: number) {
    super(`no answer from the API server at ${server} within ${ms / 1000}s (raise --timeout, or check the server is up)`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * kubectl's --request-timeout values: "0" (no limit), a plain number of seconds, or a Go
 * duration ("5s", "1m"). Returns ms; 0 means no limit.
 */
export function parseTimeout(value: string, flag: string): number {
  return /^\d+$/.test(value) ? Number(value) * 1000 : parseDuration(value, flag);
}

/**
 * What is left of a --timeout counted from the process start (loading the code counts):
 * the command as a whole ends within its flag. 0 stays 0 (no limit).
 */
export function leftOf(timeoutMs: number): number {
  return timeoutMs <= 0 ? 0 : Math.max(1, Math.round(timeoutMs - performance.now()));
}

/**
 * Runs `work` with a signal that aborts at the deadline (timeoutMs after the process
 * started), and settles no later than the deadline whatever `work` is waiting for (a
 * server that accepts and never answers). timeoutMs 0: no limit.
 */
export async function withDeadline<T>(timeoutMs: number, server: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    if (timeoutMs <= 0) return;
    timer = setTimeout(() => {
      const err = new DeadlineExceeded(server, timeoutMs);
      abort.abort(err);
      reject(err);
    }, leftOf(timeoutMs));
  });
  try {
    return await Promise.race([work(abort.signal), expired]);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/** One line, under MAX_ERROR_CHARS: an unreachable server is named with the network cause only. */
export function shortError(err: unknown, server: string): string {
  let text: string;
  if (err instanceof KubeApiError && err.status === 0 && err.reason === 'NetworkError') {
    // The innermost cause says what failed (a proxy's refusal is nested under "Request was cancelled.").
    let inner = (err.cause as { cause?: { cause?: unknown; message?: string } } | undefined)?.cause;
    while (inner?.cause instanceof Error) inner = inner.cause;
    text = `cannot reach the API server at ${server}: ${inner?.message ?? err.message}`;
  } else if (err instanceof KubeApiError && err.status === 0 && err.reason === 'Timeout') {
    text = `no answer from the API server at ${server} in time (raise --timeout, or check the server is up)`;
  } else {
    text = describeError(err);
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text;
}
