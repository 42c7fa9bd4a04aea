// The order of names in plans and status: code-unit order, which agrees with locale collation on
// Kubernetes names, with each sort key computed once per item.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { byString, sortedBy } from '../../../src/kube/order.ts';

const test = suite('order');

test('on namespace/name keys of DNS labels, code-unit order is the order localeCompare gave', () => {
  const names: string[] = [];
  for (let i = 0; i < 400; i++) names.push(`ns-${i % 13}/app-${(i * 7919) % 97}.token-${i % 3}`, `ns.${i % 5}/a${i}`, `n-${i}/x-y.z`);
  const shuffled = [...names].sort((a, b) => Math.sin(a.length * 31 + b.charCodeAt(3)) - 0.1);
  assert.equal(
    [...shuffled].sort(byString),
    [...shuffled].sort((a, b) => a.localeCompare(b)),
  );
});

test('sortedBy sorts a copy by a key computed once per item', () => {
  const items = ['c', 'a', 'b', 'a'].map((name, i) => ({ name, i }));
  let keys = 0;
  const sorted = sortedBy(items, (x) => {
    keys++;
    return x.name;
  });
  assert.equal(
    sorted.map((x) => `${x.name}${x.i}`),
    ['a1', 'a3', 'b2', 'c0'],
    'stable: equal keys keep their order',
  );
  assert.is(keys, items.length);
  assert.equal(
    items.map((x) => x.name),
    ['c', 'a', 'b', 'a'],
    'the input is left as it was',
  );
});

test.run();
