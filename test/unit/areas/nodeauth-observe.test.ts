// The node-authorization observer keeps no state of its own: the probes' memo and the API-server readers
// are made at wiring time and passed in, so one memo is reused across reconciles and a new one (another
// process) probes afresh.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { createObserver, type ProbeMemo } from '../../../src/areas/nodeauth/observe.ts';
import { apiserverReads } from '../../../src/kube/apiserver-reads.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const test = suite('nodeAuthorization observe');

/** Answers SubjectAccessReviews as the Node authorizer would (allowed, empty reason), counting them. */
class ReviewingClient extends MemoryClient {
  reviews = 0;
  override create<T>(path: string, body: unknown): Promise<T> {
    if (!path.endsWith('/subjectaccessreviews')) return super.create<T>(path, body);
    this.reviews++;
    return Promise.resolve({ ...(body as object), status: { allowed: true, reason: '' } } as T);
  }
}

test('the probes are asked once while their inputs hold, through the memo the wiring passed in', async () => {
  const client = new ReviewingClient();
  const clock = new TestClock();
  const { ctx } = memoryContext(client, clock, resolveSpec({}));
  const reads = apiserverReads();
  const reviews = (): number => client.reviews;
  const probes: ProbeMemo = {};
  const observe = createObserver(reads, probes);
  const first = await observe(ctx);
  const perProbe = reviews();
  assert.ok(perProbe > 0, 'the first observation probes the kubelet identity');
  assert.is(probes.kubelets?.value.probed, first.probed, "the answer is kept in the wiring's memo");
  clock.advance(60_000);
  await observe(ctx);
  assert.is(reviews(), perProbe, 'a minute later, same inputs: not probed again');
  await createObserver(reads, {})(ctx);
  assert.is(reviews(), 2 * perProbe, 'another memo (another process): probed afresh');
});

test.run();
