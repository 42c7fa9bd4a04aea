// The controller's retry per cause, with a scripted reconcile (pure logic: no cluster).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Controller } from '../../../src/runtime/controller.ts';
import { apiError } from '../../support/builders.ts';
import { recordingLogger, type LogLine as Line } from '../../support/memory-client.ts';

const test = suite('controller retry');

const conflict = apiError(409, 'the object has been modified', { method: 'PUT', path: '/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status' });
const refused = apiError(0, 'connect ECONNREFUSED', { path: '/api/v1/nodes' });

async function runScript(script: unknown[], until: number): Promise<{ calls: number[]; lines: Line[] }> {
  const lines: Line[] = [];
  const calls: number[] = [];
  const started = Date.now();
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const controller = new Controller({
    name: 't',
    log: recordingLogger(lines),
    reconcile: () => {
      calls.push(Date.now() - started);
      const step = script[calls.length - 1];
      if (calls.length >= until) done();
      if (step instanceof Error) return Promise.reject(step);
      return Promise.resolve(undefined);
    },
  });
  controller.start();
  controller.queue.add('cluster');
  const timer = setTimeout(done, 5000);
  await finished;
  clearTimeout(timer);
  await controller.stop();
  return { calls, lines };
}

test('a conflict is retried at once and logged at debug only', async () => {
  const { calls, lines } = await runScript([conflict, conflict, undefined], 3);
  assert.is(calls.length, 3);
  assert.ok((calls[2] ?? Infinity) < 200, `retried at once (${calls.join(', ')} ms)`);
  assert.equal(
    lines.filter((l) => l.level !== 'debug' && /conflict|failed/i.test(l.message)),
    [],
  );
});

test('a network failure backs off and is logged once as an error, its retries at debug', async () => {
  const { calls, lines } = await runScript([refused, refused, refused, undefined], 4);
  assert.is(calls.length, 4);
  assert.is(lines.filter((l) => l.level === 'error').length, 1);
  assert.is(lines.filter((l) => l.message === 'reconcile failed again; will retry').length, 2);
});

test.run();
