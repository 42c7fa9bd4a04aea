import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { LeaderElector } from '../../../src/runtime/leader.ts';
import { MemoryClient, recordingLogger, type LogLine } from '../../support/memory-client.ts';

const test = suite('leader election');

const LEASE = '/apis/coordination.k8s.io/v1/namespaces/ops/leases/op';

/** The MemoryClient with the generic request() the elector uses for POST and PUT. */
function leaseClient(memory: MemoryClient): KubeClient {
  const client = memory.asKubeClient();
  const request = (method: string, path: string, opts: { body?: unknown }): Promise<unknown> =>
    method === 'PUT' ? memory.replace(path, opts.body) : memory.create(path, opts.body);
  return Object.assign(Object.create(client) as KubeClient, { request, get: memory.get.bind(memory) });
}

test('a leader whose lease another replica took steps down after the renew deadline, saying why', async () => {
  const memory = new MemoryClient();
  const logs: LogLine[] = [];
  const elector = new LeaderElector({
    client: leaseClient(memory),
    namespace: 'ops',
    name: 'op',
    identity: 'replica-a',
    leaseDurationMs: 1000,
    renewDeadlineMs: 300,
    retryPeriodMs: 50,
    log: recordingLogger(logs),
  });
  const stop = new AbortController();
  const seen = { led: false, deposed: false };
  const running = elector.run(stop.signal, async (leaderSignal) => {
    seen.led = true;
    // Another replica takes the lease while this one leads (as when its renewals did not get through in time).
    memory.poke(LEASE, (o) => {
      (o as unknown as { spec: { holderIdentity: string; renewTime: string } }).spec.holderIdentity = 'replica-b';
    });
    await new Promise<void>((resolve) => {
      leaderSignal.addEventListener('abort', () => {
        resolve();
      });
    });
    seen.deposed = true;
    stop.abort();
  });
  await running;
  assert.equal(seen, { led: true, deposed: true }, 'it led, then stopped leading');
  const lost = logs.find((l) => l.message.startsWith('leader election lost'));
  assert.ok(lost, `a lost-leadership line: ${JSON.stringify(logs)}`);
  assert.is(lost.level, 'error');
  assert.is(lost.meta?.lastAttempt, 'held by replica-b');
  assert.ok(Number(lost.meta?.sinceLastRenewalMs) >= 300, `since the last renewal: ${String(lost.meta?.sinceLastRenewalMs)} ms`);
  assert.is(typeof lost.meta?.lastAttemptMs, 'number');
});

test.run();
