// The alerts' promtool tests and runbooks cannot drift from the rules or from the operator's
// metrics (pure: no promtool here; test/integration/prometheus-rules.test.ts runs promtool):
// one test file and one runbook per alert, each test file both firing and staying quiet, and
// every series a test feeds named and labelled as the operator's registry exports it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { RESTART_RESULTS, ROTATION_RESULTS } from '../../../src/runtime/metrics.ts';
import { alertRules, inputSeries, OPERATOR_JOB, operatorFamilies, ROOT, TARGET_LABELS, TESTS_DIR, testFiles } from '../../prometheus/rules.ts';

const test = suite('alert rules: tests, runbooks and series');
const alerts = alertRules().map((r) => r.alert ?? '');

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: unknown[];
}

test('every alert has a promtool test file that fires it and keeps it quiet; every test file belongs to an alert', () => {
  assert.ok(alerts.length >= 9, `${alerts.length} alerts`);
  assert.equal(testFiles(), alerts.map((a) => `${a}.test.yaml`).sort());
  for (const alert of alerts) {
    const doc = parse(readFileSync(join(TESTS_DIR, `${alert}.test.yaml`), 'utf8')) as { rule_files: string[]; tests: { alert_rule_test?: AlertTest[] }[] };
    assert.equal(doc.rule_files, ['rules.yaml'], `${alert}: rule_files`);
    const checks = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    assert.ok(
      checks.every((c) => c.alertname === alert),
      `${alert}.test.yaml tests only ${alert}`,
    );
    assert.ok(
      checks.some((c) => (c.exp_alerts ?? []).length > 0),
      `${alert}.test.yaml has a case where it fires`,
    );
    assert.ok(
      checks.some((c) => (c.exp_alerts ?? []).length === 0),
      `${alert}.test.yaml has a case where it stays quiet`,
    );
  }
});

test('every alert has a runbook_url to its runbook in docs/runbooks, which says what it means and what to do', () => {
  for (const rule of alertRules()) {
    const url = rule.annotations?.runbook_url;
    assert.is(url, `docs/runbooks/${rule.alert ?? ''}.md`, `${rule.alert ?? ''}: runbook_url`);
    const path = join(ROOT, url ?? '');
    assert.ok(existsSync(path), `${url ?? ''} exists`);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.startsWith(`# ${rule.alert ?? ''}\n`), `${url ?? ''} is titled with the alert's name`);
    for (const section of ['## Meaning', '## Impact', '## Diagnosis', '## Mitigation']) assert.ok(text.includes(`\n${section}\n`), `${url ?? ''}: ${section}`);
    assert.match(text, /```(?:sh|bash)\n[^`]*kubectl /, `${url ?? ''} gives kubectl commands`);
  }
  const runbooks = readdirSync(join(ROOT, 'docs/runbooks')).filter((f) => f.endsWith('.md') && f !== 'README.md');
  assert.equal(runbooks.sort(), alerts.map((a) => `${a}.md`).sort(), 'one runbook per alert, none for an alert that is gone');
});

test("every series a test feeds as the operator's is named and labelled as the operator's registry exports it", () => {
  const families = operatorFamilies();
  const series = inputSeries().filter((s) => s.labels.job === OPERATOR_JOB);
  assert.ok(series.length >= 20, `${series.length} series`);
  for (const s of series) {
    const family = families.get(s.metric);
    assert.ok(family, `${s.file}: ${s.metric} is not a metric of the operator`);
    const labels = Object.keys(s.labels);
    for (const l of family.labels) assert.ok(labels.includes(l), `${s.file}: ${s.metric} lacks its label ${l}`);
    for (const l of labels)
      assert.ok(family.labels.has(l) || TARGET_LABELS.has(l), `${s.file}: ${s.metric} has no label ${l} (it has ${[...family.labels].join(', ')})`);
    const result = s.labels.result;
    if (s.metric === 'authpolicy_token_rotations_total') assert.ok(ROTATION_RESULTS.includes(result as never), `${s.file}: result ${result ?? ''}`);
    if (s.metric === 'authpolicy_workload_restarts_total') assert.ok(RESTART_RESULTS.includes(result as never), `${s.file}: result ${result ?? ''}`);
    if (s.metric === 'controller_runtime_reconcile_total')
      assert.ok(['success', 'error', 'requeue', 'requeue_after'].includes(result ?? ''), `${s.file}: result ${result ?? ''}`);
  }
});

test.run();
