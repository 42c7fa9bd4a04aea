// The AuthPolicy reconciler: picks the active policy, runs every area
// (observe → plan → act), and writes status once, through the status
// subresource, only when it changed. It never writes spec or metadata, so
// GitOps tools see no drift.
import { resolveSpec } from '../api/defaults.ts';
import { Reason } from '../api/reasons.ts';
import { API_VERSION, KIND, type AuthPolicy } from '../api/types.ts';
import { defineCache, type Area, type AreaContext, type AreaReport } from '../areas/area.ts';
import type { KubeClient } from '../kube/client.ts';
import { deniedPermission, describeError, describePermission, isConflict, isForbidden, KubeApiError } from '../kube/errors.ts';
import { collectionPath, Resources } from '../kube/paths.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder, ObjectReference } from '../runtime/events.ts';
import type { Logger } from '../runtime/log.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { pickActive } from './active.ts';
import type { CacheSet, UnsyncedCache } from './caches.ts';
import { buildStatus, conflictMessage, conflictStatus } from './status.ts';
import { StatusWriter } from './status-writer.ts';

/** Periodic re-check even when nothing changes (clock and token health drift silently). */
export const RESYNC_MS = 5 * 60_000;

export const policyCache = defineCache<AuthPolicy>({
  name: 'authpolicies',
  path: collectionPath(Resources.authPolicies),
  whenMissing:
    'the AuthPolicy CRD (authpolicies.authpolicy.io) is not installed: kubectl apply --server-side -k config/crd (or config/default); ' +
    'the operator picks it up without a restart',
  transform: (raw) => {
    const policy = raw as AuthPolicy & { metadata: { managedFields?: unknown } };
    const { managedFields: _drop, ...metadata } = policy.metadata;
    return { apiVersion: API_VERSION, kind: KIND, metadata, spec: policy.spec ?? {}, ...(policy.status ? { status: policy.status } : {}) };
  },
});

type PolicyObject = { metadata: object; spec?: unknown };

/**
 * Does an update of an AuthPolicy need a reconcile? Not when only its status changed (the operator's own
 * status write comes back as one) or its resourceVersion: the periodic resync still re-checks it.
 */
export function policyChangeMatters(obj: PolicyObject, old: PolicyObject | undefined): boolean {
  if (!old) return true;
  const outsideStatus = (p: PolicyObject): string => JSON.stringify([{ ...p.metadata, resourceVersion: undefined }, p.spec]);
  return outsideStatus(obj) !== outsideStatus(old);
}

export interface PolicyDeps {
  client: KubeClient;
  caches: CacheSet;
  areas: readonly Area[];
  log: Logger;
  events: EventRecorder | undefined;
  metrics?: Metrics;
  /** when each area started failing (cleared on success): a brief 403 is not yet a verdict */
  failingSince?: Map<string, number>;
  /** operator-wide dry run (--dry-run): every policy is treated as spec.dryRun */
  dryRun?: boolean;
  now?: () => Date;
}

export function policyRef(policy: AuthPolicy): ObjectReference {
  return { apiVersion: API_VERSION, kind: KIND, name: policy.metadata.name, uid: policy.metadata.uid };
}

/**
 * How long a refusal (403) or a passing failure (connection refused, 5xx) may last before it is a
 * verdict in status: a kube-apiserver that just restarted refuses connections, then answers 403
 * until its RBAC caches fill.
 */
const FAILURE_GRACE_MS = 30_000;

/**
 * How long an area's last verdict may stand while its evidence cannot be refreshed for a passing reason
 * (the API server restarting or overloaded, throttling): past it the conditions turn Unknown, naming the
 * failure, rather than keep claiming what can no longer be checked. Reconciles retry at least every 16 s
 * (RECONCILE_BACKOFF), so the switch comes within this bound and one retry.
 */
export const STALE_VERDICT_MS = 60_000;

/** A failure worth retrying soon (the API server restarting, a conflict, throttling), not a verdict. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof KubeApiError)) return false;
  return err.status === 0 || err.status === 409 || err.status === 429 || err.status >= 500;
}

export interface AreaFailure {
  area: string;
  error: unknown;
  transient: boolean;
}

/**
 * What to grant for a 403, to whom: in `run` the operator's ServiceAccount lacks it ("grant list and watch
 * secrets cluster-wide … in its ClusterRole"); in `check` it is the permission of the user check runs as,
 * and a one-shot check does not recover: it is run again with a kubeconfig that has it.
 */
export function permissionMessage(err: unknown, watched: boolean, mode: 'run' | 'check' = 'run'): string | undefined {
  const denied = deniedPermission(err);
  if (!denied) return undefined;
  const verbs = watched ? ['list', 'watch'] : [denied.verb];
  if (mode === 'check') {
    const user = err instanceof Error ? /User "([^"]+)"/.exec(err.message)?.[1] : undefined;
    return (
      `the user check runs as${user ? ` (${user})` : ''} may not ${describePermission(denied)}: run check again with a kubeconfig ` +
      `that may ${describePermission(denied, verbs)} (check reads what the operator reads: config/rbac lists it), or grant it to that user`
    );
  }
  const where = denied.namespace ? `a Role in namespace ${denied.namespace}` : 'its ClusterRole';
  return (
    `the operator may not ${describePermission(denied)}: grant ${describePermission(denied, verbs)} ` +
    `to the operator's ServiceAccount in ${where} (config/rbac), then it recovers within seconds, no restart needed`
  );
}

