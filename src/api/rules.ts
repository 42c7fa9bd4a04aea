// One rule shape for every area, like cert-manager's policies.Chain: small named rules tried in
// order; the first whose `decide` gives a verdict sets the condition's status, reason and message,
// and lists the writes it calls for (and the ones it refuses). Pure: no I/O.
import type { ConditionUpdate } from './conditions.ts';

/** A write the operator refused to make, and why (an Event each). */
export interface Refusal {
  reason: string;
  message: string;
}

/** What a rule decides: the condition (its type is the area's) and, in order, what to write and what to refuse. */
export interface Verdict<Action = never> {
  status: ConditionUpdate['status'];
  /** a constant of src/api/reasons.ts */
  reason: string;
  message: string;
  actions?: Action[];
  refusals?: Refusal[];
}

export interface Rule<Facts, Action = never> {
  name: string;
  /** undefined: this rule has nothing to say, ask the next */
  decide(facts: Facts): Verdict<Action> | undefined;
}

/** A rule that speaks when `applies` holds, with `verdict`'s words. */
export function when<Facts, Action = never>(name: string, applies: (facts: Facts) => boolean, verdict: (facts: Facts) => Verdict<Action>): Rule<Facts, Action> {
  return { name, decide: (facts) => (applies(facts) ? verdict(facts) : undefined) };
}

/** The first rule's verdict, with the rule's name (for tests and logs). The last rule of a list must always speak. */
export function firstVerdict<Facts, Action = never>(rules: readonly Rule<Facts, Action>[], facts: Facts): Verdict<Action> & { rule: string } {
  for (const rule of rules) {
    const verdict = rule.decide(facts);
    if (verdict) return { ...verdict, rule: rule.name };
  }
  throw new Error(`no rule decided among [${rules.map((r) => r.name).join(', ')}] (the last rule must always speak)`);
}
