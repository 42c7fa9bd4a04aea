import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { settleBounded } from '../../../src/runtime/bounded.ts';
import { withFakeTime } from '../../support/fake-time.ts';

const test = suite('settleBounded');

test('keeps at most the limit in flight, starts the next as soon as one ends, and keeps the order of results', () =>
  withFakeTime(async (clock) => {
    let inFlight = 0;
    let most = 0;
    const ended: string[] = [];
    // The first item is slow: in fixed batches of 2 it would hold back the third until it ends.
    const items = [
      { id: 'slow', ms: 40 },
      { id: 'b', ms: 1 },
      { id: 'c', ms: 1 },
      { id: 'd', ms: 1 },
    ];
    const settled = settleBounded(items, 2, async ({ id, ms }) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, ms));
      inFlight--;
      ended.push(id);
      return id.toUpperCase();
    });
    await clock.advance(3);
    assert.equal(ended, ['b', 'c', 'd'], 'after 3 ms (fake time): the others ran through the second slot while the slow one held the first');
    await clock.advance(37);
    const results = await settled;
    assert.is(most, 2);
    assert.equal(ended, ['b', 'c', 'd', 'slow']);
    assert.equal(
      results.map((r) => (r?.status === 'fulfilled' ? r.value : r?.status)),
      ['SLOW', 'B', 'C', 'D'],
    );
  }));

test('settles failures without stopping the others', async () => {
  const results = await settleBounded(['a', 'bad', 'c'], 2, async (x) => {
    await Promise.resolve();
    if (x === 'bad') throw new Error('refused');
    return x;
  });
  assert.equal(
    results.map((r) => (r?.status === 'fulfilled' ? r.value : ((r?.reason as Error | undefined)?.message ?? 'not started'))),
    ['a', 'refused', 'c'],
  );
});

test('starts nothing more once the signal is aborted; those results are undefined', async () => {
  const stop = new AbortController();
  const results = await settleBounded(
    [1, 2, 3, 4],
    1,
    async (x) => {
      await Promise.resolve();
      if (x === 2) stop.abort();
      return x;
    },
    stop.signal,
  );
  assert.equal(
    results.map((r) => r?.status),
    ['fulfilled', 'fulfilled', undefined, undefined],
  );
  assert.equal(await settleBounded([], 4, () => Promise.resolve(1)), [], 'nothing to do');
});

test.run();
