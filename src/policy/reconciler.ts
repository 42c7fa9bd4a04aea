// The AuthPolicy reconciler: picks the active policy, runs every area
// (observe → plan → act), and writes status once, through the status
// subresource, only when it changed. It never writes spec or metadata, so
// GitOps tools see no drift.
import { resolveSpec } from '../api/defaults.ts';
import { ConditionType, Reason } from '../api/reasons.ts';
import { API_VERSION, KIND, type AuthPolicy, type AuthPolicyStatus } from '../api/types.ts';
import { defineCache, type Area, type AreaContext, type AreaReport } from '../areas/area.ts';
import type { KubeClient } from '../kube/client.ts';
import { describeError, isForbidden, KubeApiError } from '../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../kube/paths.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.ts';
import type { EventRecorder, ObjectReference } from '../runtime/events.ts';
import type { Logger } from '../runtime/log.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { pickActive } from './active.ts';
import type { CacheSet } from './caches.ts';
import { buildStatus, conflictMessage, conflictStatus, jsonEqual } from './status.ts';

/** Periodic re-check even when nothing changes (clock and token health drift silently). */
export const RESYNC_MS = 5 * 60_000;

export const policyCache = defineCache<AuthPolicy>({
  name: 'authpolicies',
  path: collectionPath(Resources.authPolicies),
  transform: (raw) => {
    const p = raw as AuthPolicy & { metadata: { managedFields?: unknown } };
    const { managedFields: _drop, ...metadata } = p.metadata;
    return { apiVersion: API_VERSION, kind: KIND, metadata, spec: p.spec ?? {}, ...(p.status ? { status: p.status } : {}) };
  },
});

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

const FORBIDDEN_GRACE_MS = 30_000;

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
 * Runs every area for one policy. An area that fails does not stop the others:
 * in `check` it reports Unknown with the reason; in `run` a transient failure
 * keeps the area's previous status (no flapping to Unknown while the API server
 * restarts) and a permanent one (e.g. Forbidden) reports Unknown naming the
 * missing permission. Failures are returned so the reconcile can retry with backoff.
 */
export async function evaluateAreas(policy: AuthPolicy, deps: PolicyDeps, mode: 'run' | 'check', signal: AbortSignal, log: Logger): Promise<{ reports: Record<string, AreaReport>; failures: AreaFailure[] }> {
  const spec = resolveSpec(policy.spec);
  if (deps.dryRun) spec.dryRun = true;
  const now = deps.now ?? (() => new Date());
  const ctx: AreaContext = {
    client: deps.client,
    cache: (name) => deps.caches.get(name),
    policy, spec, log,
    events: mode === 'run' ? deps.events : undefined,
    policyRef: policyRef(policy),
    signal, now, mode,
    metrics: mode === 'run' ? deps.metrics : undefined,
  };
  const reports: Record<string, AreaReport> = {};
  const failures: AreaFailure[] = [];
  for (const area of deps.areas) {
    const areaLog = log.child({ area: area.name });
    try {
      const observation = await area.observe({ ...ctx, log: areaLog });
      const plan = area.plan(spec, observation, policy.status?.[area.name], now());
      reports[area.name] = mode === 'run' && area.act ? await area.act({ ...ctx, log: areaLog }, plan) : area.report(plan);
      deps.failingSince?.delete(area.name);
    } catch (err) {
      // A kube-apiserver that just restarted answers 403 until its RBAC caches fill: a 403 only
      // becomes a verdict once it has lasted FORBIDDEN_GRACE_MS.
      const since = deps.failingSince?.get(area.name) ?? Date.now();
      deps.failingSince?.set(area.name, since);
      const transient = isTransient(err) || (isForbidden(err) && Date.now() - since < FORBIDDEN_GRACE_MS);
      failures.push({ area: area.name, error: err, transient });
      areaLog.warn('area failed', { error: describeError(err), transient });
      if (mode === 'run' && transient) {
        reports[area.name] = { conditions: [], summary: policy.status?.[area.name] ?? {}, findings: [] };
        continue;
      }
      const forbidden = isForbidden(err);
      const message = forbidden && err instanceof KubeApiError
        ? `the operator is not allowed to ${err.method} ${err.path}: grant it in the operator's ClusterRole (config/rbac) — ${err.message}`
        : `could not evaluate: ${describeError(err)}`;
      reports[area.name] = {
        conditions: area.conditionTypes.map((type) => ({ type, status: 'Unknown', reason: forbidden ? Reason.Forbidden : Reason.ObserveFailed, message })),
        summary: { error: message },
        findings: [{ subject: area.name, health: 'unknown', message }],
      };
    }
  }
  return { reports, failures };
}

/** Writes status through the status subresource when it differs from what the cache holds. */
async function writeStatus(client: KubeClient, policy: AuthPolicy, status: AuthPolicyStatus, log: Logger): Promise<boolean> {
  if (jsonEqual(policy.status ?? {}, status)) return false;
  await client.replace(objectPath(Resources.authPolicies, policy.metadata.name, undefined, 'status'), {
    apiVersion: API_VERSION, kind: KIND,
    metadata: { name: policy.metadata.name, resourceVersion: policy.metadata.resourceVersion },
    status,
  });
  log.info('status updated', { ready: status.conditions?.find((c) => c.type === ConditionType.Ready)?.status });
  return true;
}

/** The controller's reconcile function for key = AuthPolicy name. */
export function makeReconcile(deps: PolicyDeps): (ctx: ReconcileContext) => Promise<ReconcileResult | undefined> {
  const now = deps.now ?? (() => new Date());
  return async ({ key, log, signal }) => {
    const policies = deps.caches.get<AuthPolicy>(policyCache.name);
    const policy = policies.get(key);
    if (!policy) { deps.metrics?.conditions.forget(key); return undefined; } // deleted: nothing to report to
    const generation = policy.metadata.generation ?? 0;
    const active = pickActive(policies.list());
    if (active && active.metadata.name !== policy.metadata.name) {
      const status = conflictStatus(policy.status, conflictMessage(policy, active), generation, now());
      deps.metrics?.conditions.set(policy.metadata.name, status.conditions);
      if (await writeStatus(deps.client, policy, status, log)) {
        await deps.events?.record(policyRef(policy), 'Warning', Reason.Conflict, `AuthPolicy ${active.metadata.name} is active; this one takes no action`);
      }
      return undefined;
    }
    const { reports, failures } = await evaluateAreas(policy, deps, 'run', signal, log);
    if (signal.aborted) return undefined; // lost leadership or shutting down: write nothing more
    const status = buildStatus(policy.status, reports, generation, now());
    await writeStatus(deps.client, policy, status, log);
    deps.metrics?.conditions.set(policy.metadata.name, status.conditions);
    if (failures.length > 0) {
      // Retry with per-key backoff (5 ms doubling to 1000 s) until every area succeeds.
      throw new Error(`areas failed: ${failures.map((f) => `${f.area}: ${describeError(f.error)}`).join('; ')}`);
    }
    const requeues = Object.values(reports).map((r) => r.requeueAfterMs).filter((ms): ms is number => ms !== undefined);
    return { requeueAfterMs: Math.min(RESYNC_MS, ...requeues) };
  };
}
