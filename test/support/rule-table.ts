// One row per situation for a named rule (src/api/rules.ts): does it speak, and if so with which
// status, reason, message and actions. The one table checker every area's rule tests use.
import * as assert from 'uvu/assert';
import type { Rule } from '../../src/api/rules.ts';

export interface RuleRow<Facts> {
  what: string;
  facts: Facts;
  /** whether the rule speaks (gives a verdict) for these facts */
  applies: boolean;
  /** status/reason, and what the message says, when the rule speaks */
  status?: string;
  reason?: string;
  /** every pattern must match */
  message?: RegExp | RegExp[];
  /** the kinds of the actions it lists, in order (checked when given) */
  actions?: string[];
}

/** What an action is called in a row: its `kind`, or the value itself. */
const kindOf = (action: unknown): string => (typeof action === 'object' && action !== null && 'kind' in action ? String(action.kind) : String(action));

/** Fails naming the rule and the row whose expectation it missed. */
export function checkRuleTable<Facts, Action>(rule: Rule<Facts, Action>, rows: readonly RuleRow<Facts>[]): void {
  for (const row of rows) {
    const where = `${rule.name}: ${row.what}`;
    const verdict = rule.decide(row.facts);
    assert.is(verdict !== undefined, row.applies, `${where} (verdict: ${JSON.stringify(verdict)})`);
    if (!verdict) continue;
    if (row.status !== undefined) assert.is(verdict.status, row.status, where);
    if (row.reason !== undefined) assert.is(verdict.reason, row.reason, `${where}: ${verdict.message}`);
    for (const pattern of [row.message ?? []].flat()) assert.match(verdict.message, pattern, where);
    if (row.actions) assert.equal((verdict.actions ?? []).map(kindOf), row.actions, where);
  }
}
