// The controller's retry per cause, with a scripted reconcile (pure logic: no cluster).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { Controller } from '../../../src/runtime/controller.ts';
import type { Logger } from '../../../src/runtime/log.ts';

const test = suite('controller retry');

interface Line {
  level: string;
  message: string;
}
function recordingLogger(lines: Line[]): Logger {
  const log = {
    child: () => log,
    error: (message: string) => {
      lines.push({ level: 'error', message });
    },
    warn: (message: string) => {
      lines.push({ level: 'warn', message });
    },
    info: (message: string) => {
      lines.push({ level: 'info', message });
    },
    debug: (message: string) => {
      lines.push({ level: 'debug', message });
    },
  };
  return log as unknown as Logger;
}
const conflict = new KubeApiError({
  status: 409,
  reason: 'Conflict',
  message: 'the object has been modified',
  method: 'PUT',
  path: '/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status',
});
const refused = new KubeApiError({ status: 0, reason: 'NetworkError', message: 'connect ECONNREFUSED', method: 'GET', path: '/api/v1/nodes' });

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
