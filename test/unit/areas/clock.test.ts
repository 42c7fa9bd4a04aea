import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { ClockEstimator, median } from '../../../src/areas/clock/estimator.ts';
import { serverStampMs } from '../../../src/areas/clock/index.ts';
import { planClock } from '../../../src/areas/clock/plan.ts';

const test = suite('clock');

test('median of recent samples resists an outlier', () => {
  const e = new ClockEstimator(5);
  for (const x of [120_100, 119_900, 120_050, 5_000, 120_000]) e.record('node', 'node-b', x, 1000);
  assert.is(e.offsets(1000)[0]?.offsetMs, 120_000);
  assert.is(median([3, 1, 2, 4]), 2.5);
});

test('the window forgets old samples, and silent subjects drop out', () => {
  const e = new ClockEstimator(3, 60_000);
  for (const x of [120_000, 120_000, 120_000, 0, 0]) e.record('node', 'b', x, 1000);
  assert.is(e.offsets(1000)[0]?.offsetMs, 0, 'back in sync after a few honest renewals');
  assert.equal(e.offsets(70_000), [], 'not heard from for a minute');
});

test('skew beyond maxSkew: False naming the worst, saying what fails', () => {
  const r = planClock(resolveSpec({ clock: { maxSkew: '30s' } }), { offsets: [
    { kind: 'node', name: 'node-a', offsetMs: 300, samples: 5, lastSeenMs: 0 },
    { kind: 'apiserver', name: 'apiserver-x', offsetMs: -120_000, samples: 5, lastSeenMs: 0 },
  ] });
  const [c] = r.conditions;
  assert.is(c?.status, 'False');
  assert.is(c?.reason, 'ClockSkewDetected');
  assert.match(c?.message ?? '', /apiserver apiserver-x -2m0s/);
  assert.match(c?.message ?? '', /not valid yet/);
  assert.not.match(c?.message ?? '', /node-a/);
  assert.equal(r.findings.map((f) => f.subject), ['apiserver/apiserver-x']);
});

test('in sync: True; no data: Unknown', () => {
  assert.is(planClock(resolveSpec({}), { offsets: [{ kind: 'node', name: 'a', offsetMs: 1000, samples: 3, lastSeenMs: 0 }] }).conditions[0]?.reason, 'ClocksInSync');
  assert.is(planClock(resolveSpec({}), { offsets: [] }).conditions[0]?.status, 'Unknown');
});

test('the API server\'s stamp is the newest managedFields entry that owns renewTime', () => {
  const stamp = serverStampMs({ metadata: { name: 'n', namespace: 'kube-node-lease', managedFields: [
    { time: '2026-01-01T00:00:05Z', fieldsV1: { 'f:spec': { 'f:holderIdentity': {} } } },
    { time: '2026-01-01T00:00:10Z', fieldsV1: { 'f:spec': { 'f:renewTime': {} } } },
    { time: '2026-01-01T00:00:07Z', fieldsV1: { 'f:spec': { 'f:renewTime': {} } } },
  ] } });
  assert.is(stamp, Date.parse('2026-01-01T00:00:10Z'));
});

test.run();