/**
 * The report of an area that could not run this time for a passing reason: its last
 * conditions and summary stay as they are; a condition never reported yet is Unknown
 * (never a silent gap that would let Ready say True).
 */
function keepPrevious(area: Area, policy: AuthPolicy, why: string): AreaReport {
  const known = new Set((policy.status?.conditions ?? []).map((c) => c.type));
  return {
    conditions: area.conditionTypes
      .filter((type) => !known.has(type))
      .map((type) => ({ type, status: 'Unknown', reason: Reason.ObserveFailed, message: `not observed yet: ${why}` })),
    summary: policy.status?.[area.name] ?? {},
    findings: [],
  };
}

/** Why caches have not synced, naming the first cause (a 403 names the verb and resource to grant). */
function unsyncedMessage(unsynced: readonly UnsyncedCache[], mode: 'run' | 'check'): string {
  const first = unsynced.find((u) => u.failure !== undefined) ?? unsynced[0];
  return (
    (isForbidden(first?.failure) ? permissionMessage(first?.failure, !first?.polled, mode) : undefined) ??
    (first?.error ? `cannot read ${first.name}: ${first.error}` : `cache ${unsynced.map((u) => u.name).join(', ')} not synced yet`)
  );
}

/** The Unknown report of an area whose declared caches could not sync, naming the first cause. */
function unsyncedReport(area: Area, unsynced: readonly UnsyncedCache[], mode: 'run' | 'check'): AreaReport {
  const first = unsynced.find((u) => u.failure !== undefined) ?? unsynced[0];
  const forbidden = isForbidden(first?.failure);
  const message = unsyncedMessage(unsynced, mode);
  return {
    conditions: area.conditionTypes.map((type) => ({ type, status: 'Unknown', reason: forbidden ? Reason.Forbidden : Reason.ObserveFailed, message })),
    summary: { error: message },
    findings: [{ subject: area.name, health: 'unknown', message }],
  };
}

/**
 * Runs every area for one policy. An area that fails does not stop the others:
 * in `check` it reports Unknown with the reason; in `run` a transient failure
 * keeps the area's previous status (no flapping to Unknown while the API server
 * restarts) and a permanent one (e.g. Forbidden) reports Unknown naming the
 * missing permission. Failures are returned so the reconcile can retry.
 * An area runs only on caches it declared that have synced: one that cannot sync
 * reports Unknown saying why (a 403 names the verb and resource to grant), one still
 * listing keeps its previous status; either way the other areas go on.
 */
