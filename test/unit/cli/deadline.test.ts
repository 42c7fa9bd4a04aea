// The one-shot commands' deadline and their one-line errors.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { DeadlineExceeded, MAX_ERROR_CHARS, parseTimeout, shortError, withDeadline } from '../../../src/cli/deadline.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';

const test = suite('cli deadline');
const server = 'https://127.0.0.1:6443';

test("kubectl's --request-timeout forms: seconds, Go durations, 0 for no limit", () => {
  assert.is(parseTimeout('5', '--request-timeout'), 5000);
  assert.is(parseTimeout('2s', '--timeout'), 2000);
  assert.is(parseTimeout('1m30s', '--timeout'), 90_000);
  assert.is(parseTimeout('0', '--timeout'), 0);
  assert.throws(() => parseTimeout('soon', '--timeout'), /--timeout: "soon" is not a duration/);
});

test('work that never settles is cut at the deadline, its signal aborted, the error naming the server', async () => {
  let seen: AbortSignal | undefined;
  const started = Date.now();
  const err = await withDeadline(150, server, (signal) => {
    seen = signal;
    return new Promise<never>(() => undefined);
  }).catch((e: unknown) => e);
  assert.instance(err, DeadlineExceeded);
  assert.ok(Date.now() - started < 1000, 'settled at the deadline');
  assert.ok(seen?.aborted, 'the work was told to stop');
  assert.match((err as Error).message, `no answer from the API server at ${server} within 0.15s`);
  assert.is(await withDeadline(0, server, () => Promise.resolve(7)), 7, '0: no limit');
});

test('errors are one short line; an unreachable server is named with the network cause only', () => {
  const refused = new KubeApiError({
    status: 0,
    reason: 'NetworkError',
    method: 'GET',
    path: '/version',
    message: 'fetch failed (connect ECONNREFUSED 127.0.0.1:6443)',
    cause: Object.assign(new TypeError('fetch failed'), { cause: new Error('connect ECONNREFUSED 127.0.0.1:6443') }),
  });
  assert.is(shortError(refused, server), `cannot reach the API server at ${server}: connect ECONNREFUSED 127.0.0.1:6443`);
  const long = shortError(new Error(`a\n${'x'.repeat(2000)}`), server);
  assert.ok(long.length <= MAX_ERROR_CHARS && !long.includes('\n'), long);
});

test.run();
