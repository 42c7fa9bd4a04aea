// Typed API errors: expected situations (forbidden, not found, conflict, gone)
// are values callers test for, not strings they parse.

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { field?: string; message?: string; reason?: string }[];
  retryAfterSeconds?: number;
}

export class KubeApiError extends Error {
  /** HTTP status; 0 when the request never got an answer (network, TLS, timeout) */
  readonly status: number;
  /** metav1.Status reason, e.g. NotFound, Forbidden, Conflict, Expired, Invalid; or NetworkError */
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  readonly retryAfterSeconds: number | undefined;
  readonly details: StatusDetails | undefined;

  constructor(init: { status: number; reason: string; message: string; method: string; path: string; retryAfterSeconds?: number | undefined; details?: StatusDetails | undefined; cause?: unknown }) {
    super(`${init.method} ${init.path}: ${init.status ? `${init.status} ${init.reason}` : init.reason}: ${init.message}`, { cause: init.cause });
    this.name = 'KubeApiError';
    this.status = init.status;
    this.reason = init.reason;
    this.method = init.method;
    this.path = init.path;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.details = init.details;
  }
}

const hasStatus = (err: unknown, status: number): boolean => err instanceof KubeApiError && err.status === status;
export const isNotFound = (err: unknown): boolean => hasStatus(err, 404);
export const isConflict = (err: unknown): boolean => hasStatus(err, 409);
export const isForbidden = (err: unknown): boolean => hasStatus(err, 403);
/** 410 Gone: a watch or list resourceVersion older than etcd's compaction window */
export const isGone = (err: unknown): boolean => hasStatus(err, 410) || (err instanceof KubeApiError && err.reason === 'Expired');

/** The server-suggested wait before retrying (429/503/5xx with Retry-After), in ms. */
export function retryAfterMs(err: unknown): number | undefined {
  if (err instanceof KubeApiError && err.retryAfterSeconds !== undefined) return err.retryAfterSeconds * 1000;
  return undefined;
}

/** A short description for logs, events and status: never includes a request body. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
