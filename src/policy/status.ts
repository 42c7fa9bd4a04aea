// Status assembly: pure functions from area reports to the AuthPolicy status.
import { mergeConditions, type Condition, type ConditionUpdate } from '../api/conditions.ts';
import { CONDITION_ORDER, ConditionType, Reason } from '../api/reasons.ts';
import type { AuthPolicyStatus } from '../api/types.ts';
import type { AreaReport } from '../areas/area.ts';

/** Ready summarises the area conditions: False if any is False, True only if all are True. */
export function readyCondition(areaConditions: readonly ConditionUpdate[]): ConditionUpdate {
  const failing = areaConditions.filter((c) => c.status === 'False');
  if (failing.length > 0) {
    return { type: ConditionType.Ready, status: 'False', reason: Reason.AreasNotReady, message: failing.map((c) => `${c.type}: ${c.reason}: ${c.message}`).join('; ') };
  }
  const unknown = areaConditions.filter((c) => c.status === 'Unknown');
  if (unknown.length > 0) {
    return { type: ConditionType.Ready, status: 'Unknown', reason: Reason.AreasUnknown, message: `not yet known: ${unknown.map((c) => `${c.type} (${c.reason})`).join(', ')}` };
  }
  return { type: ConditionType.Ready, status: 'True', reason: Reason.AllAreasReady, message: 'every managed area is in its desired state' };
}

export function buildStatus(previous: AuthPolicyStatus | undefined, reports: Record<string, AreaReport>, generation: number, now: Date): AuthPolicyStatus {
  const updates = Object.values(reports).flatMap((r) => r.conditions);
  const conditions: Condition[] = mergeConditions(previous?.conditions ?? [], [readyCondition(updates), ...updates], now, generation, CONDITION_ORDER);
  const status: AuthPolicyStatus = { observedGeneration: generation, conditions };
  for (const [name, report] of Object.entries(reports)) {
    (status as Record<string, unknown>)[name] = report.summary;
  }
  return status;
}

/** The status of a policy that is not the active one. */
export function conflictStatus(previous: AuthPolicyStatus | undefined, activeName: string, generation: number, now: Date): AuthPolicyStatus {
  const conditions = mergeConditions(previous?.conditions ?? [], [{
    type: ConditionType.Ready, status: 'False', reason: Reason.Conflict,
    message: `AuthPolicy ${activeName} is older and is the active policy; this one takes no action. Delete one of them.`,
  }], now, generation, CONDITION_ORDER).filter((c) => c.type === ConditionType.Ready);
  return { observedGeneration: generation, conditions };
}

/** Deep equality for JSON values (status comparison before writing). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
