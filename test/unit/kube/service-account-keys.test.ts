// The published service-account keys keep time by the clock they were made with at wiring time
// (src/policy/areas.ts), so a refresh started without one (the legacy-token area's first read) is
// stamped and aged by the same clock as every other.
import { generateKeyPairSync } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { PublishedKeys } from '../../../src/kube/service-account-keys.ts';

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

test.run();
