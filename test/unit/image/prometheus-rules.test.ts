import { readFileSync } from 'node:fs';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { checkRules, exprUses, ruleUses } from '../../image/prometheus-rules.ts';

const test = suite('PrometheusRule reader');
const rules = readFileSync(new URL('../../../config/prometheus/rules.yaml', import.meta.url), 'utf8');

test('reads selectors, matchers and grouping; skips functions, keywords and ranges', () => {
  assert.equal(exprUses('A', 'sum by (namespace) (increase(foo_total{result="failed", kind=~"D.*"}[30m])) > 0'), [
    { alert: 'A', metric: 'foo_total', matchers: ['result', 'kind'], grouping: ['namespace'] },
  ]);
  assert.equal(exprUses('B', 'max without (pod) (up) == 1 and on (job) bar'), [
    { alert: 'B', metric: 'up', matchers: [], grouping: ['pod'] },
    { alert: 'B', metric: 'bar', matchers: [], grouping: ['pod'] },
  ]);
});

test("every alert in config/prometheus/rules.yaml selects this operator's series: its own metrics, or its controller's or Lease's", () => {
  const uses = ruleUses(rules);
  assert.ok(uses.length >= 9, `${uses.length} selectors`);
  for (const u of uses) {
    if (/^authpolicy_/.test(u.metric)) continue;
    // controller-runtime's names are shared with every other operator a Prometheus scrapes
    assert.ok(u.matchers.includes('controller') || u.matchers.includes('name'), `${u.alert} selects ${u.metric} of any operator`);
  }
});

test('a duration after offset is no metric', () => {
  assert.equal(
    exprUses('C', 'x{result="failed"} unless x{result="failed"} offset 30m').map((u) => u.metric),
    ['x', 'x'],
  );
});

test('a scrape without a metric or label is reported', () => {
  const scrape = '# HELP authpolicy_condition x\n# TYPE authpolicy_condition gauge\nauthpolicy_condition{policy="cluster",type="Ready",status="True"} 1\n';
  const problems = checkRules(rules, scrape);
  assert.ok(
    problems.some((p) => p.includes('authpolicy_token_rotations_total is not exposed')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('no label "reason"')),
    problems.join('\n'),
  );
});

test.run();
