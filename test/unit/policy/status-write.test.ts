// Status is written from the latest state the operator knows: its own last write when the cache has
// not caught up with it yet, so a burst of reconciles (a rotation) writes without 409 conflicts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthPolicy, AuthPolicyStatus } from '../../../src/api/types.ts';
import { writeStatus, type StatusMemo } from '../../../src/policy/reconciler.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { MemoryClient } from '../../support/memory-client.ts';

const test = suite('status write');
const PATH = '/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status';
const log = createLogger('error');
const status = (message: string): AuthPolicyStatus => ({
  conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }],
});

function world(): { client: MemoryClient; cached: AuthPolicy; memo: StatusMemo } {
  const client = new MemoryClient();
  const seeded = client.seed(PATH, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster', uid: 'u1' },
    status: status('first'),
  });
  // The cache as the informer holds it: this version, and it does not see the operator's writes yet.
  const cached = structuredClone(seeded) as unknown as AuthPolicy;
  return { client, cached, memo: new Map() };
}

test('writes in a row from a cache that lags its own writes: no conflict, each from the version the last one produced', async () => {
  const { client, cached, memo } = world();
  const k = client.asKubeClient();
  assert.ok(await writeStatus(k, cached, status('second'), log, memo));
  assert.ok(await writeStatus(k, cached, status('third'), log, memo), 'the stale cache does not make it conflict');
  assert.is(client.callsOf('replace').length, 2, 'two PUTs, no retry');
  assert.is((client.peek(PATH)?.status as AuthPolicyStatus).conditions?.[0]?.message, 'third');
});

test('no write when the status equals the one the operator last wrote, though the cache still shows an older one', async () => {
  const { client, cached, memo } = world();
  const k = client.asKubeClient();
  await writeStatus(k, cached, status('second'), log, memo);
  assert.not.ok(await writeStatus(k, cached, status('second'), log, memo));
  assert.is(client.callsOf('replace').length, 1);
});

test('once the cache shows a newer version (caught up, or someone else wrote), the cache is the truth again', async () => {
  const { client, cached, memo } = world();
  const k = client.asKubeClient();
  await writeStatus(k, cached, status('second'), log, memo);
  const caughtUp = structuredClone(client.peek(PATH)) as unknown as AuthPolicy;
  assert.not.ok(await writeStatus(k, caughtUp, status('second'), log, memo), 'the cache shows our write: nothing to do');
  assert.ok(await writeStatus(k, caughtUp, status('first'), log, memo));
  assert.is(client.callsOf('replace').length, 2);
});

test.run();
