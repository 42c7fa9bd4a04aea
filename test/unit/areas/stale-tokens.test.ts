import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseStaleToken, StaleTokenRegistry } from '../../../src/areas/boundtokens/stale-tokens.ts';

const test = suite('stale tokens');

test('parses the API server\'s stale-token audit annotation', () => {
  assert.equal(parseStaleToken('subject: system:serviceaccount:ci:builder, seconds after warning threshold: 4301'), { serviceAccount: 'ci/builder', secondsAfter: 4301 });
  assert.is(parseStaleToken('subject: system:node:a, seconds after warning threshold: 1'), undefined);
  assert.is(parseStaleToken('nonsense'), undefined);
});

test('keeps a bounded, expiring summary per service account', () => {
  const r = new StaleTokenRegistry(1000, 2);
  r.record('ci/a', 10, 'kubectl/v1.20', 0);
  r.record('ci/a', 30, 'kubectl/v1.20', 10);
  r.record('ci/b', 5, undefined, 10);
  r.record('ci/c', 5, undefined, 10);
  const list = r.list(20);
  assert.equal(list.map((u) => [u.serviceAccount, u.requests, u.maxSecondsAfterWarning]), [['ci/a', 2, 30], ['ci/b', 1, 5]]);
  assert.equal(r.list(5000), [], 'forgotten after the ttl');
});

test.run();
