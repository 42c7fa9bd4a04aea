// A verdict whose evidence can no longer be refreshed (issue #24): an area whose observe keeps failing
// for a passing reason keeps its last conditions only for STALE_VERDICT_MS, then turns Unknown naming
// the failure; a refusal (403) only for FAILURE_GRACE_MS, then names the permission to grant.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { AuthPolicy } from '../../../src/api/types.ts';
import type { Area } from '../../../src/areas/area.ts';
import type { CacheSet } from '../../../src/policy/caches.ts';
import { evaluateAreas, STALE_VERDICT_MS, type PolicyDeps } from '../../../src/policy/reconciler.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { apiError, authPolicy, condition } from '../../support/builders.ts';

const test = suite('stale verdicts');
const unavailable = apiError(503, 'etcdserver: request timed out', { path: '/metrics' });
const forbidden = apiError(
  403,
  'subjectaccessreviews.authorization.k8s.io is forbidden: User "x" cannot create resource "subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
  { path: '/apis/authorization.k8s.io/v1/subjectaccessreviews', method: 'POST' },
);
const policy: AuthPolicy = authPolicy({ generation: 1, status: { conditions: [condition('NodeAuthorizationReady', 'True', 'NodeAuthorizer', 'probed')] } });

async function report(err: Error, failingForMs: number | undefined): Promise<{ status?: string; reason?: string; message?: string } | 'kept'> {
  const area: Area = {
    name: 'nodeAuthorization',
    conditionTypes: ['NodeAuthorizationReady'],
    caches: [],
    observe: () => Promise.reject(err),
    plan: () => undefined,
    report: () => ({ conditions: [], summary: {}, findings: [] }),
  };
  const deps: PolicyDeps = {
    client: {} as unknown as PolicyDeps['client'],
    caches: { unsynced: () => [] } as unknown as CacheSet,
    areas: [area],
    log: createLogger('error', { silent: true }),
    events: undefined,
    failingSince: new Map(failingForMs === undefined ? [] : [['nodeAuthorization', Date.now() - failingForMs]]),
  };
  const { reports } = await evaluateAreas(policy, deps, 'run', new AbortController().signal, createLogger('error', { silent: true }));
  const c = reports.nodeAuthorization?.conditions[0];
  return c ? { status: c.status, reason: c.reason, message: c.message } : 'kept';
}

test('verdict ages: what stands while evidence cannot be refreshed, and what turns Unknown after the bound', async () => {
  const rows: [string, Error, number | undefined, string][] = [
    ['a 503, just now: the last verdict stands', unavailable, undefined, 'kept'],
    ['a 503 for less than the bound', unavailable, STALE_VERDICT_MS - 5000, 'kept'],
    ['a 503 past the bound', unavailable, STALE_VERDICT_MS + 1000, 'Unknown/ObserveFailed'],
    ['a 403 during the grace (an API server filling its RBAC caches)', forbidden, 10_000, 'kept'],
    ['a 403 that lasts', forbidden, 31_000, 'Unknown/Forbidden'],
  ];
  for (const [name, err, failingFor, want] of rows) {
    const r = await report(err, failingFor);
    assert.is(r === 'kept' ? 'kept' : `${r.status}/${r.reason}`, want, name);
  }
  const stale = await report(unavailable, STALE_VERDICT_MS + 1000);
  assert.match(
    stale === 'kept' ? '' : (stale.message ?? ''),
    /^could not be re-checked since \S+Z, so the last verdict no longer stands: .*etcdserver: request timed out/,
  );
});

test.run();
