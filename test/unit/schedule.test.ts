// The test command's e2e order: unknown files first, then longest first, stable on
// ties; durations survive a missing or corrupt record and merge run over run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from '../support/suite.ts';
import * as assert from 'uvu/assert';
import { durationsFile, longestFirst, readDurations, writeDurations } from '../schedule.ts';

const test = suite('test schedule');

test('unknown files first, then by decreasing duration, ties by path', () => {
  const order = longestFirst(['e2e/a', 'e2e/b', 'e2e/c', 'e2e/new', 'e2e/d'], { 'e2e/a': 10, 'e2e/b': 300, 'e2e/c': 10, 'e2e/d': 50 });
  assert.equal(order, ['e2e/new', 'e2e/b', 'e2e/d', 'e2e/a', 'e2e/c']);
});

test('a missing or corrupt record means every file is unknown; a write merges with what was kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'schedule-'));
  try {
    const file = join(dir, 'nested', 'durations.json');
    assert.equal(readDurations(file), {});
    writeDurations(file, readDurations(file), { 'e2e/a': 5 });
    writeDurations(file, readDurations(file), { 'e2e/b': 7 });
    assert.equal(readDurations(file), { 'e2e/a': 5, 'e2e/b': 7 });
    writeFileSync(file, '{"e2e/a": "slow", "e2e/b": 3');
    assert.equal(readDurations(file), {});
    writeFileSync(file, '{"e2e/a": "slow", "e2e/b": 3}');
    assert.equal(readDurations(file), { 'e2e/b': 3 });
    assert.ok(readFileSync(file, 'utf8').length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the record lives under the build cache root', () => {
  assert.is(durationsFile({ AUTHPOLICY_CACHE: '/c' }), '/c/test-durations.json');
  assert.is(durationsFile({ XDG_CACHE_HOME: '/x' }), '/x/authpolicy-operator/test-durations.json');
});

test.run();
