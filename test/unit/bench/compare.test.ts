import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { addRatios, runStats } from '../../../bench/compare.ts';
import { formatSpread, spread } from '../../../bench/stats.ts';
import type { ContenderResult } from '../../../bench/report.ts';
import type { RotationResult } from '../../../bench/rotation.ts';

const test = suite('bench comparisons: ratios within a run, median and spread over runs');

const rotation = (seconds: number, requests: number, cpuSeconds: number): NonNullable<ContenderResult['rotation']> => ({
  ...({ finished: true, seconds, secrets: 1, secretsReissued: 1, secretsAuthenticated: 1, dependents: 1, restartedOnce: 1 } as RotationResult),
  restartedMoreThanOnce: 0,
  notRestarted: 0,
  extraRollouts: 0,
  requests: { total: requests, byVerbResource: {}, byUserAgent: {}, failed: 0 },
  cpuSeconds,
});

const run = (op: [number, number, number, number], floor: [number, number, number, number], reloader?: [number, number, number, number]) => ({
  operator: { rotation: rotation(op[0], op[1], op[2]), peakRssMiB: op[3] } as ContenderResult,
  floor: { rotation: rotation(floor[0], floor[1], floor[2]), peakRssMiB: floor[3] } as ContenderResult,
  ...(reloader ? { reloader: { rotation: rotation(reloader[0], reloader[1], reloader[2]), peakRssMiB: reloader[3] } as ContenderResult } : {}),
});

test('spread: median (middle two averaged), lowest, highest; undefined and NaN left out', () => {
  assert.equal(spread([3, 1, 2]), { median: 2, min: 1, max: 3, n: 3 });
  assert.equal(spread([4, undefined, 1, 2, 3, Number.NaN]), { median: 2.5, min: 1, max: 4, n: 4 });
  assert.is(spread([undefined]), undefined);
  assert.is(formatSpread(spread([1.234])), '1.23');
  assert.is(formatSpread(spread([1, 5, 2])), '2 (1–5, 3 runs)');
  assert.is(formatSpread(undefined), '–');
});

test("ratios are the operator's to each contender of the same run, a missing contender none", () => {
  const r = run([110, 300, 20, 120], [100, 100, 5, 100]);
  addRatios(r);
  assert.equal(r.operator.ratioToFloor, { requests: 3, seconds: 1.1, peakRss: 1.2, cpu: 4 });
  assert.is(r.operator.ratioToReloader, undefined);
  // anonymous memory (RssAnon): a ratio only where both have the figure
  r.operator.peakAnonMiB = 45;
  r.floor.peakAnonMiB = 30;
  addRatios(r);
  assert.is(r.operator.ratioToFloor?.peakAnon, 1.5);
});

test('over runs, each ratio is taken within its run before the median: not a ratio of medians', () => {
  // run 1: operator slow on a slow run; run 2: both fast. Within-run ratios 1.0 and 1.0;
  // medians of the raw figures would give 100/55 ≈ 1.82 in neither run.
  const runs = [run([200, 300, 20, 120], [200, 100, 5, 100]), run([10, 300, 20, 120], [10, 100, 5, 100])];
  for (const r of runs) addRatios(r);
  const stats = runStats(runs);
  assert.equal(stats.operator?.timeToFloor, { median: 1, min: 1, max: 1, n: 2 });
  assert.equal(stats.operator?.rotationSeconds, { median: 105, min: 10, max: 200, n: 2 });
  assert.equal(stats.floor?.requests, { median: 100, min: 100, max: 100, n: 2 });
  assert.is(stats.floor?.timeToFloor, undefined);
});

test('an unfinished rotation has no rotation time to summarise, and a failed run is left out', () => {
  const a = run([100, 300, 20, 120], [90, 100, 5, 100]);
  const b = run([100, 300, 20, 120], [90, 100, 5, 100]);
  (b.operator.rotation as { finished: boolean }).finished = false;
  const c = { operator: { error: 'rotation: boom' } as ContenderResult };
  const stats = runStats([a, b, c]);
  assert.equal(stats.operator?.rotationSeconds, { median: 100, min: 100, max: 100, n: 1 });
  assert.is(stats.operator?.requests?.n, 2);
});

test.run();
