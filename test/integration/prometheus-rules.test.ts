// The alerting rules under the real promtool (github.com/prometheus/prometheus/cmd/promtool,
// built from the Go module proxy by test/prometheus/build-promtool.sh): `promtool check rules`
// accepts config/prometheus/rules.yaml's spec, and `promtool test rules` passes every
// test/prometheus/<alert>.test.yaml, one per alert (test/unit/runtime/prometheus-rules-metrics.test.ts
// checks that each alert has one and that their series are the operator's).
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { alertRules, promtoolBinary, promtoolWorkdir, testFiles } from '../prometheus/rules.ts';

const test = suite('alert rules under promtool');
let dir: string;

test.before(() => {
  dir = promtoolWorkdir();
});
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const promtool = (args: string[]): { code: number; output: string } => {
  const r = spawnSync(promtoolBinary(), args, { cwd: dir, encoding: 'utf8', timeout: 5 * 60_000 });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
};

test('promtool check rules accepts the rules', () => {
  const r = promtool(['check', 'rules', join(dir, 'rules.yaml')]);
  assert.is(r.code, 0, r.output);
  assert.match(r.output, new RegExp(`SUCCESS: ${alertRules().length} rules found`));
});

test('every alert has its promtool test file', () => {
  const missing = alertRules()
    .map((r) => `${r.alert ?? ''}.test.yaml`)
    .filter((f) => !testFiles().includes(f));
  assert.equal(missing, [], `alerts without a test file in test/prometheus: ${missing.join(', ')}`);
});

for (const file of testFiles()) {
  test(`promtool test rules ${file}`, () => {
    const r = promtool(['test', 'rules', join(dir, file)]);
    assert.is(r.code, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });
}

test('a test that expects the wrong alert fails (promtool really judges the files)', () => {
  const broken = join(dir, 'broken.test.yaml');
  const bad = `rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'leader_election_master_status{job="authpolicy-operator",name="authpolicy-operator"}'
        values: '1x10'
    alert_rule_test:
      - eval_time: 10m
        alertname: AuthPolicyNoLeader
        exp_alerts: [{exp_labels: {severity: critical}}]
`;
  writeFileSync(broken, bad);
  const failed = promtool(['test', 'rules', broken]);
  assert.is.not(failed.code, 0, failed.output);
  assert.match(failed.output, /FAILED/);
});

test.run();
