import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { Backoff, backoffDelay } from '../../../src/runtime/backoff.ts';

const test = suite('backoff');

test('grows exponentially and is capped', () => {
  const policy = { baseMs: 100, maxMs: 1000, factor: 2, jitter: 0 };
  assert.equal(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy)),
    [100, 200, 400, 800, 1000, 1000],
  );
});

test('jitter adds up to the given fraction and never passes the cap', () => {
  const policy = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
  assert.is(
    backoffDelay(1, policy, () => 0),
    100,
  );
  assert.is(
    backoffDelay(1, policy, () => 0.999),
    150,
  );
  assert.is(
    backoffDelay(10, policy, () => 0.999),
    1000,
  );
});

test("a server's Retry-After wins when longer; reset starts over", () => {
  const b = new Backoff({ baseMs: 100, maxMs: 1000, jitter: 0 });
  assert.is(b.next(), 100);
  assert.is(b.next(5000), 5000);
  assert.is(b.next(10), 400);
  assert.is(b.failures, 3);
  b.reset();
  assert.is(b.next(), 100);
});

test.run();
