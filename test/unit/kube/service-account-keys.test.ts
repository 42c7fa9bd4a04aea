// The published service-account keys keep time by the clock they were made with at wiring time
// (src/policy/areas.ts), so a refresh started without one (the legacy-token area's first read) is
// stamped and aged by the same clock as every other.
import { generateKeyPairSync } from 'node:crypto';
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { PublishedKeys, retryDelayMs } from '../../../src/kube/service-account-keys.ts';

const test = suite('published service-account keys');

const NOW = Date.parse('2026-06-01T00:00:00Z');

test('a refresh, ensureFresh and evidence without a clock of their own use the one the keys were made with', async () => {
  const doc = { keys: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })] };
  let gets = 0;
  const client = {
    get: () => {
      gets++;
      return Promise.resolve(doc);
    },
  } as unknown as KubeClient;
  let now = NOW;
  const keys = new PublishedKeys(() => now);
  await keys.refresh(client, 'ap-1');
  assert.is(keys.confirmedAtMs, NOW, 'stamped by the wired clock');
  now += 9 * 60_000;
  await keys.ensureFresh(client, 'ap-1');
  assert.is(gets, 1, '9 minutes old by that clock: not read again');
  now += 60_000;
  const evidence = await keys.evidence(client, 'ap-1');
  assert.is(gets, 2, '10 minutes old by that clock: read again');
  assert.is(evidence.confirmedAtMs, NOW + 10 * 60_000);
  await keys.refresh(client, 'ap-1', () => NOW + 1);
  assert.is(keys.confirmedAtMs, NOW + 1, "a caller's own clock (ctx.now()) still wins");
});

test('a failed read is retried after 1 s, doubling to 30 s, and a read that works ends the backoff', async () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  const doc = { keys: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })] };
  let serving = false;
  const reads: number[] = [];
  let now = NOW;
  const client = {
    get: () => {
      reads.push(now - NOW);
      return serving ? Promise.resolve(doc) : Promise.reject(new Error('GET /openid/v1/jwks: connect ECONNREFUSED'));
    },
  } as unknown as KubeClient;
  const keys = new PublishedKeys(() => now);
  // A reconcile every 500 ms for 40 s while the API server refuses: reads at 0, 1, 3, 7, 15, 31 s (the waits double).
  for (; now <= NOW + 40_000; now += 500) await keys.ensureFresh(client, 'ap-2');
  assert.equal(reads, [0, 1_000, 3_000, 7_000, 15_000, 31_000]);
  assert.ok(keys.error, 'the failure is kept for status');
  // It serves again: the next due read works, and then the set is kept for its usual 10 minutes.
  serving = true;
  for (; now <= NOW + 80_000; now += 500) await keys.ensureFresh(client, 'ap-2');
  assert.equal(reads.slice(6), [61_000], 'read again 30 s after the last failure, and not after it worked');
  assert.is(keys.error, undefined);
  assert.ok(keys.current, 'the keys are in hand again');
});

test.run();
