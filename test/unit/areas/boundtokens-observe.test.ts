// The bound-token observer keeps no state of its own: what it carries across reconciles (since when this
// replica has been watching for audit batches) lives in the memory the wiring made and passed in.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { createObserver, type BoundTokensMemory } from '../../../src/areas/boundtokens/observe.ts';
import { StaleTokenRegistry } from '../../../src/areas/boundtokens/stale-tokens.ts';
import { apiserverReads } from '../../../src/kube/apiserver-reads.ts';
import { PublishedKeys } from '../../../src/kube/service-account-keys.ts';
import { tokenSecretCache } from '../../../src/kube/token-secrets.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const test = suite('boundTokens observe');

test("audit silence counts from this replica's first observation, kept in the memory the wiring passed in", async () => {
  const clock = new TestClock();
  const client = new MemoryClient(clock.now);
  const { ctx } = memoryContext(client, clock, resolveSpec({}));
  const secrets = tokenSecretCache(new PublishedKeys(() => clock.now().getTime()), () => clock.now().getTime());
  const memory: BoundTokensMemory = {};
  const observe = createObserver(new StaleTokenRegistry(), secrets, apiserverReads(), memory);
  const startMs = clock.now().getTime();
  await observe(ctx);
  assert.is(memory.firstObservedMs, startMs);
  clock.advance(5 * 60_000);
  const later = await observe(ctx);
  assert.is(later.auditSilentForMs, 5 * 60_000, 'silent since the first observation, no batch yet');
  const fresh = await createObserver(new StaleTokenRegistry(), secrets, apiserverReads(), {})(ctx);
  assert.is(fresh.auditSilentForMs, 0, 'another memory (another replica): silent from now');
});

test.run();
