import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { ClockEstimator, median, recentMedian, relativeToCluster, WINDOW } from '../../../src/areas/clock/estimator.ts';
import { planClock } from '../../../src/areas/clock/plan.ts';
import { clockCaches, NODE_LEASE_POLL_MS, nodeLeasePollMs, POLL_MS_PER_LEASE, serverStampMs } from '../../../src/areas/clock/caches.ts';
import { clockArea, RECHECK_MS, reusingPlan, WARM_UP_RECHECK_MS, type PlanMemo } from '../../../src/areas/clock/index.ts';
import { createObserver, observedClocks } from '../../../src/areas/clock/observe.ts';
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

test("a node's window is 5 samples, an API server's 7", () => {
  const e = new ClockEstimator();
  for (let i = 0; i < 10; i++) {
    e.record('node', 'n', i, 1000);
    e.record('apiserver', 'a', i, 1000);
  }
  const samples = Object.fromEntries(e.offsets(1000).map((o) => [o.kind, o.samples]));
  assert.equal(samples, { node: WINDOW.node, apiserver: WINDOW.apiserver });
  assert.equal(WINDOW, { node: 5, apiserver: 7 });
});

test('node Leases are listed every 10 s, and less often past 666 of them: the cost of polling does not grow with the cluster', () => {
  assert.is(nodeLeasePollMs(3), NODE_LEASE_POLL_MS);
  assert.is(nodeLeasePollMs(666), NODE_LEASE_POLL_MS);
  assert.is(nodeLeasePollMs(2000), 30_000);
  assert.is(nodeLeasePollMs(5000), 75_000);
  for (const n of [1000, 2000, 5000, 20_000]) assert.ok(n / (nodeLeasePollMs(n) / 1000) <= 1000 / POLL_MS_PER_LEASE, `${n} Leases`);
});

test('a sample moving a clock across the line the last reconcile judged by wakes a reconcile; other renewals do not', () => {
  const e = new ClockEstimator();
  const caches = clockCaches(
    e,
    () => 0,
    () => 0,
  );
  const lease = (name: string, renewMs: number, serverMs: number) => ({ metadata: { name, namespace: 'kube-node-lease' }, renewMs, serverMs });
  const renew = (name: string, offsetMs: number, at: number): boolean => {
    const obj = lease(name, at + offsetMs + 500, at);
    caches.nodeLeases.onEvent?.('update', obj, undefined);
    return caches.nodeLeases.relevant?.('update', obj, undefined) ?? true;
  };
  assert.is(renew('a', 0, 1_000), false, 'nothing judged yet: the first reconcile comes anyway');
  e.judgedBy({ serverClockMs: 0, centreMs: 0, maxSkewMs: 30_000, skewed: new Set() });
  assert.is(renew('a', 0, 11_000), false, 'an ordinary renewal');
  assert.is(renew('a', 120_000, 21_000), false, 'one sample of three does not move the median');
  assert.is(renew('a', 120_000, 31_000), true, 'most recent samples beyond 30s: its verdict changes');
  e.judgedBy({ serverClockMs: 0, centreMs: 0, maxSkewMs: 30_000, skewed: new Set(['node/a']) });
  assert.is(renew('a', 120_000, 41_000), false, 'judged skewed, still skewed');
  assert.is(e.crossed('node', 'unknown'), false);
  e.judgedBy({ serverClockMs: -100_000, centreMs: 0, maxSkewMs: 30_000, skewed: new Set(['node/a']) });
  assert.is(e.crossed('node', 'a'), true, "a node's offset is put on the operator's scale through the API servers' clock");
  assert.is(caches.nodeLeases.relevant?.('delete', lease('a', 0, 0), undefined), true, 'a node gone changes what is measured');
});

