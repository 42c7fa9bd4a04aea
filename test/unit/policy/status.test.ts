// Status assembly: Ready judged on every area's latest condition (also one kept
// from before), readable Ready messages, and a Conflict message that says how the
// active policy was chosen.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { Condition } from '../../../src/api/conditions.ts';
import type { AuthPolicy } from '../../../src/api/types.ts';
import { buildStatus, conflictMessage, readyCondition, statusChanges } from '../../../src/policy/status.ts';
import { authPolicy, condition } from '../../support/builders.ts';

const test = suite('policy status');
const now = new Date('2026-01-01T00:00:00Z');
const cond = (type: string, status: Condition['status'], reason: string, message = 'm'): Condition =>
  condition(type, status, reason, message, { lastTransitionTime: '2025-12-31T00:00:00Z' });
const policy = (name: string, created: string): AuthPolicy => authPolicy({ name, creationTimestamp: created });

test('an area that reports nothing new counts with its previous condition', () => {
  const previous = {
    observedGeneration: 1,
    conditions: [cond('Ready', 'False', 'AreasNotReady'), cond('ClockSynchronized', 'False', 'ClockSkewDetected', 'node a is 2m ahead')],
  };
  const reports = {
    nodeAuthorization: {
      conditions: [{ type: 'NodeAuthorizationReady', status: 'True' as const, reason: 'NodeAuthorizer', message: 'ok' }],
      summary: {},
      findings: [],
    },
    clock: { conditions: [], summary: {}, findings: [] },
  };
  const status = buildStatus(previous, reports, 2, now);
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  assert.is(ready?.status, 'False', 'the kept ClockSynchronized=False still counts');
  assert.is(ready?.message, 'Not ready: ClockSynchronized is False (ClockSkewDetected): Node a is 2m ahead.');
  assert.is(ready?.lastTransitionTime, '2025-12-31T00:00:00Z', 'no flip, no new transition time');
});

test('Ready messages are sentences, one per failing area', () => {
  const r = readyCondition([
    { type: 'A', status: 'False', reason: 'X', message: 'first thing' },
    { type: 'B', status: 'False', reason: 'Y', message: 'second thing.' },
  ]);
  assert.is(r.message, 'Not ready: A is False (X): First thing. B is False (Y): Second thing.');
  assert.is(readyCondition([{ type: 'A', status: 'Unknown', reason: 'NoClockData', message: '' }]).message, 'Not yet known: A (NoClockData).');
});

test('Conflict says whether age or name decided', () => {
  assert.match(
    conflictMessage(policy('b', '2026-01-02T00:00:00Z'), policy('a', '2026-01-01T00:00:00Z')),
    /^AuthPolicy a is the active policy because it is older \(created 2026-01-01T00:00:00Z, this one 2026-01-02T00:00:00Z\); this one takes no action\. Delete one of them \(kubectl delete authpolicy b\)\.$/,
  );
  assert.match(
    conflictMessage(policy('b', '2026-01-01T00:00:00Z'), policy('a', '2026-01-01T00:00:00Z')),
    /because both were created at 2026-01-01T00:00:00Z and "a" comes first by name/,
  );
});

test('statusChanges names what a write changes: conditions by type, summaries by field', () => {
  const cond = (type: string, message: string): Condition => ({
    type,
    status: 'True',
    reason: 'Fine',
    message,
    lastTransitionTime: '2026-01-01T00:00:00Z',
    observedGeneration: 1,
  });
  const before = { conditions: [cond('Ready', 'all good'), cond('ClockSynchronized', 'in sync')], clock: { measured: 5, worst: [] }, observedGeneration: 1 };
  const after = {
    conditions: [cond('Ready', 'all good'), cond('ClockSynchronized', 'in sync, 6 clocks')],
    clock: { measured: 6, worst: [] },
    observedGeneration: 1,
  };
  assert.equal(statusChanges(before, after), ['condition ClockSynchronized', 'status.clock.measured']);
  assert.equal(statusChanges(undefined, { observedGeneration: 1 }), ['status.observedGeneration']);
  assert.equal(statusChanges(after, after), []);
});

test.run();
