// ClockSynchronized's rules, one table per rule: when it applies, and the status, reason
// and message it gives; then the order (the first rule that applies decides).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { ClockOffset } from '../../../src/areas/clock/estimator.ts';
import {
  clockFindings,
  clockRules,
  clocksInSync,
  clocksSkewed,
  decideClockSynchronized,
  heldReport,
  noClockData,
  operatorClockSkewed,
  steadyWorst,
  type ClockFacts,
  type ClockRule,
} from '../../../src/areas/clock/plan.ts';
import { checkRuleTable, type RuleRow } from '../../support/rule-table.ts';

const test = suite('clock rules');

const clock = (kind: 'node' | 'apiserver', name: string, seconds: number, samples = 5): ClockOffset => ({
  kind,
  name,
  offsetMs: seconds * 1000,
  samples,
  lastSeenMs: 0,
});

/** Three clocks in sync, the operator's too, maxSkew 30s; a row overrides what it is about. */
const facts = (over: Partial<ClockFacts> = {}): ClockFacts => ({
  maxSkewMs: 30_000,
  measured: 3,
  referenceClocks: 3,
  skewed: [],
  operatorOffsetMs: 0,
  operatorSkewed: false,
  shown: [],
  ...over,
});

function checkRule(rule: ClockRule, rows: RuleRow<ClockFacts>[]): void {
  checkRuleTable(rule, rows);
}

const kasBehind = clock('apiserver', 'kas-b', -120);
const nodeAhead = clock('node', 'node-c', 45);

test('noClockData: Unknown while nothing renewed', () => {
  checkRule(noClockData, [
    {
      what: 'no clock measured',
      facts: facts({ measured: 0 }),
      applies: true,
      status: 'Unknown',
      reason: 'NoClockData',
      message: /^No Lease renewals observed yet .*every 10 seconds\.$/,
    },
    { what: 'clocks measured', facts: facts(), applies: false },
  ]);
});

test('clocksSkewed: False naming the skewed clocks and what breaks', () => {
  const shown = [
    { kind: 'apiserver', name: 'kas-b', offsetSeconds: -120 },
    { kind: 'node', name: 'node-a', offsetSeconds: 1 },
  ];
  checkRule(clocksSkewed, [
    { what: 'none skewed', facts: facts(), applies: false },
    {
      what: 'an API server behind: tokens rejected as not valid yet, only skewed clocks listed',
      facts: facts({ skewed: [kasBehind], shown }),
      applies: true,
      status: 'False',
      reason: 'ClockSkewDetected',
      message: [
        /^1 clock\(s\) off by more than 30s: apiserver kas-b -2m0s\. Bound /,
        / rejected by kas-b as "not valid yet" /,
        /Fix time sync \(chrony\/NTP\) on those hosts\.$/,
      ],
    },
    {
      what: 'a node ahead: kubelets misbehave',
      facts: facts({ skewed: [nodeAhead], shown: [{ kind: 'node', name: 'node-c', offsetSeconds: 45 }] }),
      applies: true,
      status: 'False',
      reason: 'ClockSkewDetected',
      message: /node node-c \+45s\. Kubelets on these nodes present fresh projected tokens/,
    },
    {
      what: 'the operator skewed too: said at the end',
      facts: facts({ skewed: [kasBehind], shown, operatorOffsetMs: 90_000, operatorSkewed: true }),
      applies: true,
      status: 'False',
      reason: 'ClockSkewDetected',
      message: /on those hosts\. Also, the operator's own clock is ahead by 1m30s of the cluster's time\.$/,
    },
  ]);
  assert.not.match(clocksSkewed.decide(facts({ skewed: [kasBehind], shown }))?.message ?? '', /node-a/, 'a clock in sync is not listed');
});

test('operatorClockSkewed: False naming the operator host when every other clock agrees', () => {
  checkRule(operatorClockSkewed, [
    { what: 'operator in sync', facts: facts(), applies: false },
    { what: 'operator offset unknown', facts: facts({ operatorOffsetMs: undefined }), applies: false },
    {
      what: 'operator behind',
      facts: facts({ operatorOffsetMs: -60_000, operatorSkewed: true }),
      applies: true,
      status: 'False',
      reason: 'OperatorClockSkewed',
      message: [
        /^The operator's own clock is off by more than 30s: the operator's own clock is behind by 1m0s /,
        /all 3 node and API-server clock\(s\) agree within 30s\./,
        /host running it\.$/,
      ],
    },
  ]);
});

test('clocksInSync: True, always applies (the last rule)', () => {
  checkRule(clocksInSync, [
    {
      what: 'all in sync',
      facts: facts(),
      applies: true,
      status: 'True',
      reason: 'ClocksInSync',
      message: /^All 3 measured clock\(s\) are within 30s of the cluster's time \(the median of 3 agreeing clock\(s\)\)\.$/,
    },
  ]);
});

