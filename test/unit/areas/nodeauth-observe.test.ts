// The node-authorization observer keeps no state of its own: the probes' memo and the API-server readers
// are made at wiring time and passed in, so one memo is reused across reconciles and a new one (another
// process) probes afresh.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { createObserver, newInstance, type ProbeMemo } from '../../../src/areas/nodeauth/observe.ts';
import { apiserverReads } from '../../../src/kube/apiserver-reads.ts';
import { objectPath, Resources } from '../../../src/kube/paths.ts';
import { MemoryClient, memoryContext, TestClock } from '../../support/memory-client.ts';

const test = suite('nodeAuthorization observe');

/** A client that answers SubjectAccessReviews as the Node authorizer would (allowed, empty reason). */
const reviewingClient = (): MemoryClient => new MemoryClient().review(/\/subjectaccessreviews$/, () => ({ status: { allowed: true, reason: '' } }));
const reviewsSent = (client: MemoryClient): number => client.callsOf('create', '/subjectaccessreviews').length;

test('the probes are asked once while their inputs hold, through the memo the wiring passed in', async () => {
  const client = reviewingClient();
  const clock = new TestClock();
  const { ctx } = memoryContext(client, clock, resolveSpec({}));
  const reads = apiserverReads();
  const reviews = (): number => reviewsSent(client);
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

/** An API server's identity Lease, as each kube-apiserver instance keeps one in kube-system. */
function seedApiserver(client: MemoryClient, name: string, holder: string): string {
  const path = objectPath(Resources.leases, name, 'kube-system');
  client.seed(path, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-system', labels: { 'apiserver.kubernetes.io/identity': 'kube-apiserver' } },
    spec: { holderIdentity: holder },
  });
  return path;
}

test('an API server restarting (the new beside the old, then alone) probes once; one leaving is not news', async () => {
  assert.is(newInstance('a,b', 'b'), false);
  assert.is(newInstance('a', 'a,b'), true);
  assert.is(newInstance('', 'a'), true);
  assert.is(newInstance('a', ''), false);
  const client = reviewingClient();
  const reviews = (): number => reviewsSent(client);
  const clock = new TestClock();
  const { ctx } = memoryContext(client, clock, resolveSpec({}));
  const old = seedApiserver(client, 'apiserver-old', 'kube-apiserver-old');
  const observe = createObserver(apiserverReads(), {});
  await observe(ctx);
  const perProbe = reviews();
  seedApiserver(client, 'apiserver-new', 'kube-apiserver-new');
  clock.advance(10_000);
  await observe(ctx);
  assert.is(reviews(), 2 * perProbe, 'a new API server: probed again (its authorizers may differ)');
  client.remove(old);
  clock.advance(10_000);
  await observe(ctx);
  assert.is(reviews(), 2 * perProbe, 'the old one gone: the answers of the one that stays still hold');
});

test.run();
