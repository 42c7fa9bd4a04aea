// authpolicy_informer_synced and authpolicy_informer_api_absent: a cache whose API the server
// does not serve (Argo Rollouts not installed) is not "unsynced", and a stopped cache (a
// standby's) exports neither, so no alert reads a cache that nobody runs.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { Informer } from '../../../src/runtime/informer.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { Metrics } from '../../../src/runtime/metrics.ts';

const test = suite('informer metrics');
const PATH = '/apis/argoproj.io/v1alpha1/rollouts';

/** A client whose list answers `served ? an empty list : the API server's 404 for an unserved resource`; watches end at once. */
function fakeClient(state: { served: boolean }): KubeClient {
  const client = {
    list: (path: string) => {
      if (!state.served)
        // What the API server answers for a group it does not serve: 404 with no Status body (isApiMissing).
        return Promise.reject(new KubeApiError({ status: 404, reason: 'Not Found', message: '404 page not found', method: 'GET', path }));
      return Promise.resolve({ metadata: { resourceVersion: '1' }, items: [] });
    },
    stream: (_path: string, _query: unknown, signal: AbortSignal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          resolve({ body: null });
        });
      }),
    checkConnection: () => Promise.resolve(),
  };
  return client as unknown as KubeClient;
}

const lines = async (m: Metrics): Promise<string[]> =>
  (await m.registry.metrics())
    .split('\n')
    .filter((l) => /^authpolicy_informer_(synced|api_absent)\{/.test(l))
    .sort();

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('an absent API: api_absent 1 and no synced series; installed later: synced 1, api_absent 0; stopped: neither', async () => {
  const m = new Metrics({ processMetrics: false });
  const state = { served: false };
  const informer = new Informer({
    name: 'rollouts',
    client: fakeClient(state),
    path: PATH,
    transform: (raw) => raw as { metadata: { name: string } },
    missingRetryMs: 20,
    log: createLogger('error', { silent: true }),
    metrics: m,
  });
  informer.start();
  await until('the absent API to be reported', async () => (await lines(m)).includes('authpolicy_informer_api_absent{informer="rollouts"} 1'));
  assert.equal(await lines(m), ['authpolicy_informer_api_absent{informer="rollouts"} 1'], 'not exported as unsynced');
  state.served = true; // the CRD is installed
  await until('the cache to sync', () => Promise.resolve(informer.hasSynced()));
  assert.equal(await lines(m), ['authpolicy_informer_api_absent{informer="rollouts"} 0', 'authpolicy_informer_synced{informer="rollouts"} 1']);
  await informer.stop();
  informer.forget(); // a replica that stops leading
  assert.equal(await lines(m), [], 'a stopped cache is neither synced nor unsynced');
});

test('a served API that fails (a 403) is unsynced: synced 0', async () => {
  const m = new Metrics({ processMetrics: false });
  const client = {
    list: (path: string) => Promise.reject(new KubeApiError({ status: 403, reason: 'Forbidden', message: 'no', method: 'GET', path })),
    checkConnection: () => Promise.resolve(),
  } as unknown as KubeClient;
  const informer = new Informer({
    name: 'secrets',
    client,
    path: '/api/v1/secrets',
    transform: (raw) => raw as { metadata: { name: string } },
    backoff: { baseMs: 10, maxMs: 20, factor: 2, jitter: 0 },
    log: createLogger('error', { silent: true }),
    metrics: m,
  });
  informer.start();
  await until('a failed list', () => Promise.resolve(informer.lastError !== undefined));
  assert.equal(await lines(m), ['authpolicy_informer_synced{informer="secrets"} 0']);
  await informer.stop();
});

test.run();
