import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { ClockEstimator, median, recentMedian } from '../../../src/areas/clock/estimator.ts';
import { planClock } from '../../../src/areas/clock/plan.ts';
import { clockCaches, serverStampMs } from '../../../src/areas/clock/caches.ts';
import { reusingPlan } from '../../../src/areas/clock/index.ts';
import { createObserver, REUSE_MS } from '../../../src/areas/clock/observe.ts';
import { Metrics } from '../../../src/runtime/metrics.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const test = suite('clock');

test('median of recent samples resists an outlier', () => {
  const e = new ClockEstimator(5);
  for (const x of [120_100, 119_900, 120_050, 5_000, 120_000]) e.record('node', 'node-b', x, 1000);
  assert.is(e.offsets(1000)[0]?.offsetMs, 120_000);
  assert.is(median([3, 1, 2, 4]), 2.5);
});

test('a clock that jumps reads its old offset, then its new one: never a midpoint', () => {
  const e = new ClockEstimator(7);
  const seen: number[] = [];
  for (const x of [0, 0, 0, 0, 120_000, 120_000, 120_000, 120_000]) {
    e.record('node', 'node-3', x, 1000);
    seen.push(e.offsets(1000)[0]?.offsetMs ?? NaN);
  }
  assert.equal(seen, [0, 0, 0, 0, 0, 0, 0, 120_000], 'the fourth of seven samples at 2m flips it');
  const young = new ClockEstimator(7);
  for (const x of [0, 0, 120_000, 120_000]) young.record('node', 'node-3', x, 1000);
  assert.is(young.offsets(1000)[0]?.offsetMs, 120_000, 'an even count: the newest three decide');
  assert.is(recentMedian([0, 120_000]), 120_000);
});

test('the window forgets old samples, and silent subjects drop out', () => {
  const e = new ClockEstimator(3, 60_000);
  for (const x of [120_000, 120_000, 120_000, 0, 0]) e.record('node', 'b', x, 1000);
  assert.is(e.offsets(1000)[0]?.offsetMs, 0, 'back in sync after a few honest renewals');
  assert.equal(e.offsets(70_000), [], 'not heard from for a minute');
});

test('skew beyond maxSkew: False naming the worst, saying what fails', () => {
  const r = planClock(resolveSpec({ clock: { maxSkew: '30s' } }), {
    offsets: [
      { kind: 'node', name: 'node-a', offsetMs: 300, samples: 5, lastSeenMs: 0 },
      { kind: 'apiserver', name: 'apiserver-real', offsetMs: 0, samples: 5, lastSeenMs: 0 },
      { kind: 'apiserver', name: 'apiserver-x', offsetMs: -120_000, samples: 5, lastSeenMs: 0 },
    ],
  });
  const [c] = r.conditions;
  assert.is(c?.status, 'False');
  assert.is(c?.reason, 'ClockSkewDetected');
  assert.match(c?.message ?? '', /apiserver apiserver-x -2m0s/);
  assert.match(c?.message ?? '', /^1 clock\(s\) off by more than 30s: apiserver apiserver-x -2m0s\. Bound .*\. Fix time sync/);
  assert.match(c?.message ?? '', /not valid yet/);
  assert.not.match(c?.message ?? '', /node-a/);
  assert.equal(
    r.findings.map((f) => f.subject),
    ['apiserver/apiserver-x'],
  );
});

test('in sync: True; no data: Unknown', () => {
  assert.is(
    planClock(resolveSpec({}), { offsets: [{ kind: 'node', name: 'a', offsetMs: 1000, samples: 3, lastSeenMs: 0 }] }).conditions[0]?.reason,
    'ClocksInSync',
  );
  assert.is(planClock(resolveSpec({}), { offsets: [] }).conditions[0]?.status, 'Unknown');
});

test('after a restart the last condition stands until every clock has enough samples', () => {
  const lastCondition = {
    type: 'ClockSynchronized',
    status: 'True' as const,
    reason: 'ClocksInSync',
    message: "All 2 measured clock(s) are within 30s of the API server's.",
  };
  const lastSummary = { maxSkew: '30s', measured: 2, skewed: 0, worst: [] };
  const spec = resolveSpec({});
  const held = planClock(spec, { offsets: [], warmingUp: true, lastCondition }, lastSummary);
  assert.equal(held.conditions, [lastCondition], 'no samples yet: held');
  assert.is(held.summary, lastSummary);
  const few = planClock(
    spec,
    { offsets: [{ kind: 'node', name: 'a', offsetMs: 200_000, samples: 1, lastSeenMs: 0 }], warmingUp: true, lastCondition },
    lastSummary,
  );
  assert.equal(few.conditions, [lastCondition], 'one sample is no evidence');
  const enough = planClock(
    spec,
    {
      offsets: [
        { kind: 'apiserver', name: 'kas', offsetMs: 0, samples: 3, lastSeenMs: 0 },
        { kind: 'node', name: 'a', offsetMs: 200_000, samples: 3, lastSeenMs: 0 },
      ],
      warmingUp: true,
      lastCondition,
    },
    lastSummary,
  );
  assert.is(enough.conditions[0]?.reason, 'ClockSkewDetected', 'three samples overturn it');
  assert.is(
    planClock(spec, { offsets: [], warmingUp: false, lastCondition }, lastSummary).conditions[0]?.reason,
    'NoClockData',
    'after the warm-up, no data is Unknown',
  );
  assert.is(planClock(spec, { offsets: [], warmingUp: true }, undefined).conditions[0]?.reason, 'NoClockData', 'nothing reported before: Unknown');
  const failed = { type: 'ClockSynchronized', status: 'Unknown' as const, reason: 'ObserveFailed', message: 'cannot read node-leases: connect ECONNREFUSED' };
  const afterFailure = planClock(
    spec,
    { offsets: [{ kind: 'apiserver', name: 'kas', offsetMs: 0, samples: 1, lastSeenMs: 0 }], warmingUp: true, lastCondition: failed },
    lastSummary,
  );
  assert.is(afterFailure.conditions[0]?.reason, 'ClocksInSync', 'a failure to observe is no verdict to hold: judged on what there is');
});

