import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { Condition } from '../../../src/api/conditions.ts';
import type { AuthPolicy } from '../../../src/api/types.ts';
import { formatPolicy, formatStatus, humanAge, statusDocument, statusExitCode } from '../../../src/cli/status.ts';
import { authPolicy, condition } from '../../support/builders.ts';

const test = suite('status format');
const now = new Date('2026-01-01T12:00:00Z');
const ago = (s: number): string => new Date(now.getTime() - s * 1000).toISOString();
const cond = (type: string, status: Condition['status'], reason: string, message: string, age = 30): Condition =>
  condition(type, status, reason, message, { lastTransitionTime: ago(age), observedGeneration: 2 });
const policy = (generation: number, status?: AuthPolicy['status']): AuthPolicy => authPolicy({ generation, ...(status ? { status } : {}) });

const ready = policy(2, {
  observedGeneration: 2,
  // written out of order on purpose: Ready must come first
  conditions: [
    cond('ClockSynchronized', 'True', 'ClocksInSync', '2 clock(s) within 30s', 400),
    cond('Ready', 'True', 'AllAreasReady', 'every managed area is in its desired state', 45),
    cond('NodeAuthorizationReady', 'True', 'NodeAuthorizer', 'the Node\nauthorizer works', 7300),
  ],
  nodeAuthorization: {
    authorizer: 'Node',
    kubeletsAuthorized: true,
    nodes: 1,
    notReadyNodes: 0,
    legacyBinding: { state: 'absent', subjects: [] },
    probedNodes: ['a'],
  },
  clock: { maxSkew: '30s', measured: 2, skewed: 0, worst: [{ name: 'x' }] },
});

test('conditions come as a table, Ready first, with kubectl-style ages and one-line messages', () => {
  const out = formatPolicy(ready, now);
  const lines = out.split('\n');
  assert.is(lines[0], 'AuthPolicy cluster   generation 2, observed 2');
  assert.match(lines[2] ?? '', /^TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE$/);
  assert.match(lines[3] ?? '', /^Ready\s+True\s+AllAreasReady\s+45s\s+every managed area/);
  assert.match(lines[4] ?? '', /^NodeAuthorizationReady\s+True\s+NodeAuthorizer\s+121m\s+the Node authorizer works$/);
  assert.match(lines[5] ?? '', /^ClockSynchronized\s+True\s+ClocksInSync\s+6m40s\s+/);
  // columns line up
  assert.is(lines[3]?.indexOf('True'), lines[2]?.indexOf('STATUS'));
});

test('a short line per area with the scalar fields only', () => {
  const out = formatPolicy(ready, now);
  assert.match(out, /AREA\s+SUMMARY/);
  assert.match(out, /nodeAuthorization\s+authorizer=Node kubeletsAuthorized=true nodes=1 notReadyNodes=0 legacyBinding\.state=absent\n/);
  assert.match(out, /clock\s+maxSkew=30s measured=2 skewed=0$/);
  assert.not.match(out, /legacyTokens|worst|probedNodes/);
});

test('exit 0 only when Ready=True for the current generation', () => {
  assert.is(statusExitCode([ready]), 0);
  assert.match(formatStatus([ready], now), /\n\nready \(exit 0\)$/);
  const notReady = policy(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'AreasNotReady', 'x')] });
  assert.is(statusExitCode([notReady]), 1);
  assert.is(statusExitCode([ready, notReady]), 1, 'one policy not ready fails the lot');
  assert.match(formatStatus([ready, notReady], now), /not ready \(exit 1\)$/);
});

test('no status, or status for an older generation, is "not yet observed" and exit 1', () => {
  const none = policy(1);
  assert.match(formatPolicy(none, now), /^AuthPolicy cluster {3}generation 1, observed -: not yet observed by the operator \(no status\)/);
  assert.is(formatPolicy(none, now).split('\n').length, 1, 'no empty tables');
  assert.is(statusExitCode([none]), 1);
  const stale = { ...ready, metadata: { ...ready.metadata, generation: 3 } };
  assert.match(formatPolicy(stale, now), /generation 3, observed 2: not yet observed by the operator: status is for generation 2/);
  assert.is(statusExitCode([stale]), 1, 'Ready=True for an older spec does not count');
});

test('the machine view carries the verdict, conditions and every area summary', () => {
  const doc = statusDocument([ready]) as { exitCode: number; policies: Record<string, unknown>[] };
  assert.is(doc.exitCode, 0);
  const p = doc.policies[0] ?? {};
  assert.is(p.name, 'cluster');
  assert.is(p.observed, true);
  assert.is(p.ready, true);
  assert.is((p.conditions as unknown[]).length, 3);
  assert.equal((p.clock as { worst: unknown }).worst, [{ name: 'x' }]);
  const none = statusDocument([policy(1)]) as { policies: Record<string, unknown>[] };
  assert.equal(none.policies[0], { name: 'cluster', generation: 1, observedGeneration: undefined, observed: false, ready: false, conditions: [] });
});

test('humanAge follows kubectl (apimachinery HumanDuration)', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [119, '119s'],
    [120, '2m'],
    [200, '3m20s'],
    [600, '10m'],
    [179 * 60, '179m'],
    [3 * 3600, '3h'],
    [7 * 3600 + 60, '7h1m'],
    [47 * 3600, '47h'],
    [2 * 86400 + 3600, '2d1h'],
    [30 * 86400, '30d'],
    [800 * 86400, '2y70d'],
    [9 * 365 * 86400, '9y'],
  ];
  for (const [s, want] of cases) assert.is(humanAge(ago(s), now), want, `${s}s`);
  assert.is(humanAge(undefined, now), '<unknown>');
  assert.is(humanAge(new Date(now.getTime() + 5000).toISOString(), now), '<invalid>', 'from the future (skewed clocks)');
});

test.run();
