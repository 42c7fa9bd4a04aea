// The controller's retry per cause, with a scripted reconcile (pure logic: no cluster).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { Controller } from '../../../src/runtime/controller.ts';
import { apiError } from '../../support/builders.ts';
import { withFakeTime } from '../../support/fake-time.ts';
import { recordingLogger, type LogLine as Line } from '../../support/memory-client.ts';

const test = suite('controller retry');

const conflict = apiError(409, 'the object has been modified', { method: 'PUT', path: '/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status' });
const refused = apiError(0, 'connect ECONNREFUSED', { path: '/api/v1/nodes' });

/** Runs the controller on fake time until `until` reconciles (or 5 s of fake time); each call's fake instant in ms. */
function runScript(script: unknown[], until: number): Promise<{ calls: number[]; lines: Line[] }> {
  return withFakeTime(async (clock) => {
    const lines: Line[] = [];
    const calls: number[] = [];
    const controller = new Controller({
      name: 't',
      log: recordingLogger(lines),
      reconcile: () => {
        calls.push(Date.now());
        const step = script[calls.length - 1];
        if (step instanceof Error) return Promise.reject(step);
        return Promise.resolve(undefined);
      },
    });
    controller.start();
    controller.queue.add('cluster');
    for (let ms = 0; calls.length < until && ms < 5000; ms++) await clock.advance(1);
    await controller.stop();
    return { calls, lines };
  });
}

test('a conflict is retried at once and logged at debug only', async () => {
  const { calls, lines } = await runScript([conflict, conflict, undefined], 3);
  assert.equal(calls, [0, 0, 0], 'retried at once (fake ms of each reconcile)');
  assert.equal(
    lines.filter((l) => l.level !== 'debug' && /conflict|failed/i.test(l.message)),
    [],
  );
});

test('a network failure backs off and is logged once as an error, its retries at debug', async () => {
  const { calls, lines } = await runScript([refused, refused, refused, undefined], 4);
  assert.equal(calls, [0, 5, 15, 35], 'after 5, 10 and 20 ms of backoff (fake ms of each reconcile)');
  assert.is(lines.filter((l) => l.level === 'error').length, 1);
  assert.is(lines.filter((l) => l.message === 'reconcile failed again; will retry').length, 2);
});

test.run();
