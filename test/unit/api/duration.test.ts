import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { formatDuration, parseDuration } from '../../../src/api/duration.ts';

const test = suite('duration');

test('parses Go durations', () => {
  assert.is(parseDuration('30s'), 30_000);
  assert.is(parseDuration('1h30m'), 5_400_000);
  assert.is(parseDuration('1.5h'), 5_400_000);
  assert.is(parseDuration('250ms'), 250);
  assert.is(parseDuration('720h'), 2_592_000_000);
  assert.is(parseDuration('0'), 0);
});

test('rejects bad values naming the field', () => {
  for (const bad of ['', '10', '5 m', '1d', 'h', '-5s', '5s ']) {
    assert.throws(() => parseDuration(bad, 'spec.clock.maxSkew'), /spec\.clock\.maxSkew/);
  }
});

test('formats for people', () => {
  assert.is(formatDuration(120_000), '2m0s');
  assert.is(formatDuration(-120_400), '-2m0s');
  assert.is(formatDuration(750), '750ms');
  assert.is(formatDuration(3_725_000), '1h2m5s');
  assert.is(formatDuration(119_600), '2m0s');
});

test.run();
