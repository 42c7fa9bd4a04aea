// An area whose cache cannot sync: a passing failure (the API server restarting: connection
// refused, 5xx, a 403 while its RBAC caches fill) keeps the area's last status for a grace period;
// a failure that lasts, or one that is no passing failure, is reported Unknown naming it.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { AuthPolicy } from '../../../src/api/types.ts';
import { defineCache, type Area } from '../../../src/areas/area.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import type { CacheSet, UnsyncedCache } from '../../../src/policy/caches.ts';
import { evaluateAreas, type PolicyDeps } from '../../../src/policy/reconciler.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { apiError, authPolicy, condition } from '../../support/builders.ts';

const test = suite('unsynced caches');
const leases = defineCache({ name: 'leases', path: '/apis/coordination.k8s.io/v1/leases', transform: () => undefined });
const area: Area = {
  name: 'clock',
  conditionTypes: ['ClockSynchronized'],
  caches: [leases],
  observe: () => Promise.reject(new Error('observe must not run on an unsynced cache')),
  plan: () => undefined,
  report: () => ({ conditions: [], summary: {}, findings: [] }),
};
const policy: AuthPolicy = authPolicy({ generation: 1, status: { conditions: [condition('ClockSynchronized', 'True', 'ClocksInSync', 'in sync')] } });
const refused = apiError(0, 'connect ECONNREFUSED 127.0.0.1:6443', { path: leases.path });
const forbidden = apiError(403, 'leases is forbidden', { path: leases.path });
const missing = apiError(404, 'the server could not find the requested resource', { path: leases.path });

function deps(failure: unknown, failingForMs: number | undefined, polled = false): PolicyDeps {
  const unsynced: UnsyncedCache[] = [{ name: leases.name, path: leases.path, failure, error: failure instanceof Error ? failure.message : undefined, polled }];
  const caches = { unsynced: () => unsynced } as unknown as CacheSet;
  const failingSince = new Map<string, number>(failingForMs === undefined ? [] : [['clock', Date.now() - failingForMs]]);
  return {
    client: {} as unknown as PolicyDeps['client'],
    caches,
    areas: [area],
    log: createLogger('error', { silent: true }),
    events: undefined,
    failingSince,
  };
}

async function clockReport(failure: unknown, failingForMs?: number, polled = false): Promise<{ status?: string; reason?: string; message?: string } | 'kept'> {
  const { reports } = await evaluateAreas(
    policy,
    deps(failure, failingForMs, polled),
    'run',
    new AbortController().signal,
    createLogger('error', { silent: true }),
  );
  const c = reports.clock?.conditions[0];
  return c ? { status: c.status, reason: c.reason, message: c.message } : 'kept';
}

test('a passing failure keeps the last status for the grace period', async () => {
  for (const failure of [
    refused,
    forbidden,
    new KubeApiError({ status: 503, reason: 'ServiceUnavailable', message: 'etcd', method: 'GET', path: leases.path }),
  ]) {
    assert.is(await clockReport(failure), 'kept', `${(failure as Error).message}: just started failing`);
    assert.is(await clockReport(failure, 20_000), 'kept', `${(failure as Error).message}: 20 s in`);
  }
  assert.is(await clockReport(undefined), 'kept', 'still listing, no failure');
});

test('a failure that lasts beyond the grace, or an API that is not served, is Unknown naming it', async () => {
  const lasting = await clockReport(refused, 31_000);
  assert.ok(
    lasting !== 'kept' && lasting.status === 'Unknown' && lasting.reason === 'ObserveFailed' && lasting.message?.includes('ECONNREFUSED'),
    JSON.stringify(lasting),
  );
  const denied = await clockReport(forbidden, 31_000);
  assert.ok(denied !== 'kept' && denied.reason === 'Forbidden', JSON.stringify(denied));
  const notServed = await clockReport(missing);
  assert.ok(notServed !== 'kept' && notServed.status === 'Unknown', `a 404 is no passing failure: ${JSON.stringify(notServed)}`);
});

test('a refused cache asks for what it uses: list and watch for a watched one, list alone for a polled one (node Leases)', async () => {
  const denied = new KubeApiError({
    status: 403,
    reason: 'Forbidden',
    message:
      'leases.coordination.k8s.io is forbidden: User "system:serviceaccount:authpolicy-system:authpolicy-operator" cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"',
    method: 'GET',
    path: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
  });
  const watched = await clockReport(denied, 31_000);
  const polled = await clockReport(denied, 31_000, true);
  assert.ok(
    watched !== 'kept' && watched.message?.includes('grant list and watch leases.coordination.k8s.io in namespace kube-node-lease'),
    JSON.stringify(watched),
  );
  assert.ok(polled !== 'kept' && polled.message?.includes('grant list leases.coordination.k8s.io in namespace kube-node-lease'), JSON.stringify(polled));
});

test.run();
