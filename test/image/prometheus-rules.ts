// Checks alerting rules against a real /metrics scrape: every metric a rule's
// expression selects must be exposed, and every label it matches on or
// aggregates by must be one of that metric's labels — so a renamed metric or
// label cannot silently turn an alert off. A small PromQL reader that knows the
// forms rules here use (selectors with matchers, range vectors, `offset`, functions,
// `by`/`without` clauses, comparison and set operators), not a full parser. The rules'
// behaviour is tested under the real promtool (test/integration/prometheus-rules.test.ts).
import { parse } from 'yaml';
import { families, testSeriesMismatches } from '../prometheus/rules.ts';

export { families, type Family } from '../prometheus/rules.ts';

export interface RuleUse {
  alert: string;
  metric: string;
  /** label names in the selector's matchers */
  matchers: string[];
  /** label names in the enclosing aggregation's by/without clause */
  grouping: string[];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset']);

/** The metrics and labels each alert of a PrometheusRule manifest uses. */
export function ruleUses(manifest: string): RuleUse[] {
  const doc = parse(manifest) as { spec: { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] } };
  const uses: RuleUse[] = [];
  for (const group of doc.spec.groups) {
    for (const rule of group.rules) uses.push(...exprUses(rule.alert ?? rule.record ?? '?', rule.expr));
  }
  return uses;
}

/** Selectors in one PromQL expression; `by (…)` labels are attributed to every selector in the expression. */
export function exprUses(alert: string, expr: string): RuleUse[] {
  const grouping = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const uses: RuleUse[] = [];
  const re = /([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\(|\[)?/g;
  for (const m of expr.matchAll(re)) {
    const [, name = '', braces, after] = m;
    const before = expr.slice(0, m.index);
    if (KEYWORDS.has(name) || after === '(') continue; // a function or aggregation, or a keyword
    if (/^\s*(?:by|without)\s*\(/.test(expr.slice(m.index + m[0].length))) continue; // `sum by (…) (…)`
    if (/\b(?:by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue; // a label inside by (…)
    if (/\{[^}]*$/.test(before) || /\[[^\]]*$/.test(before)) continue; // inside a matcher or a range
    if (/^\d/.test(name) || /[\d.]$/.test(before)) continue; // a number, or a duration's unit (`offset 30m`)
    const matchers = braces ? [...braces.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1] ?? '') : [];
    uses.push({ alert, metric: name, matchers, grouping });
  }
  return uses;
}

/** What in the rules the scrape does not back: one line per problem (empty when all is well). */
export function checkRules(manifest: string, scrape: string): string[] {
  const fams = families(scrape);
  const problems: string[] = [];
  for (const use of ruleUses(manifest)) {
    const fam = fams.get(use.metric);
    if (!fam) {
      problems.push(`${use.alert}: metric ${use.metric} is not exposed`);
      continue;
    }
    for (const label of [...use.matchers, ...use.grouping]) {
      if (!fam.labels.has(label)) problems.push(`${use.alert}: ${use.metric} has no label "${label}" (it has ${[...fam.labels].join(', ') || 'no samples'})`);
    }
  }
  // The promtool tests (test/prometheus) feed each family this scrape has with exactly its labels.
  problems.push(...testSeriesMismatches(scrape, []));
  return problems;
}
