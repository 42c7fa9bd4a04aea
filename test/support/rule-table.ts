// One row per situation for a plan's named rule: does it apply, and if so which status,
// reason and message it gives. Shared by the rule tables of the areas that decide by rules.
import * as assert from 'uvu/assert';
import type { ConditionUpdate } from '../../../src/api/conditions.ts';

/** The shape every area's condition rule has (clock/plan.ts, boundtokens/plan.ts). */
export interface NamedRule<Facts> {
  name: string;
  applies(facts: Facts): boolean;
  condition(facts: Facts): ConditionUpdate;
}

export interface RuleRow<Facts> {
  what: string;
  facts: Facts;
  applies: boolean;
  /** status/reason, and what the message says, when the rule applies */
  status?: string;
  reason?: string;
  /** every pattern must match */
  message?: RegExp | RegExp[];
}

/** Fails naming the rule and the row whose expectation it missed. */
export function checkRuleTable<Facts>(rule: NamedRule<Facts>, conditionType: string, rows: RuleRow<Facts>[]): void {
  for (const row of rows) {
    const where = `${rule.name}: ${row.what}`;
    assert.is(rule.applies(row.facts), row.applies, where);
    if (!row.applies) continue;
    const condition = rule.condition(row.facts);
    assert.is(condition.type, conditionType, where);
    assert.is(condition.status, row.status, where);
    assert.is(condition.reason, row.reason, where);
    for (const pattern of [row.message ?? []].flat()) assert.match(condition.message, pattern, where);
  }
}
