import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { LeaderElector, checkTimings } from '../../../src/runtime/leader.ts';
import { withFakeTime } from '../../support/fake-time.ts';
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

interface StoredLease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: { holderIdentity?: string };
}

/**
 * An API server that answers every lease call after `latency(now)` ms of fake time, honouring each call's
 * timeoutMs as the real client does (no answer within it: a status-0 Timeout), with resourceVersion checks on
 * PUT; to calls sent from `failFrom` until `failUntil` it answers 500 instead. Counts the calls by method.
 */
function slowServer(latency: (now: number) => number, failFrom = Infinity, failUntil = Infinity) {
  let stored: StoredLease | undefined;
  let version = 0;
  const calls: Record<string, number> = {};
  const failed: { method: string; sent: number }[] = [];
  const error = (method: string, status: number, reason: string, message = reason): KubeApiError =>
    new KubeApiError({ status, reason, method, path: LEASE, message });
  const answer = <T>(method: string, timeoutMs: number | undefined, reply: () => T): Promise<T> => {
    const sent = Date.now();
    const ms = latency(sent);
    calls[method] = (calls[method] ?? 0) + 1;
    return new Promise<T>((resolve, reject) => {
      if (timeoutMs !== undefined && timeoutMs < ms) {
        setTimeout(() => {
          reject(error(method, 0, 'Timeout', `no answer within ${timeoutMs / 1000}s`));
        }, timeoutMs);
        return;
      }
      setTimeout(() => {
        if (sent >= failFrom && sent < failUntil) {
          failed.push({ method, sent });
          reject(error(method, 500, 'InternalError', 'etcdserver: request timed out'));
          return;
        }
        try {
          resolve(reply());
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      }, ms);
    });
  };
  const write = (body: StoredLease): StoredLease => {
    stored = structuredClone({ ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } });
    return structuredClone(stored);
  };
  const client = {
    get: (_path: string, opts: { timeoutMs?: number } = {}) =>
      answer('GET', opts.timeoutMs, () => {
        if (!stored) throw error('GET', 404, 'NotFound');
        return structuredClone(stored);
      }),
    request: (method: string, _path: string, opts: { body?: unknown; timeoutMs?: number }) =>
      answer(method, opts.timeoutMs, () => {
        const body = opts.body as StoredLease;
        if (method === 'POST') {
          if (stored) throw error(method, 409, 'AlreadyExists');
          return write(body);
        }
        if (!stored || body.metadata.resourceVersion !== stored.metadata.resourceVersion) throw error(method, 409, 'Conflict');
        return write(body);
      }),
  } as unknown as KubeClient;
  return { client, calls, failed, holder: () => stored?.spec?.holderIdentity };
}

const CONTROLLER_RUNTIME = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
/** config/manager's (cert-manager's) */
const SHIPPED = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 15_000 };

/** Runs an elector (by default 15 s / 10 s / 2 s) against `server` for `forMs` of fake time; says when it led and until when. */
async function campaign(server: ReturnType<typeof slowServer>, forMs: number, logs: LogLine[] = [], timings = CONTROLLER_RUNTIME) {
  return await withFakeTime(async (clock) => {
    const elector = new LeaderElector({
      client: server.client,
      namespace: 'ops',
      name: 'op',
      identity: 'replica-a',
      ...timings,
      log: recordingLogger(logs),
    });
    const stop = new AbortController();
    const led = { from: -1, until: -1 };
    const running = elector.run(stop.signal, async (leaderSignal) => {
      if (led.from < 0) led.from = Date.now();
      await new Promise<void>((resolve) => {
        leaderSignal.addEventListener('abort', () => {
          resolve();
        });
      });
      if (!stop.signal.aborted && led.until < 0) led.until = Date.now();
    });
    await clock.advance(forMs, 100);
    const calls = { ...server.calls };
    stop.abort();
    await clock.advance(30_000, 100);
    await running;
    return { led, calls };
  });
}

