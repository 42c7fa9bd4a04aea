// Clocks judged against each other (issue #18, item 4): the cluster's time is the
// consensus of its nodes and API servers, and the operator is one more clock.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { consensus, relativeToCluster, type ClockOffset, type ClockSubjectKind } from '../../../src/areas/clock/estimator.ts';
import { planClock } from '../../../src/areas/clock/plan.ts';

const test = suite('clock: against the cluster');
const S = 1000;
const off = (kind: ClockSubjectKind, name: string, seconds: number): ClockOffset => ({ kind, name, offsetMs: seconds * S, samples: 5, lastSeenMs: 0 });
const api = (name: string, s: number): ClockOffset => off('apiserver', name, s);
const node = (name: string, s: number): ClockOffset => off('node', name, s);

test('consensus: the largest agreeing group, ties to the group nearest the operator', () => {
  const rows: [number[], number, number][] = [
    // values (s)            centre  agreeing
    [[0, 120], 0, 1], // two clocks: not split in the middle
    [[-300, -300, -180], -300, 2],
    [[1, 2, 3, 200], 2, 3],
    [[], 0, 0],
  ];
  for (const [values, centre, agreeing] of rows) {
    const c = consensus(
      values.map((v) => v * S),
      30 * S,
    );
    assert.equal([c.centreMs / S, c.agreeing], [centre, agreeing], JSON.stringify(values));
  }
});

test("consensus equals its definition (each value's group filtered, its median sorted) on random clocks, duplicates and outliers included", () => {
  // The definition, quadratic: the reference the sorted-run implementation must match.
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  };
  const reference = (values: number[], tol: number): { centreMs: number; agreeing: number } => {
    let best: { members: number[]; distance: number } | undefined;
    for (const v of values) {
      const members = values.filter((x) => Math.abs(x - v) <= tol);
      const distance = Math.abs(median(members));
      if (!best || members.length > best.members.length || (members.length === best.members.length && distance < best.distance)) best = { members, distance };
    }
    return best ? { centreMs: median(best.members), agreeing: best.members.length } : { centreMs: 0, agreeing: 0 };
  };
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(random() * 40);
    const values = Array.from({ length: n }, () => {
      const r = random();
      return r < 0.2 ? 5000 : r < 0.3 ? Math.round((random() - 0.5) * 600_000) : Math.round((random() - 0.5) * 90_000);
    });
    assert.equal(consensus(values, 30_000), reference(values, 30_000), JSON.stringify(values));
  }
});

interface Row {
  what: string;
  raw: ClockOffset[];
  subjects: Record<string, number>;
  operator: number | undefined;
}
const rows: Row[] = [
  { what: 'all in sync', raw: [api('kas', 0), node('a', 0), node('b', 1)], subjects: { 'apiserver/kas': 0, 'node/a': 0, 'node/b': 1 }, operator: 0 },
  { what: 'a node ahead', raw: [api('kas', 0), node('a', 0), node('b', 120)], subjects: { 'apiserver/kas': 0, 'node/a': 0, 'node/b': 120 }, operator: 0 },
  // The operator's host 300 s ahead: every API server's renewal looks 300 s behind; nodes (stamped by the API server) do not move.
  {
    what: 'the operator ahead',
    raw: [api('kas', -300), node('a', 0), node('b', 0)],
    subjects: { 'apiserver/kas': 0, 'node/a': 0, 'node/b': 0 },
    operator: 300,
  },
  {
    what: 'the operator behind, HA',
    raw: [api('kas-1', 90), api('kas-2', 90), api('kas-3', 91), node('a', 0)],
    subjects: { 'apiserver/kas-1': 0, 'apiserver/kas-2': 0, 'apiserver/kas-3': 1, 'node/a': 0 },
    operator: -90,
  },
  {
    what: 'one API server of three behind',
    raw: [api('kas-1', 0), api('kas-2', 0), api('kas-3', -120), node('a', 0)],
    subjects: { 'apiserver/kas-1': 0, 'apiserver/kas-2': 0, 'apiserver/kas-3': -120, 'node/a': 0 },
    operator: 0,
  },
  {
    what: 'one API server of two behind: the operator breaks the tie',
    raw: [api('kas-1', 0), api('kas-2', -120), node('a', 0), node('b', 0)],
    subjects: { 'apiserver/kas-1': 0, 'apiserver/kas-2': -120, 'node/a': 0, 'node/b': 0 },
    operator: 0,
  },
  { what: 'only nodes measured: the operator is unknown', raw: [node('a', 0), node('b', 120)], subjects: { 'node/a': 0, 'node/b': 120 }, operator: undefined },
];

test('relativeToCluster: a row per situation', () => {
  for (const r of rows) {
    const c = relativeToCluster(r.raw, 30 * S);
    const got = Object.fromEntries(c.subjects.map((o) => [`${o.kind}/${o.name}`, Math.round(o.offsetMs / S)]));
    assert.equal(got, r.subjects, r.what);
    assert.is(c.operatorOffsetMs === undefined ? undefined : Math.round(c.operatorOffsetMs / S), r.operator, r.what);
  }
});

test('plan: a skewed operator host is named, no API server or node', () => {
  const r = planClock(resolveSpec({ clock: { maxSkew: '30s' } }), { offsets: [api('kas', -300), node('a', 0), node('b', 0)] });
  const [c] = r.conditions;
  assert.is(c?.status, 'False');
  assert.is(c?.reason, 'OperatorClockSkewed');
  assert.match(c?.message ?? '', /operator's own clock is ahead by 5m0s/);
  assert.not.match(c?.message ?? '', /kas|node a\b|node b\b/);
  assert.equal(
    r.findings.map((f) => f.subject),
    ['operator'],
  );
  assert.is(r.summary.operatorOffsetSeconds, 300);
  assert.equal(
    (r.summary.worst as { offsetSeconds: number }[]).map((w) => w.offsetSeconds),
    [0, 0, 0],
  );
});

test('plan: a skewed node and a skewed operator are both named', () => {
  const r = planClock(resolveSpec({ clock: { maxSkew: '30s' } }), { offsets: [api('kas', -300), node('a', 0), node('b', 0), node('c', 120)] });
  assert.is(r.conditions[0]?.reason, 'ClockSkewDetected');
  assert.match(r.conditions[0]?.message ?? '', /node c \+2m0s.*Also, the operator's own clock is ahead by 5m0s/);
  assert.equal(
    r.findings.map((f) => f.subject),
    ['node/c', 'operator'],
  );
});

test("plan: in sync, the operator's own offset is reported (whole seconds, steady under jitter)", () => {
  const spec = resolveSpec({});
  const first = planClock(spec, { offsets: [api('kas', -2.4), node('a', 0)] });
  assert.is(first.conditions[0]?.reason, 'ClocksInSync');
  assert.is(first.summary.operatorOffsetSeconds, 2);
  const again = planClock(spec, { offsets: [{ ...api('kas', -2.9) }, node('a', 0)] }, first.summary);
  assert.is(again.summary.operatorOffsetSeconds, 2, 'half a second of jitter does not rewrite status');
});

test.run();