test('the area rechecks every minute, every 10 s while warming up (a held verdict waits for samples, not for an event)', () => {
  const area = clockArea(() => 0);
  const spec = resolveSpec({});
  const offsets = [{ kind: 'node' as const, name: 'a', offsetMs: 0, samples: 1, lastSeenMs: 0 }];
  assert.is(area.plan(spec, { offsets, warmingUp: true }, undefined).requeueAfterMs, WARM_UP_RECHECK_MS);
  assert.is(area.plan(spec, { offsets, warmingUp: false }, undefined).requeueAfterMs, RECHECK_MS);
  assert.equal([WARM_UP_RECHECK_MS, RECHECK_MS], [10_000, 60_000]);
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

test('a reconcile woken by something else reuses the offsets until a clock moves or one goes stale; only changed gauges are set, gone ones removed', async () => {
  const clock = new TestClock();
  const estimator = new ClockEstimator();
  const observe = createObserver(
    estimator,
    clockCaches(
      estimator,
      () => 0,
      () => 0,
    ),
    0,
    observedClocks(),
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
  const gauges = async (): Promise<string[]> => (await metrics.clockOffset.get()).values.map((v) => `${v.labels.kind}/${v.labels.name}`).sort();
  estimator.record('node', 'a', 1000, clock.now().getTime());
  estimator.record('node', 'b', 1000, clock.now().getTime());
  const first = await observe(run);
  assert.is(sets, 2, 'the first observation publishes both offsets');
  clock.advance(estimator.staleAfterMs - 60_000);
  const again = await observe(run);
  assert.is(again.offsets, first.offsets, 'nothing recorded, nobody stale: the same offsets');
  assert.equal(first.cluster, { maxSkewMs: 30_000, clocks: relativeToCluster(first.offsets, 30_000) }, 'and their cluster-relative form, for the plan');
  assert.is(again.cluster?.clocks, first.cluster?.clocks, 'computed once per offsets');
  assert.is(sets, 2, 'and no metric set again');
  estimator.record('node', 'a', 1000, clock.now().getTime());
  const renewed = await observe(run);
  assert.is.not(renewed.offsets, first.offsets, 'a renewal recorded: computed again');
  assert.is(sets, 2, 'the same offsets: no gauge set');
  estimator.record('node', 'a', 3000, clock.now().getTime());
  estimator.record('node', 'a', 3000, clock.now().getTime());
  const moved = await observe(run);
  assert.is(moved.offsets.find((o) => o.name === 'a')?.offsetMs, 3000, 'most recent samples moved');
  assert.ok(sets > 2, 'a moved clock is published');
  assert.equal(await gauges(), ['node/a', 'node/b']);
  clock.advance(60_001);
  const later = await observe(run);
  assert.is.not(later.offsets, moved.offsets, 'b went stale: computed again');
  assert.equal(
    later.offsets.map((o) => o.name),
    ['a'],
  );
  assert.equal(await gauges(), ['node/a'], "b's gauge removed");
});

test('the plan judges by the cluster clocks observe computed for its maxSkew, and computes them itself otherwise; nothing is memoized behind it', () => {
  const offsets = [
    { kind: 'apiserver' as const, name: 'kas', offsetMs: 0, samples: 3, lastSeenMs: 0 },
    { kind: 'node' as const, name: 'a', offsetMs: 1000, samples: 3, lastSeenMs: 0 },
  ];
  const spec = resolveSpec({});
  const computed = relativeToCluster(offsets, spec.clock.maxSkewMs);
  assert.is.not(relativeToCluster(offsets, spec.clock.maxSkewMs), computed, 'a pure function: computed again, not remembered per array');
  // What observe handed over is what is judged: a node put 2m ahead on the cluster's scale.
  const handed = { ...computed, subjects: computed.subjects.map((o) => (o.name === 'a' ? { ...o, offsetMs: 120_000 } : o)) };
  const judged = planClock(spec, { offsets, cluster: { maxSkewMs: spec.clock.maxSkewMs, clocks: handed } });
  assert.is(judged.conditions[0]?.reason, 'ClockSkewDetected');
  const otherSkew = planClock(spec, { offsets, cluster: { maxSkewMs: 5_000, clocks: handed } });
  assert.is(otherSkew.conditions[0]?.reason, 'ClocksInSync', 'handed over for another maxSkew: computed from the offsets');
  assert.equal(planClock(spec, { offsets, cluster: { maxSkewMs: spec.clock.maxSkewMs, clocks: computed } }), planClock(spec, { offsets }));
});

test('the clock plan answers from its last result while offsets, spec and status are the same objects', () => {
  const memo: PlanMemo = {};
  const plan = reusingPlan(memo);
  const offsets = [{ kind: 'node' as const, name: 'a', offsetMs: 1000, samples: 3, lastSeenMs: 0 }];
  const spec = resolveSpec({});
  const summary = { measured: 1 };
  const first = plan(spec, { offsets }, summary);
  assert.is(memo.last?.report, first, 'kept in the memo the wiring passed in');
  assert.is(plan(resolveSpec({}), { offsets }, summary), first, 'same inputs (a spec resolved again): the same report');
  assert.is.not(reusingPlan({})(spec, { offsets }, summary), first, 'another memo: planned afresh');
  assert.is.not(plan(spec, { offsets: [...offsets] }, summary), first, 'new offsets: planned again');
  const fresh = plan(spec, { offsets }, { measured: 1 });
  assert.is.not(fresh, first, 'status written since: planned again');
  assert.is.not(plan(resolveSpec({ clock: { maxSkew: '5s' } }), { offsets }, { measured: 1 }), fresh, 'another maxSkew: planned again');
  assert.equal(plan(spec, { offsets }, summary), planClock(spec, { offsets }, summary), 'and the answer is what planClock gives');
});

test.run();
