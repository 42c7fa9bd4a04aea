// Status is written from the latest state the operator knows (its own writes, while the cache lags
// them), so a burst of reconciles writes without 409 conflicts; and progress alone (messages, counts)
// is written at a bounded rate, while a condition's status or reason is written at once.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { AuthPolicy, AuthPolicyStatus } from '../../../src/api/types.ts';
import { PROGRESS_BURST, PROGRESS_INTERVAL_MS, progressOnly, StatusWriter } from '../../../src/policy/status-writer.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { MemoryClient } from '../../support/memory-client.ts';

const test = suite('status writer');
const PATH = '/apis/authpolicy.io/v1alpha1/authpolicies/cluster/status';
const log = createLogger('error');
const status = (message: string, ready: 'True' | 'False' = 'True'): AuthPolicyStatus => ({
  observedGeneration: 1,
  conditions: [
    {
      type: 'Ready',
      status: ready,
      reason: ready === 'True' ? 'Ready' : 'NotReady',
      message,
      lastTransitionTime: '2026-01-01T00:00:00Z',
      observedGeneration: 1,
    },
  ],
});

function world(): { client: MemoryClient; cached: AuthPolicy; writer: StatusWriter; clock: { ms: number } } {
  const client = new MemoryClient();
  const seeded = client.seed(PATH, {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster', uid: 'u1' },
    status: status('first'),
  });
  const clock = { ms: 1_000_000 };
  // The cache as the informer holds it: this version; it does not see the operator's writes until a test says so.
  const cached = structuredClone(seeded) as unknown as AuthPolicy;
  return { client, cached, writer: new StatusWriter(client.asKubeClient(), log, { now: () => clock.ms }), clock };
}
const snapshot = (client: MemoryClient): AuthPolicy => structuredClone(client.peek(PATH)) as unknown as AuthPolicy;
const message = (client: MemoryClient): string | undefined => (client.peek(PATH)?.status as AuthPolicyStatus).conditions?.[0]?.message;

test('writes in a row from a cache that lags its own writes by one or several: no conflict, each from the newest version', async () => {
  const { client, cached, writer, clock } = world();
  const r: string[] = [];
  assert.ok((await writer.write(cached, status('a', 'False'))).written);
  r.push(snapshot(client).metadata.resourceVersion ?? '');
  clock.ms += PROGRESS_INTERVAL_MS;
  assert.ok((await writer.write(cached, status('b', 'True'))).written, 'the cache still shows the version before the first write');
  clock.ms += PROGRESS_INTERVAL_MS;
  const behindByOne = { ...cached, metadata: { ...cached.metadata, resourceVersion: r[0] } };
  assert.ok((await writer.write(behindByOne, status('c', 'False'))).written, 'the cache shows our first write, not our second');
  assert.is(client.callsOf('replace').length, 3, 'three PUTs, none retried');
  assert.is(message(client), 'c');
});

test('no write when the status equals the one the operator last wrote, though the cache still shows an older one', async () => {
  const { client, cached, writer } = world();
  await writer.write(cached, status('second', 'False'));
  assert.not.ok((await writer.write(cached, status('second', 'False'))).written);
  assert.is(client.callsOf('replace').length, 1);
});

test('once the cache shows the newest version, or one someone else wrote, the cache is the truth again', async () => {
  const { client, cached, writer, clock } = world();
  await writer.write(cached, status('second', 'False'));
  const caughtUp = snapshot(client);
  assert.not.ok((await writer.write(caughtUp, status('second', 'False'))).written, 'the cache shows our write: nothing to do');
  clock.ms += PROGRESS_INTERVAL_MS;
  const theirs = { ...caughtUp, metadata: { ...caughtUp.metadata, resourceVersion: '999' } };
  const before = client.callsOf('replace').length;
  assert.ok((await writer.write(theirs, status('third', 'True'))).written);
  const first = client.callsOf('replace')[before]?.body as AuthPolicy;
  assert.is(first.metadata.resourceVersion, '999', 'written over the version the cache shows');
  assert.equal(
    client.calls.slice(-2).map((c) => c.verb),
    ['list', 'replace'],
    'its 409 (in memory, 999 was never stored) re-read the policy and wrote over what was there',
  );
  assert.is(message(client), 'third');
});

test('progress alone: a burst written at once, then one per interval, deferred and not lost; a condition change goes at once', async () => {
  const { client, cached, writer, clock } = world();
  for (let i = 1; i <= PROGRESS_BURST; i++) {
    assert.ok((await writer.write(cached, status(`rotating ${i} of 500`))).written, `progress write ${i} of the burst`);
    clock.ms += 100;
  }
  const held = await writer.write(cached, status('rotating 99 of 500'));
  assert.is(held.written, false, 'past the burst, a count that moved is held back');
  assert.ok(held.deferredMs !== undefined && held.deferredMs > 0 && held.deferredMs <= PROGRESS_INTERVAL_MS, `with when to write it: ${held.deferredMs}`);
  assert.is(message(client), `rotating ${PROGRESS_BURST} of 500`);
  assert.ok((await writer.write(cached, status('token controller unavailable', 'False'))).written, 'Ready changed: written at once');
  clock.ms += held.deferredMs ?? 0;
  assert.ok((await writer.write(cached, status('rotating 140 of 500', 'False'))).written, 'when the deferral ends, progress is written');
  assert.is(message(client), 'rotating 140 of 500');
  assert.is((await writer.write(cached, status('rotating 141 of 500', 'False'))).written, false, 'and the next waits again');
});

test('progressOnly: messages and summaries only; not a condition status, reason, a new condition or observedGeneration', () => {
  assert.ok(progressOnly(status('a'), { ...status('b'), legacyTokens: { rotated: 3 } }));
  assert.not.ok(progressOnly(status('a'), status('a', 'False')));
  assert.not.ok(progressOnly(status('a'), { ...status('a'), observedGeneration: 2 }));
  assert.not.ok(
    progressOnly(status('a'), {
      ...status('a'),
      conditions: [...(status('a').conditions ?? []), ...(status('x', 'False').conditions ?? []).map((c) => ({ ...c, type: 'X' }))],
    }),
  );
});

test.run();
