// A cache of an optional CRD's objects (Argo Rollouts) while that CRD is not installed: the CRD is watched
// by name and the objects listed once it is established, instead of a list of them every 30 s.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { defineCache } from '../../../src/kube/cache-spec.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { CacheSet, CRD_WATCHED_RETRY_MS } from '../../../src/policy/caches.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { withFakeTime } from '../../support/fake-time.ts';

const test = suite('caches: an optional CRD watched, not polled for');

const ROLLOUTS = '/apis/argoproj.io/v1alpha1/rollouts';
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const CRD = { metadata: { name: 'rollouts.argoproj.io', resourceVersion: '7' }, status: { conditions: [{ type: 'Established', status: 'True' }] } };

/**
 * An API server without the Rollout CRD until install(): lists of Rollouts answer 404 (not served), the CRD
 * list is empty, and the CRD watch (when `crdWatch`) sends ADDED once it is installed. Counts Rollout lists.
 */
function cluster(crdWatch: 'allowed' | 'forbidden') {
  const encoder = new TextEncoder();
  let installed = false;
  const rolloutLists: number[] = [];
  const crdWatchers: ReadableStreamDefaultController<Uint8Array>[] = [];
  const refused = (path: string, status: number, reason: string): KubeApiError =>
    new KubeApiError({ status, reason: status === 404 ? '404' : reason, method: 'GET', path, message: reason });
  const client = {
    list: (path: string) => {
      if (path === ROLLOUTS) {
        rolloutLists.push(Date.now());
        return installed
          ? Promise.resolve({ metadata: { resourceVersion: '8' }, items: [] })
          : Promise.reject(refused(path, 404, 'the server could not find the requested resource'));
      }
      if (path === CRDS && crdWatch === 'forbidden') return Promise.reject(refused(path, 403, 'customresourcedefinitions is forbidden'));
      return Promise.resolve({ metadata: { resourceVersion: '5' }, items: installed && path === CRDS ? [CRD] : [] });
    },
    stream: (path: string, _query: unknown, signal: AbortSignal) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (path === CRDS) crdWatchers.push(controller);
          signal.addEventListener('abort', () => {
            controller.error(signal.reason);
          });
        },
      });
      return Promise.resolve(new Response(body));
    },
  } as unknown as KubeClient;
  const install = (): void => {
    installed = true;
    for (const w of crdWatchers) w.enqueue(encoder.encode(`${JSON.stringify({ type: 'ADDED', object: CRD })}\n`));
  };
  return { client, install, rolloutLists };
}

const rolloutCache = defineCache({
  name: 'rollouts',
  path: ROLLOUTS,
  servedBy: 'rollouts.argoproj.io',
  missingRetryMs: 30_000,
  transform: (raw) => raw as { metadata: { name: string } },
});

async function tenMinutesThenInstall(crdWatch: 'allowed' | 'forbidden') {
  return await withFakeTime(async (clock) => {
    const api = cluster(crdWatch);
    const caches = new CacheSet(api.client, createLogger('error', { silent: true }), undefined, { inactivityTimeoutMs: 3_600_000 });
    const rollouts = caches.add(rolloutCache, () => undefined);
    caches.start();
    await clock.advance(CRD_WATCHED_RETRY_MS - 60_000, 1000);
    const listsWhileAbsent = api.rolloutLists.length;
    const installedAt = Date.now();
    api.install();
    await clock.advance(crdWatch === 'allowed' ? 2000 : 31_000, 100);
    const synced = rollouts.hasSynced();
    const syncedAfterMs = api.rolloutLists.at(-1)! - installedAt;
    await caches.stop();
    return { listsWhileAbsent, synced, syncedAfterMs };
  });
}

test('while the CRD is absent and watched: one list of Rollouts in 9 minutes, and a list at once when it is established', async () => {
  const { listsWhileAbsent, synced, syncedAfterMs } = await tenMinutesThenInstall('allowed');
  assert.is(listsWhileAbsent, 1, 'the first list only (the next one, a backstop, after 10 minutes)');
  assert.ok(synced, 'Rollouts cached once the CRD is established');
  assert.ok(syncedAfterMs < 1000, `listed ${syncedAfterMs} ms after the CRD was established`);
});

test('without the permission to watch the CRD: a list of Rollouts every 30 s, as before', async () => {
  const { listsWhileAbsent, synced } = await tenMinutesThenInstall('forbidden');
  assert.is(listsWhileAbsent, 19, 'every 30 s for 9 minutes');
  assert.ok(synced, 'picked up by the next list, within 30 s');
});

test.run();
