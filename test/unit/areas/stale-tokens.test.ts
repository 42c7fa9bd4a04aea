import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { sumCounter } from '../../../src/areas/boundtokens/apiserver-metrics.ts';
import { parseStaleToken, StaleTokenRegistry } from '../../../src/areas/boundtokens/stale-tokens.ts';

const test = suite('stale tokens');

test("parses the API server's stale-token audit annotation", () => {
  assert.equal(parseStaleToken('subject: system:serviceaccount:ci:builder, seconds after warning threshold: 4301'), {
    serviceAccount: 'ci/builder',
    secondsAfter: 4301,
  });
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
  assert.equal(
    list.map((u) => [u.serviceAccount, u.requests, u.maxSecondsAfterWarning]),
    [
      ['ci/a', 2, 30],
      ['ci/b', 1, 5],
    ],
  );
  assert.equal(r.list(5000), [], 'forgotten after the ttl');
});

test('sums a counter across its label sets in Prometheus text', () => {
  const text =
    '# HELP serviceaccount_stale_tokens_total x\nserviceaccount_stale_tokens_total 3\nserviceaccount_legacy_tokens_total{a="b"} 2\nserviceaccount_legacy_tokens_total{a="c"} 5\n';
  assert.is(sumCounter(text, 'serviceaccount_stale_tokens_total'), 3);
  assert.is(sumCounter(text, 'serviceaccount_legacy_tokens_total'), 7);
  assert.is(sumCounter(text, 'nope_total'), undefined);
});

test.run();