test('offsets in status move only when they change by a second or more (no status churn)', () => {
  const spec = resolveSpec({});
  // Two API servers at the cluster's time (the median), so node a's offset is its own.
  const servers = [0, 0].map((offsetMs, i) => ({ kind: 'apiserver' as const, name: `kas-${i}`, offsetMs, samples: 7, lastSeenMs: 0 }));
  const nodeA = (s: { summary: Record<string, unknown> }): unknown => (s.summary.worst as { name: string }[]).filter((w) => w.name === 'a');
  const at = (ms: number, prev?: Record<string, unknown>): unknown =>
    planClock(spec, { offsets: [...servers, { kind: 'node', name: 'a', offsetMs: ms, samples: 7, lastSeenMs: 0 }] }, prev);
  const first = at(400) as { summary: Record<string, unknown>; conditions: unknown[] };
  assert.equal(nodeA(first), [{ kind: 'node', name: 'a', offsetSeconds: 0 }]);
  const jitter = at(900, first.summary) as typeof first;
  assert.equal(jitter.summary, first.summary, 'half a second of jitter: same summary');
  assert.equal(jitter.conditions, first.conditions, 'and the same condition');
  const two = (a: number, b: number, prev?: Record<string, unknown>): Record<string, unknown> =>
    planClock(
      spec,
      {
        offsets: [
          ...servers,
          { kind: 'node', name: 'a', offsetMs: a, samples: 7, lastSeenMs: 0 },
          { kind: 'node', name: 'b', offsetMs: b, samples: 7, lastSeenMs: 0 },
        ],
      },
      prev,
    ).summary;
  const pair = two(100, 200);
  assert.equal(two(300, 100, pair), pair, 'two clocks near the same offset keep their order');
  const moved = at(2600, first.summary) as typeof first;
  assert.equal(nodeA(moved), [{ kind: 'node', name: 'a', offsetSeconds: 3 }]);
});

test("the API server's stamp is the newest managedFields entry that owns renewTime", () => {
  const stamp = serverStampMs({
    metadata: {
      name: 'n',
      namespace: 'kube-node-lease',
      managedFields: [
        { time: '2026-01-01T00:00:05Z', fieldsV1: { 'f:spec': { 'f:holderIdentity': {} } } },
        { time: '2026-01-01T00:00:10Z', fieldsV1: { 'f:spec': { 'f:renewTime': {} } } },
        { time: '2026-01-01T00:00:07Z', fieldsV1: { 'f:spec': { 'f:renewTime': {} } } },
      ],
    },
  });
  assert.is(stamp, Date.parse('2026-01-01T00:00:10Z'));
});

test('a reconcile woken by something else reuses the offsets while no clock moved (and sets no metric); a renewal or REUSE_MS recomputes them', async () => {
  const clock = new TestClock();
  const estimator = new ClockEstimator();
  const observe = createObserver(
    estimator,
    clockCaches(estimator, () => 0),
    0,
  );
  const { ctx } = memoryContext(new MemoryClient(clock.now), clock, resolveSpec({}));
  const metrics = new Metrics({ processMetrics: false });
  let sets = 0;
  const set = metrics.clockOffset.set.bind(metrics.clockOffset);
  metrics.clockOffset.set = ((...args: Parameters<typeof set>) => {
    sets++;
    set(...args);
  }) as typeof set;
  const run = { ...ctx, metrics };
  estimator.record('node', 'a', 1000, clock.now().getTime());
  const first = await observe(run);
  const setsAfterFirst = sets;
  assert.ok(setsAfterFirst > 0, 'the first observation publishes the offsets');
  clock.advance(REUSE_MS - 1000);
  const again = await observe(run);
  assert.is(again.offsets, first.offsets, 'nothing recorded since: the same offsets');
  assert.is(sets, setsAfterFirst, 'and no metric set again');
  estimator.record('node', 'a', 3000, clock.now().getTime());
  const moved = await observe(run);
  assert.is.not(moved.offsets, first.offsets, 'a renewal recorded: computed again');
  assert.is(moved.offsets[0]?.offsetMs, 3000, 'two samples: the newer');
  clock.advance(REUSE_MS);
  assert.is.not((await observe(run)).offsets, moved.offsets, 'after REUSE_MS: computed again (a subject may have gone stale)');
});

test('the clock plan answers from its last result while offsets, spec and status are the same objects', () => {
  const plan = reusingPlan();
  const offsets = [{ kind: 'node' as const, name: 'a', offsetMs: 1000, samples: 3, lastSeenMs: 0 }];
  const spec = resolveSpec({});
  const summary = { measured: 1 };
  const first = plan(spec, { offsets }, summary);
  assert.is(plan(resolveSpec({}), { offsets }, summary), first, 'same inputs (a spec resolved again): the same report');
  assert.is.not(plan(spec, { offsets: [...offsets] }, summary), first, 'new offsets: planned again');
  const fresh = plan(spec, { offsets }, { measured: 1 });
  assert.is.not(fresh, first, 'status written since: planned again');
  assert.is.not(plan(resolveSpec({ clock: { maxSkew: '5s' } }), { offsets }, { measured: 1 }), fresh, 'another maxSkew: planned again');
  assert.equal(plan(spec, { offsets }, summary), planClock(spec, { offsets }, summary), 'and the answer is what planClock gives');
});

test.run();
