import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { withFakeTime } from '../../support/fake-time.ts';
import { WorkQueue } from '../../../src/runtime/workqueue.ts';

const test = suite('workqueue');

test('a key added many times is queued once', async () => {
  const q = new WorkQueue('t');
  q.add('a');
  q.add('a');
  q.add('b');
  q.add('a');
  assert.is(q.length, 2);
  assert.is(await q.get(), 'a');
  assert.is(await q.get(), 'b');
  assert.is(q.length, 0);
});

test('a key is never handed out twice at once; an add during processing is delivered after done()', async () => {
  const q = new WorkQueue('t');
  q.add('a');
  const first = await q.get();
  assert.is(first, 'a');
  q.add('a'); // changed while being reconciled
  assert.is(q.length, 0, 'not queued while in flight');
  let second: string | undefined;
  const waiting = q.get().then((k) => {
    second = k;
  });
  await Promise.resolve();
  assert.is(second, undefined, 'a second worker must not get the same key');
  q.done('a');
  await waiting;
  assert.is(second, 'a', 'delivered again after done');
  q.done('a');
  assert.is(q.length, 0);
});

test('per-key exponential backoff grows 5ms, 10ms, 20ms… and forget() resets it', () => {
  const q = new WorkQueue('t');
  const delays = [1, 2, 3, 4, 5].map(() => q.addRateLimited('a'));
  assert.equal(delays, [5, 10, 20, 40, 80]);
  assert.is(q.numRequeues('a'), 5);
  assert.is(q.addRateLimited('b'), 5, 'other keys have their own backoff');
  q.forget('a');
  assert.is(q.numRequeues('a'), 0);
  assert.is(q.addRateLimited('a'), 5);
  q.shutDown();
});

test('backoff is capped at 1000 s', () => {
  const q = new WorkQueue('t');
  let last = 0;
  for (let i = 0; i < 40; i++) last = q.addRateLimited('a');
  assert.is(last, 1_000_000);
  q.shutDown();
});

test('addAfter delivers later, and the earliest pending delay wins', () =>
  withFakeTime(async (clock) => {
    const q = new WorkQueue('t');
    q.addAfter('a', 10_000);
    q.addAfter('a', 30);
    q.addAfter('a', 5_000);
    let key: string | undefined;
    void q.get().then((k) => (key = k));
    await clock.advance(29);
    assert.is(key, undefined, 'not delivered before its time (29 ms of fake time)');
    await clock.advance(1);
    assert.is(key, 'a', 'delivered at 30 ms, the earliest of the three delays');
    q.done('a');
    q.shutDown();
  }));

test('low-priority resyncs wait behind real work, and real work promotes them', async () => {
  const q = new WorkQueue('t');
  q.addLowPriority('resync-1');
  q.addLowPriority('resync-2');
  q.add('urgent');
  q.add('resync-2');
  assert.is(await q.get(), 'urgent');
  assert.is(await q.get(), 'resync-2');
  assert.is(await q.get(), 'resync-1');
});

test('shutDown releases waiting workers with undefined', async () => {
  const q = new WorkQueue('t');
  const pending = q.get();
  q.shutDown();
  assert.is(await pending, undefined);
  q.add('a');
  assert.is(q.length, 0, 'adds after shutdown are ignored');
});

test('metrics hooks see adds, depth, retries and durations', async () => {
  const seen: string[] = [];
  const q = new WorkQueue('t', {
    metrics: {
      add: () => seen.push('add'),
      depth: (_n, d) => seen.push(`depth=${d}`),
      retry: () => seen.push('retry'),
      queueDuration: () => seen.push('queued'),
      workDuration: () => seen.push('worked'),
    },
  });
  q.add('a');
  await q.get();
  q.done('a');
  q.addRateLimited('a');
  assert.equal(seen.slice(0, 5), ['add', 'depth=1', 'queued', 'depth=0', 'worked']);
  assert.ok(seen.includes('retry'));
  q.shutDown();
});

test.run();
