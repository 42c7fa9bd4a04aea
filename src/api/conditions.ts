// Status conditions following the Kubernetes API conventions
// (https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#typical-status-properties).

import type { AuthPolicyCondition } from './generated/authpolicy.ts';

export type { ConditionStatus } from './generated/authpolicy.ts';

/** A status condition as the CRD declares it (generated), with observedGeneration, which the operator always sets. */
export interface Condition extends AuthPolicyCondition {
  observedGeneration: number;
}

/** What an area decides; the time and generation are filled in by mergeConditions. */
export type ConditionUpdate = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

/**
 * Merges updates into the existing conditions. lastTransitionTime changes only
 * when a condition's status flips (or it is new); reason, message and
 * observedGeneration always follow the update. Conditions not updated are kept.
 * Output order follows `order`, then any others by type.
 */
export function mergeConditions(
  existing: readonly Condition[],
  updates: readonly ConditionUpdate[],
  now: Date,
  generation: number,
  order: readonly string[] = [],
): Condition[] {
  const byType = new Map(existing.map((c) => [c.type, c]));
  for (const u of updates) {
    const prev = byType.get(u.type);
    const flipped = !prev || prev.status !== u.status;
    byType.set(u.type, {
      type: u.type,
      status: u.status,
      reason: u.reason,
      message: u.message,
      lastTransitionTime: flipped ? now.toISOString().replace(/\.\d{3}Z$/, 'Z') : prev.lastTransitionTime,
      observedGeneration: generation,
    });
  }
  const rank = (t: string): number => {
    const i = order.indexOf(t);
    return i < 0 ? order.length : i;
  };
  return [...byType.values()].sort((a, b) => rank(a.type) - rank(b.type) || a.type.localeCompare(b.type));
}

/**
 * A condition message as sentences an admin reads: each starts with a capital
 * and the whole ends with a full stop, so parts joined with ". " never read as
 * one glued sentence. Only a plain word is capitalised: names (kube-apiserver-cp1,
 * system:nodes, --flags) are left as written.
 */
export function asSentences(message: string): string {
  const m = message.trim().replace(/(^|[.!?] )([a-z])(?=[a-z]*(?:[ ,;:.!?]|$))/g, (_all: string, lead: string, c: string) => `${lead}${c.toUpperCase()}`);
  return m === '' || /[.!?]$/.test(m) ? m : `${m}.`;
}
