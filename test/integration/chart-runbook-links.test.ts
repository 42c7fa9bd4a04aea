// The chart's metrics.prometheusRule.runbookBaseURL, under the real helm (test/helm/build-helm.sh):
// empty, each alert's runbook_url is its runbook's path in this repository, as in
// config/prometheus/rules.yaml; set, each becomes <base>/docs/runbooks/<alert>.md, a link to a
// runbook that exists; anything but an http(s) URL is refused by the schema, naming the value.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { CHART, helm, objects } from '../helm/helm.ts';
import { alertRules, ROOT, type Rule } from '../prometheus/rules.ts';

const test = suite('chart runbook links');

async function renderedRules(...set: string[]): Promise<Rule[]> {
  const r = await helm(['template', 'authpolicy-operator', CHART, '--set', 'metrics.prometheusRule.enabled=true', ...set.flatMap((s) => ['--set', s])]);
  assert.is(r.code, 0, r.stderr);
  const rule = objects(r.stdout).find((o) => o.kind === 'PrometheusRule') as unknown as { spec: { groups: { rules: Rule[] }[] } } | undefined;
  assert.ok(rule, 'the PrometheusRule is rendered');
  return rule.spec.groups.flatMap((g) => g.rules.filter((x) => x.alert !== undefined));
}

test('by default every runbook_url is the path of its runbook in the repository, as in config/prometheus/rules.yaml', async () => {
  const rendered = await renderedRules();
  assert.equal(
    rendered.map((r) => [r.alert, r.annotations?.runbook_url]),
    alertRules().map((r) => [r.alert, r.annotations?.runbook_url]),
  );
  for (const r of rendered) assert.ok(existsSync(join(ROOT, r.annotations?.runbook_url ?? '')), `${r.alert ?? ''}: its runbook exists`);
});

test('runbookBaseURL prefixes every runbook_url (a trailing slash or not)', async () => {
  for (const base of ['https://git.example.com/authpolicy-operator/blob/v0.1.0', 'https://git.example.com/authpolicy-operator/blob/v0.1.0/']) {
    const rendered = await renderedRules(`metrics.prometheusRule.runbookBaseURL=${base}`);
    assert.ok(rendered.length >= 9);
    for (const r of rendered)
      assert.is(r.annotations?.runbook_url, `https://git.example.com/authpolicy-operator/blob/v0.1.0/docs/runbooks/${r.alert ?? ''}.md`);
  }
});

test('a runbookBaseURL that is no http(s) URL is refused, naming the value', async () => {
  const r = await helm(['template', 'authpolicy-operator', CHART, '--set', 'metrics.prometheusRule.runbookBaseURL=docs/runbooks']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /runbookBaseURL/);
});

test.run();
