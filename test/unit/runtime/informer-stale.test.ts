// A cache whose list/watch fails after it synced (a permission taken away): what it holds goes on
// being served, but staleFor says since when it can no longer be refreshed, so the areas reading it
// stop taking it for evidence (CacheSet.unsynced); one successful list makes it fresh again.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { KubeApiError } from '../../../src/kube/errors.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { Informer } from '../../../src/runtime/informer.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { withFakeTime } from '../../support/fake-time.ts';

const test = suite('informer: stale after sync');

test('staleFor: undefined while lists work, the failure and its start once they fail for the bound, undefined again after one works', async () => {
  await withFakeTime(async (clock) => {
    let refuse = false;
    const client = {
      list: () =>
        refuse
          ? Promise.reject(
              new KubeApiError({
                status: 403,
                reason: 'Forbidden',
                message: 'leases is forbidden: User "x" cannot list resource "leases"',
                method: 'GET',
                path: '/leases',
              }),
            )
          : Promise.resolve({ metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'a', namespace: 'n', resourceVersion: '1' } }] }),
    } as unknown as KubeClient;
    const informer = new Informer<{ metadata: { name: string; namespace?: string; resourceVersion?: string } }>({
      name: 'leases',
      client,
      path: '/leases',
      transform: (raw) => raw as { metadata: { name: string } },
      pollIntervalMs: 1000,
      backoff: { baseMs: 1000, maxMs: 1000, factor: 1, jitter: 0 },
      log: createLogger('error', { silent: true }),
    });
    informer.start();
    await clock.advance(10);
    assert.ok(informer.hasSynced());
    assert.is(informer.staleFor(Date.now(), 60_000), undefined);
    refuse = true;
    await clock.advance(1500, 100);
    const started = Date.now();
    assert.is(informer.staleFor(Date.now(), 60_000), undefined, 'failing, but not for the bound yet');
    await clock.advance(61_000, 500);
    const stale = informer.staleFor(Date.now(), 60_000);
    assert.ok(stale, 'stale once it has failed for the bound');
    assert.ok(stale.sinceMs <= started && started - stale.sinceMs < 2000, `since ${stale.sinceMs}, first seen failing by ${started}`);
    assert.match(stale.error, /leases is forbidden/);
    assert.is(informer.list().length, 1, 'what it holds is still served');
    refuse = false;
    await clock.advance(2000, 100);
    assert.is(informer.staleFor(Date.now(), 60_000), undefined, 'one list that works makes it fresh');
    await informer.stop();
  });
});

test('a watch that fails once and then stays connected is not stale, however long it stays quiet', async () => {
  await withFakeTime(async (clock) => {
    let watches = 0;
    const encoder = new TextEncoder();
    const client = {
      list: () => Promise.resolve({ metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'a', namespace: 'n', resourceVersion: '1' } }] }),
      stream: (_path: string, _query: unknown, signal: AbortSignal) => {
        if (++watches === 1)
          return Promise.reject(new KubeApiError({ status: 403, reason: 'Forbidden', message: 'RBAC caches filling', method: 'WATCH', path: '/leases' }));
        // Established: a bookmark every 30 s, never an object event (a 5-10 minute watch returns only when it ends).
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            const tick = setInterval(() => {
              controller.enqueue(encoder.encode(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '1' } } })}\n`));
            }, 30_000);
            signal.addEventListener('abort', () => {
              clearInterval(tick);
              controller.error(signal.reason);
            });
          },
        });
        return Promise.resolve(new Response(body));
      },
    } as unknown as KubeClient;
    const informer = new Informer<{ metadata: { name: string; namespace?: string; resourceVersion?: string } }>({
      name: 'apiserver-identity-leases',
      client,
      path: '/leases',
      transform: (raw) => raw as { metadata: { name: string } },
      backoff: { baseMs: 1000, maxMs: 1000, factor: 1, jitter: 0 },
      log: createLogger('error', { silent: true }),
    });
    informer.start();
    await clock.advance(3000, 100);
    assert.is(watches, 2, 'the refused watch was retried and connected');
    await clock.advance(120_000, 1000);
    assert.is(informer.staleFor(Date.now(), 60_000), undefined, 'connected since: not stale');
    await informer.stop();
  });
});

test.run();
