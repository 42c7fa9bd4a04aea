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

  constructor(init: {
    status: number;
    reason: string;
    message: string;
    method: string;
    path: string;
    retryAfterSeconds?: number | undefined;
    details?: StatusDetails | undefined;
    cause?: unknown;
  }) {
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

/**
 * A 404 without a metav1.Status body ("404 page not found"): the API server does not serve
 * that resource at all, e.g. a CRD that is not installed. A missing object is a Status
 * with reason NotFound instead.
 */
export function isApiMissing(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404 && err.reason !== 'NotFound' && err.details === undefined;
}

/** What a 403 refused, as RBAC sees it (from the API server's message, else from the request). */
export interface DeniedPermission {
  verb: string;
  /** e.g. "secrets", "deployments.apps", "subjectaccessreviews.authorization.k8s.io" */
  resource: string;
  /** undefined: cluster-wide */
  namespace: string | undefined;
}

const VERB_OF_METHOD: Record<string, string> = { GET: 'get', LIST: 'list', WATCH: 'watch', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** The verb and resource a 403 names, so a condition can say what to grant. */
export function deniedPermission(err: unknown): DeniedPermission | undefined {
  if (!(err instanceof KubeApiError) || err.status !== 403) return undefined;
  // k8s.io/apiserver pkg/endpoints/handlers/responsewriters: forbiddenMessage
  const m = /cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)")?/.exec(err.message);
  if (m) return { verb: m[1] ?? '', resource: m[3] ? `${m[2] ?? ''}.${m[3]}` : (m[2] ?? ''), namespace: m[4] };
  const parts = err.path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const group = parts[0] === 'apis' ? parts[1] : undefined;
  return { verb: VERB_OF_METHOD[err.method] ?? err.method.toLowerCase(), resource: `${rest[0] ?? err.path}${group ? `.${group}` : ''}`, namespace };
}

/** "list secrets cluster-wide", "create tokenreviews.authentication.k8s.io in namespace x". */
export function describePermission(p: DeniedPermission, verbs: readonly string[] = [p.verb]): string {
  return `${verbs.join(' and ')} ${p.resource} ${p.namespace ? `in namespace ${p.namespace}` : 'cluster-wide'}`;
}

/** Why a failure should be retried when (controller-runtime's causes, shortened): now, on a bounded period, or with backoff. */
export type RetryCause = 'conflict' | 'bounded' | 'backoff';

/**
 * A 409 is resolved by re-reading and retrying at once; a 403 or 404 waits for someone
 * to grant or create something (retried on a short fixed period, never backed off for
 * long); everything else (network, 5xx, 429) backs off exponentially. Of several errors
 * the most urgent wins: the others simply fail again on the next attempt.
 */
export function retryCause(err: unknown): RetryCause {
  const errors = err instanceof AggregateError ? (err.errors as unknown[]) : [err];
  if (errors.some(isConflict)) return 'conflict';
  if (errors.length > 0 && errors.every((e) => isForbidden(e) || isNotFound(e))) return 'bounded';
  return 'backoff';
}