export async function evaluateAreas(
  policy: AuthPolicy,
  deps: PolicyDeps,
  mode: 'run' | 'check',
  signal: AbortSignal,
  log: Logger,
): Promise<{ reports: Record<string, AreaReport>; failures: AreaFailure[] }> {
  const spec = resolveSpec(policy.spec);
  if (deps.dryRun) spec.dryRun = true;
  const now = deps.now ?? (() => new Date());
  const ctx: AreaContext = {
    client: deps.client,
    cache: (handle) => deps.caches.get(handle),
    unsynced: (spec) => {
      const unsynced = deps.caches.unsynced([spec]);
      return unsynced.length ? unsyncedMessage(unsynced, mode) : undefined;
    },
    policy,
    spec,
    log,
    events: mode === 'run' ? deps.events : undefined,
    policyRef: policyRef(policy),
    signal,
    now,
    mode,
    metrics: mode === 'run' ? deps.metrics : undefined,
  };
  const reports: Record<string, AreaReport> = {};
  const failures: AreaFailure[] = [];
  for (const area of deps.areas) {
    const areaLog = log.child({ area: area.name });
    const unsynced = deps.caches.unsynced(area.caches);
    if (unsynced.length > 0) {
      // Still listing, no failure yet, or refused or unreachable for less than FAILURE_GRACE_MS (a
      // kube-apiserver that just restarted refuses connections, then answers 403 until its RBAC caches
      // fill): keep the last status; the cache's sync requeues the policy.
      const refused = unsynced.some((u) => u.failure !== undefined);
      const since = refused ? (deps.failingSince?.get(area.name) ?? Date.now()) : undefined;
      if (since !== undefined) deps.failingSince?.set(area.name, since);
      const passing = (failure: unknown): boolean => failure === undefined || isForbidden(failure) || isTransient(failure);
      const young = since !== undefined && unsynced.every((u) => passing(u.failure) && !u.stale) && Date.now() - since < FAILURE_GRACE_MS;
      if (mode === 'run' && (!refused || young)) {
        const kept = keepPrevious(area, policy, `waiting for cache ${unsynced.map((u) => u.name).join(', ')} to sync`);
        // Look again when the grace ends, so a refusal that lasts is reported even if nothing else happens.
        if (young) kept.requeueAfterMs = FAILURE_GRACE_MS - (Date.now() - since) + 1000;
        reports[area.name] = kept;
      } else {
        reports[area.name] = unsyncedReport(area, unsynced, mode);
      }
      areaLog.debug('area waits for its caches', { caches: unsynced.map((u) => u.name) });
      continue;
    }
    try {
      const observation = await area.observe({ ...ctx, log: areaLog });
      const plan = area.plan(spec, observation, policy.status?.[area.name]);
      reports[area.name] = mode === 'run' && area.act ? await area.act({ ...ctx, log: areaLog }, plan) : area.report(plan);
      deps.failingSince?.delete(area.name);
    } catch (err) {
      // A kube-apiserver that just restarted answers 403 until its RBAC caches fill: a 403 only
      // becomes a verdict once it has lasted FAILURE_GRACE_MS.
      const already = deps.failingSince?.get(area.name);
      const since = already ?? Date.now();
      deps.failingSince?.set(area.name, since);
      const failingFor = Date.now() - since;
      const transient = (isTransient(err) && failingFor < STALE_VERDICT_MS) || (isForbidden(err) && failingFor < FAILURE_GRACE_MS);
      failures.push({ area: area.name, error: err, transient });
      // A conflict is resolved by the immediate retry: not worth more than a debug line.
      // An area that keeps failing (an API server restarting) says so once, at the start.
      if (isConflict(err)) areaLog.debug('area hit a conflict; retrying at once', { error: describeError(err) });
      else if (already !== undefined) areaLog.debug('area still failing', { error: describeError(err), transient, failingForMs: Date.now() - since });
      else areaLog.warn('area failed', { error: describeError(err), transient });
      if (mode === 'run' && transient) {
        reports[area.name] = keepPrevious(area, policy, describeError(err));
        continue;
      }
      const forbidden = isForbidden(err);
      const stale =
        isTransient(err) && mode === 'run' ? `could not be re-checked since ${new Date(since).toISOString()}, so the last verdict no longer stands: ` : '';
      const message = (forbidden ? permissionMessage(err, false, mode) : undefined) ?? `${stale || 'could not evaluate: '}${describeError(err)}`;
      reports[area.name] = {
        conditions: area.conditionTypes.map((type) => ({ type, status: 'Unknown', reason: forbidden ? Reason.Forbidden : Reason.ObserveFailed, message })),
        summary: { error: message },
        findings: [{ subject: area.name, health: 'unknown', message }],
      };
    }
  }
  return { reports, failures };
}

/** The controller's reconcile function for key = AuthPolicy name. */
export function makeReconcile(deps: PolicyDeps): (ctx: ReconcileContext) => Promise<ReconcileResult | undefined> {
  const now = deps.now ?? (() => new Date());
  const writer = new StatusWriter(deps.client, deps.log, deps.now ? { now: () => now().getTime() } : {});
  return async ({ key, log, signal }) => {
    const policies = deps.caches.get(policyCache);
    const policy = policies.get(key);
    if (!policy) {
      deps.metrics?.conditions.forget(key);
      return undefined;
    } // deleted: nothing to report to
    const generation = policy.metadata.generation ?? 0;
    const active = pickActive(policies.list());
    if (active && active.metadata.name !== policy.metadata.name) {
      const status = conflictStatus(policy.status, conflictMessage(policy, active), generation, now());
      deps.metrics?.conditions.set(policy.metadata.name, status.conditions);
      if ((await writer.write(policy, status, log)).written) {
        await deps.events?.record(policyRef(policy), 'Warning', Reason.Conflict, `AuthPolicy ${active.metadata.name} is active; this one takes no action`);
      }
      return undefined;
    }
    const { reports, failures } = await evaluateAreas(policy, deps, 'run', signal, log);
    if (signal.aborted) return undefined; // lost leadership or shutting down: write nothing more
    const status = buildStatus(writer.latest(policy), reports, generation, now());
    const write = await writer.write(policy, status, log);
    deps.metrics?.conditions.set(policy.metadata.name, status.conditions);
    if (failures.length > 0) {
      // Retried by cause (runtime/controller.ts): a conflict at once, a 403/404 on a short period, others with backoff.
      throw new AggregateError(
        failures.map((f) => f.error),
        `areas failed: ${failures.map((f) => `${f.area}: ${describeError(f.error)}`).join('; ')}`,
      );
    }
    const requeues = Object.values(reports)
      .map((r) => r.requeueAfterMs)
      .filter((ms): ms is number => ms !== undefined);
    // Progress held back by the writer is written by this requeue.
    return { requeueAfterMs: Math.min(RESYNC_MS, ...requeues, ...(write.deferredMs !== undefined ? [write.deferredMs] : [])) };
  };
}
