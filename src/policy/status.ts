// Status assembly: pure functions from area reports to the AuthPolicy status.
import { asSentences, mergeConditions, type Condition, type ConditionUpdate } from '../api/conditions.ts';
import { CONDITION_ORDER, ConditionType, Reason } from '../api/reasons.ts';
import type { AuthPolicy, AuthPolicyStatus } from '../api/types.ts';
import type { AreaReport } from '../areas/area.ts';

/** Ready summarises the area conditions: False if any is False, True only if all are True. */
export function readyCondition(areaConditions: readonly ConditionUpdate[]): ConditionUpdate {
  const failing = areaConditions.filter((c) => c.status === 'False');
  if (failing.length > 0) {
    return {
      type: ConditionType.Ready,
      status: 'False',
      reason: Reason.AreasNotReady,
      message: `Not ready: ${failing.map((c) => `${c.type} is False (${c.reason}): ${asSentences(c.message)}`).join(' ')}`,
    };
  }
  const unknown = areaConditions.filter((c) => c.status === 'Unknown');
  if (unknown.length > 0) {
    return {
      type: ConditionType.Ready,
      status: 'Unknown',
      reason: Reason.AreasUnknown,
      message: `Not yet known: ${unknown.map((c) => `${c.type} (${c.reason})`).join(', ')}.`,
    };
  }
  return { type: ConditionType.Ready, status: 'True', reason: Reason.AllAreasReady, message: 'Every managed area is in its desired state.' };
}

/**
 * The status after a reconcile. Ready is judged on the merged area conditions,
 * so an area that reported nothing new this time (a transient failure, the clock
 * area still gathering samples after a restart) counts with the condition it
 * last reported, not as missing.
 */
export function buildStatus(lastStatus: AuthPolicyStatus | undefined, reports: Record<string, AreaReport>, generation: number, now: Date): AuthPolicyStatus {
  const updates = Object.values(reports).flatMap((r) => r.conditions);
  const areas = mergeConditions(lastStatus?.conditions ?? [], updates, now, generation, CONDITION_ORDER).filter((c) => c.type !== ConditionType.Ready);
  const conditions: Condition[] = mergeConditions(lastStatus?.conditions ?? [], [readyCondition(areas), ...updates], now, generation, CONDITION_ORDER);
  const status: AuthPolicyStatus = { observedGeneration: generation, conditions };
  for (const [name, report] of Object.entries(reports)) {
    (status as Record<string, unknown>)[name] = report.summary;
  }
  return status;
}

/** Why `active` is in force rather than `policy`: the oldest creationTimestamp wins, then the name. */
export function conflictMessage(policy: AuthPolicy, active: AuthPolicy): string {
  const mine = policy.metadata.creationTimestamp;
  const theirs = active.metadata.creationTimestamp;
  const why =
    mine && theirs && Date.parse(mine) === Date.parse(theirs)
      ? `both were created at ${theirs} and "${active.metadata.name}" comes first by name`
      : `it is older (created ${theirs ?? 'earlier'}, this one ${mine ?? 'later'})`;
  return (
    `AuthPolicy ${active.metadata.name} is the active policy because ${why}; this one takes no action. ` +
    `Delete one of them (kubectl delete authpolicy ${policy.metadata.name}).`
  );
}

/** The status of a policy that is not the active one. */
export function conflictStatus(lastStatus: AuthPolicyStatus | undefined, message: string, generation: number, now: Date): AuthPolicyStatus {
  const conditions = mergeConditions(
    lastStatus?.conditions ?? [],
    [
      {
        type: ConditionType.Ready,
        status: 'False',
        reason: Reason.Conflict,
        message,
      },
    ],
    now,
    generation,
    CONDITION_ORDER,
  ).filter((c) => c.type === ConditionType.Ready);
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

/** What a status write changes, in words for the log: the conditions whose status, reason or message moved, and the summary fields. */
export function statusChanges(before: AuthPolicyStatus | undefined, after: AuthPolicyStatus): string[] {
  const old = new Map((before?.conditions ?? []).map((c) => [c.type, c]));
  const conditions = (after.conditions ?? [])
    .filter((c) => {
      const o = old.get(c.type);
      return !o || o.status !== c.status || o.reason !== c.reason || o.message !== c.message;
    })
    .map((c) => `condition ${c.type}`);
  const record = (v: unknown): Record<string, unknown> | undefined =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const fields: string[] = [];
  for (const [k, v] of Object.entries(after)) {
    if (k === 'conditions') continue;
    const was = record(before)?.[k];
    if (jsonEqual(was, v)) continue;
    const [a, b] = [record(was), record(v)];
    // An area's summary: name the fields that changed (status.clock.worst), not just the area.
    if (a && b) fields.push(...[...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => !jsonEqual(a[f], b[f])).map((f) => `status.${k}.${f}`));
    else fields.push(`status.${k}`);
  }
  return [...conditions, ...fields];
}
