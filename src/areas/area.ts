// The shape every area shares (observe → plan → act), like a controller-runtime
// Reconciler split so the decision is a pure function. `check` runs observe and
// plan; `run` also runs act. One code path, so they cannot disagree.
import type { ConditionUpdate } from '../api/conditions.ts';
import type { ResolvedSpec } from '../api/defaults.ts';
import type { AuthPolicy } from '../api/types.ts';
import type { KubeClient } from '../kube/client.ts';
import type { EventRecorder, ObjectReference } from '../runtime/events.ts';
import type { Cached, Informer } from '../runtime/informer.ts';
export { defineCache, type CacheHandle, type CacheSpec } from '../kube/cache-spec.ts';
import type { CacheHandle, CacheSpec } from '../kube/cache-spec.ts';
import type { Logger } from '../runtime/log.ts';
import type { Metrics } from '../runtime/metrics.ts';

export interface AreaContext {
  client: KubeClient;
  /** the informer of a cache the area declared, typed by its handle */
  cache<T extends Cached>(handle: CacheHandle<T>): Informer<T>;
  /** why one of the area's optional caches has not synced (undefined: it has), in words an admin acts on */
  unsynced(spec: CacheSpec): string | undefined;
  policy: AuthPolicy;
  spec: ResolvedSpec;
  log: Logger;
  /** undefined in `check`: nothing is recorded */
  events: EventRecorder | undefined;
  policyRef: ObjectReference;
  signal: AbortSignal;
  now: () => Date;
  /** what the operator can do: `check` never writes */
  mode: 'run' | 'check';
  /** the operator's metrics (undefined in `check`) */
  metrics?: Metrics | undefined;
}

/** How a finding weighs for `check`'s exit code and for Ready. */
export type Health = 'ok' | 'action' | 'unknown';

export interface Finding {
  /** e.g. "node/node-a", "secret ci/build-token" */
  subject: string;
  health: Health;
  message: string;
}

/** What an area reports into status and `check` after plan (and act). */
export interface AreaReport {
  conditions: ConditionUpdate[];
  /** a small, bounded summary for status.<area> */
  summary: Record<string, unknown>;
  findings: Finding[];
  /** reconcile again after this long even if nothing changes (e.g. rollouts in progress) */
  requeueAfterMs?: number;
}

export interface Area<Observation = unknown, Plan = unknown> {
  /** the status key, e.g. "nodeAuthorization" */
  name: 'nodeAuthorization' | 'legacyTokens' | 'clock' | 'boundTokens';
  conditionTypes: readonly string[];
  caches: readonly CacheSpec[];
  /**
   * Caches the area reads when it can: one that cannot sync (say a permission was
   * taken) does not stop the area, which checks the rest and says in its condition
   * message what it could not check and why (`ctx.unsynced`).
   */
  optionalCaches?: readonly CacheSpec[];
  observe(ctx: AreaContext): Promise<Observation>;
  /** pure: what should change, and the report if it all goes to plan; lastSummary: status.<area> as last written (an earlier report's `summary`) */
  plan(spec: ResolvedSpec, observation: Observation, lastSummary: Record<string, unknown> | undefined): Plan;
  /** idempotent writes in plan order; honours spec.dryRun; returns the final report */
  act?(ctx: AreaContext, plan: Plan): Promise<AreaReport>;
  /** the report of a plan that was not acted on (check, or dry run) */
  report(plan: Plan): AreaReport;
}