test('the first rule that applies decides', () => {
  assert.equal(
    clockRules.map((rule) => rule.name),
    ['noClockData', 'clocksSkewed', 'operatorClockSkewed', 'clocksInSync'],
  );
  const rows: [string, ClockFacts, string][] = [
    ['nothing measured, operator skewed', facts({ measured: 0, operatorSkewed: true, operatorOffsetMs: 60_000 }), 'NoClockData'],
    ['a clock and the operator skewed', facts({ skewed: [kasBehind], operatorSkewed: true, operatorOffsetMs: 60_000 }), 'ClockSkewDetected'],
    ['only the operator skewed', facts({ operatorSkewed: true, operatorOffsetMs: 60_000 }), 'OperatorClockSkewed'],
    ['all in sync', facts(), 'ClocksInSync'],
  ];
  for (const [what, input, reason] of rows) assert.is(decideClockSynchronized(input).reason, reason, what);
});

test('findings: one per skewed clock, plus the operator when it is skewed', () => {
  const rows: [string, ClockFacts, string[]][] = [
    ['in sync', facts(), []],
    ['a skewed API server', facts({ skewed: [kasBehind] }), ['apiserver/kas-b']],
    [
      'and the operator',
      facts({ skewed: [kasBehind, nodeAhead], operatorSkewed: true, operatorOffsetMs: 60_000 }),
      ['apiserver/kas-b', 'node/node-c', 'operator'],
    ],
  ];
  for (const [what, input, subjects] of rows) {
    const findings = clockFindings(input);
    assert.equal(
      findings.map((finding) => finding.subject),
      subjects,
      what,
    );
    assert.ok(
      findings.every((finding) => finding.health === 'action'),
      what,
    );
  }
  assert.match(
    clockFindings(facts({ skewed: [kasBehind] }))[0]?.message ?? '',
    /^clock behind by 2m0s \(vs the cluster's time, the median of 3 agreeing clock\(s\)\); fix/,
  );
});

test('warm-up: the last report stands only while samples are too few', () => {
  const lastCondition = { type: 'ClockSynchronized', status: 'True' as const, reason: 'ClocksInSync', message: 'All 2 measured clock(s) are in sync.' };
  const lastSummary = { measured: 2 };
  const rows: [string, Parameters<typeof heldReport>[0], Record<string, unknown> | undefined, boolean][] = [
    ['warming up, no samples', { offsets: [], warmingUp: true, lastCondition }, lastSummary, true],
    ['warming up, too few samples', { offsets: [clock('node', 'a', 200, 1)], warmingUp: true, lastCondition }, lastSummary, true],
    ['warming up, enough samples', { offsets: [clock('node', 'a', 200, 3)], warmingUp: true, lastCondition }, lastSummary, false],
    ['warm-up over', { offsets: [], warmingUp: false, lastCondition }, lastSummary, false],
    ['nothing reported before', { offsets: [], warmingUp: true }, undefined, false],
  ];
  for (const [what, observation, summary, held] of rows) {
    const report = heldReport(observation, summary);
    assert.is(report !== undefined, held, what);
    if (report) assert.equal(report, { conditions: [lastCondition], findings: [], summary: lastSummary }, what);
  }
});

test('status shows at most five clocks, steady within a second, in a stable order', () => {
  const worst = [
    clock('node', 'a', -0.4),
    clock('node', 'b', 0.6),
    clock('node', 'c', 10),
    clock('node', 'd', 2),
    clock('node', 'e', 3),
    clock('node', 'f', 4),
  ];
  const shown = steadyWorst(worst, {
    worst: [
      { kind: 'node', name: 'a', offsetSeconds: 0 },
      { kind: 'node', name: 'c', offsetSeconds: 9 },
    ],
  });
  assert.equal(
    shown.map((entry) => `${entry.name}${entry.offsetSeconds}`),
    ['c10', 'f4', 'e3', 'd2', 'b1'],
    'c moved by a second: shown anew; a kept at 0 and dropped (sixth)',
  );
  assert.equal(
    steadyWorst([clock('node', 'b', 0.2), clock('node', 'a', 0.3)], undefined).map((entry) => entry.name),
    ['a', 'b'],
    'ties by name',
  );
  // Seven clocks at about one second: the five shown stay shown while the other two jitter across 0.5 s.
  const jitter = (g: number, f: number): ClockOffset[] => [
    ...['a', 'b', 'c', 'd', 'e'].map((n) => clock('node', n, 0.7)),
    clock('node', 'f', 0.5 + g),
    clock('node', 'g', 0.5 + f),
  ];
  const shownBefore = ['c', 'd', 'e', 'f', 'g'];
  for (const [g, f] of [
    [-0.1, -0.1],
    [0.2, 0.3],
  ] as const) {
    assert.equal(
      steadyWorst(jitter(g, f), { worst: shownBefore.map((name) => ({ kind: 'node', name, offsetSeconds: 1 })) }).map((entry) => entry.name),
      shownBefore,
      'clocks not shown (a, b) do not take the place of shown ones at the same second',
    );
  }
});

test.run();
