// Events said once per change: recordChange writes an Event only when the message differs from the
// last one recorded for the same object, type and reason (a dry run's plan, reconciled every minute).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { EventRecorder } from '../../../src/runtime/events.ts';
import { MemoryClient, TestClock } from '../../support/memory-client.ts';

const test = suite('EventRecorder');
const policy = { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', name: 'cluster' };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

test('recordChange: one Event per change of message, none for a repeat, however often it is called', async () => {
  const clock = new TestClock('2026-06-01T00:00:00Z', 0);
  const client = new MemoryClient(clock.now);
  const events = new EventRecorder(client.asKubeClient(), silent as never);
  for (let i = 0; i < 5; i++) await events.recordChange(policy, 'Normal', 'DryRun', 'would rotate 1 secret(s) in place: apps/a (InvalidToken)');
  await events.recordChange(policy, 'Normal', 'DryRun', 'would rotate 2 secret(s) in place: apps/a (InvalidToken), apps/b (InvalidToken)');
  await events.recordChange(policy, 'Normal', 'DryRun', 'would rotate 2 secret(s) in place: apps/a (InvalidToken), apps/b (InvalidToken)');
  assert.is(client.callsOf('create', '/events').length, 2, 'two plans, two Events');
  assert.is(client.callsOf('mergePatch', '/events').length, 0, 'a repeat bumps no count');
  // record() still aggregates repeats into a count, as client-go's correlator does.
  await events.record(policy, 'Warning', 'ActionFailed', 'could not restart deployment apps/web');
  await events.record(policy, 'Warning', 'ActionFailed', 'could not restart deployment apps/web');
  assert.is(client.callsOf('mergePatch', '/events').length, 1);
});

test.run();
