import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { asSentences, mergeConditions, type Condition } from '../../../src/api/conditions.ts';

const test = suite('conditions');
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');

test('a new condition gets the current time and generation', () => {
  const [c] = mergeConditions([], [{ type: 'Ready', status: 'False', reason: 'X', message: 'm' }], t0, 3);
  assert.equal(c, { type: 'Ready', status: 'False', reason: 'X', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 3 });
});

test('lastTransitionTime is kept when only reason or message change', () => {
  const before = mergeConditions([], [{ type: 'Ready', status: 'False', reason: 'A', message: 'one' }], t0, 1);
  const [after] = mergeConditions(before, [{ type: 'Ready', status: 'False', reason: 'B', message: 'two' }], t1, 2);
  assert.is(after?.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.is(after?.reason, 'B');
  assert.is(after?.message, 'two');
  assert.is(after?.observedGeneration, 2);
});

test('lastTransitionTime changes when the status flips', () => {
  const before = mergeConditions([], [{ type: 'Ready', status: 'False', reason: 'A', message: '' }], t0, 1);
  const [after] = mergeConditions(before, [{ type: 'Ready', status: 'True', reason: 'A', message: '' }], t1, 1);
  assert.is(after?.lastTransitionTime, '2026-01-01T01:00:00Z');
});

test('conditions not updated are kept; order follows the given order', () => {
  const existing: Condition[] = [{ type: 'Zeta', status: 'True', reason: 'R', message: '', lastTransitionTime: 'x', observedGeneration: 1 }];
  const out = mergeConditions(
    existing,
    [
      { type: 'Ready', status: 'True', reason: 'R', message: '' },
      { type: 'Alpha', status: 'True', reason: 'R', message: '' },
    ],
    t0,
    1,
    ['Ready'],
  );
  assert.equal(
    out.map((c) => c.type),
    ['Ready', 'Alpha', 'Zeta'],
  );
  assert.is(out[2]?.lastTransitionTime, 'x');
});

test('messages read as sentences: capitals after a full stop, a final stop, names left alone', () => {
  assert.is(asSentences('kubelets are denied: x. set --authorization-mode=Node,RBAC'), 'Kubelets are denied: x. Set --authorization-mode=Node,RBAC.');
  assert.is(asSentences('denied. kube-apiserver-cp1 runs with --authorization-mode=RBAC'), 'Denied. kube-apiserver-cp1 runs with --authorization-mode=RBAC.');
  assert.is(asSentences('Already fine.'), 'Already fine.');
});

test.run();
