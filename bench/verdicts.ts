// When each area of a freshly started operator first says something real about the cluster: a condition that is
// not the placeholder an area reports while its caches are still listing ("not observed yet: waiting for cache
// …", "cache … not synced yet"). Read from the AuthPolicy's status by the bench's admin, every 200 ms.
import { ConditionType, Reason } from '../src/api/reasons.ts';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The conditions each area owns. */
export const AREA_CONDITIONS: Record<string, readonly string[]> = {
  nodeAuthorization: [ConditionType.NodeAuthorizationReady],
  legacyTokens: [ConditionType.LegacyTokensReady, ConditionType.WorkloadsRestarted],
  clock: [ConditionType.ClockSynchronized],
  boundTokens: [ConditionType.BoundTokensHealthy],
};

export interface Verdict {
  /** seconds from the operator's start */
  seconds: number;
  status: string;
  reason: string;
}

/** A placeholder, not a verdict: Unknown while the area's caches have not synced yet. */
export function isPlaceholder(c: Condition): boolean {
  return c.status === 'Unknown' && c.reason === Reason.ObserveFailed && /not observed yet|not synced yet|waiting for cache/.test(c.message ?? '');
}

/**
 * The areas that now have a real verdict in every condition they own and were not in `seen` yet, each with its
 * first condition's status and reason; `seen` is updated.
 */
export function newVerdicts(conditions: readonly Condition[], seconds: number, seen: Map<string, Verdict>): void {
  const byType = new Map(conditions.map((c) => [c.type, c]));
  for (const [area, types] of Object.entries(AREA_CONDITIONS)) {
    if (seen.has(area)) continue;
    const own = types.map((t) => byType.get(t));
    if (own.some((c) => c === undefined || isPlaceholder(c))) continue;
    const first = own[0] as Condition;
    seen.set(area, { seconds, status: first.status, reason: first.reason ?? '' });
  }
}
