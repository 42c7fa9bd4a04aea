import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { SAMPLE_MS, statOf } from '../../../src/runtime/event-loop-delay.ts';
import { Metrics } from '../../../src/runtime/metrics.ts';

const test = suite('event-loop delay');

const fake = (valuesMs: number[]): Parameters<typeof statOf>[0] => {
  const ns = valuesMs.map((v) => v * 1e6).sort((a, b) => a - b);
  const mean = ns.reduce((a, b) => a + b, 0) / Math.max(1, ns.length);
  return {
    count: ns.length,
    min: ns[0] ?? NaN,
    max: ns.at(-1) ?? NaN,
    mean,
    stddev: Math.sqrt(ns.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ns.length)),
    percentile: (p: number) => ns[Math.min(ns.length - 1, Math.ceil((p / 100) * ns.length) - 1)] ?? NaN,
  };
};

test('the gauges report the delay beyond the sampling interval, never below 0, and 0 for an empty window', () => {
  const h = fake([50.2, 50.1, 49.9, 80, 450]);
  assert.is(statOf(h, 'max', 50), 0.4);
  assert.is(statOf(h, 'min', 50), 0);
  assert.ok(Math.abs(statOf(h, 'p50', 50) - 0.0002) < 1e-9);
  assert.ok(Math.abs(statOf(h, 'p90', 50) - 0.4) < 1e-9);
  assert.is(statOf(fake([]), 'p99', 50), 0);
  assert.is(statOf(fake([]), 'stddev', 50), 0);
});

test('a blocked event loop shows in the p99 and max gauges, one series each, and the next scrape starts a new window', async () => {
  const m = new Metrics();
  const gauge = async (name: string): Promise<number[]> =>
    (await m.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith(`nodejs_eventloop_lag_${name}_seconds `))
      .map((l) => Number(l.split(' ')[1]));
  // Let the sampler see one interval, then open a window and block the loop for 300 ms.
  await new Promise((r) => setTimeout(r, SAMPLE_MS * 3));
  await m.registry.metrics();
  await new Promise((r) => setTimeout(r, SAMPLE_MS * 2));
  const t0 = Date.now();
  while (Date.now() - t0 < 300) {
    // busy: the sampler's timer cannot run
  }
  // Wait (with a deadline) until the sampler's late wake-up has been recorded.
  let max: number[] = [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    max = await gauge('max');
    if ((max[0] ?? 0) >= 0.2) break;
  }
  assert.is(max.length, 1);
  assert.ok((max[0] ?? 0) >= 0.2, `max ${max[0]} after a 300 ms block`);
  // That scrape closed the window: the next one, without a block, holds less.
  await new Promise((r) => setTimeout(r, SAMPLE_MS * 4));
  const after = await gauge('max');
  assert.ok((after[0] ?? 1) < (max[0] ?? 0), `max ${after[0]} in the next window`);
});

test.run();