test('an API server answering each lease call in 4 s: the leader keeps its lease (renew deadline 10 s), one PUT per renewal', async () => {
  const server = slowServer(() => 4000);
  const { led, calls } = await campaign(server, 120_000);
  assert.is(led.from, 8000, 'leads once the GET (404) and the create have taken 4 s each');
  assert.is(led.until, -1, 'never stopped leading while every call was answered within the renew deadline');
  // Renewals start at 10, 16, 22 … 118 s (2 s after the last one's answer): 19 by 120 s, each a single PUT.
  assert.equal(calls, { GET: 1, POST: 1, PUT: 19 }, 'no GET per renewal');
  assert.is(server.holder(), '', 'released at shutdown');
});

test('an API server that slows to 11 s a call: leadership ends at the deadline of the renewal that cannot finish', async () => {
  const server = slowServer((now) => (now >= 19_000 ? 11_000 : 4000));
  const logs: LogLine[] = [];
  const { led } = await campaign(server, 60_000, logs);
  // The renewal sent at 16 s is answered at 20 s; the next starts at 22 s with its deadline at 32 s; its PUT is
  // cut then (a call may take what is left of the deadline, no less).
  assert.equal(led, { from: 8000, until: 32_000 });
  const lost = logs.find((l) => l.message.startsWith('leader election lost'));
  assert.ok(lost, `says it lost the lease: ${JSON.stringify(logs.map((l) => l.message))}`);
  assert.match(String(lost.meta?.lastAttempt), /no answer within 10s/);
});

test('renewals that fail (500 after 4 s) are retried within the deadline, falling back to a GET, then leadership ends', async () => {
  const server = slowServer(() => 4000, 19_000);
  const { led } = await campaign(server, 60_000);
  // From 22 s: PUT (500 at 26), its fallback GET (500 at 30), then at 30 a PUT with the 2 s left, cut at 32 s.
  assert.equal(led, { from: 8000, until: 32_000 });
  const answered = server.failed.filter((f) => f.sent < 32_000).map((f) => `${f.method} at ${f.sent / 1000} s`);
  assert.equal(answered, ['PUT at 22 s', 'GET at 26 s'], 'the third call was cut at the deadline, not answered');
});

test("config/manager's timings (60 s / 40 s / 15 s): 7 renewal PUTs in 2 minutes where controller-runtime's make 56", async () => {
  const shipped = await campaign(
    slowServer(() => 100),
    120_000,
    [],
    SHIPPED,
  );
  // Leads at 0.2 s (GET 404, create); renews 15 s after each renewal's answer: 15.2, 30.3 … 105.8 s.
  assert.equal(shipped.calls, { GET: 1, POST: 1, PUT: 7 });
  const defaults = await campaign(
    slowServer(() => 100),
    120_000,
  );
  assert.ok((defaults.calls.PUT ?? 0) >= 50, `controller-runtime's: ${JSON.stringify(defaults.calls)}`);
});

test("config/manager's timings keep the leader through 35 s of API-server errors; controller-runtime's end it after 10 s", async () => {
  const down = (): ReturnType<typeof slowServer> => slowServer(() => 100, 19_000, 54_000);
  const shipped = await campaign(down(), 120_000, [], SHIPPED);
  // Renewals at 30.3 and 45.3 s fail; the one at 60.3 s is still within 40 s of the first failure's start, and succeeds.
  assert.equal(shipped.led, { from: 200, until: -1 });
  const defaults = await campaign(down(), 120_000);
  assert.ok(defaults.led.until > 19_000 && defaults.led.until <= 19_000 + 12_000, `controller-runtime's: ${JSON.stringify(defaults.led)}`);
});

test('timings that cannot work are refused at start, naming the flags', () => {
  assert.not.throws(() => {
    checkTimings(SHIPPED);
    checkTimings(CONTROLLER_RUNTIME);
  });
  assert.throws(() => {
    checkTimings({ ...SHIPPED, leaseDurationMs: 30_000 });
  }, /lease duration must be longer than the renew deadline \(--leader-election-lease-duration \(30s\), --leader-election-renew-deadline \(40s\)/);
  assert.throws(() => {
    checkTimings({ ...SHIPPED, retryPeriodMs: 35_000 });
  }, /renew deadline must be longer than 1.2 × the retry period/);
  assert.throws(() => {
    checkTimings({ ...SHIPPED, retryPeriodMs: 0 });
  }, /must all be above 0/);
});

test.run();
