import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countRequests, counterBy, diff, reconcilesBetween } from '../../../bench/measure.ts';
import { mountedSecrets, rolledOut, type DeploymentView } from '../../../bench/generate.ts';

const test = suite('bench measurements');

const ev = (id: string, stage: string, group: string, verb: string, resource: string, at: string, code = 200): string =>
  JSON.stringify({
    auditID: id,
    stage,
    verb,
    user: { username: 'u', groups: [group, 'system:authenticated'] },
    userAgent: 'agent/1 (linux)',
    objectRef: { resource },
    requestURI: `/api/v1/${resource}`,
    responseStatus: { code },
    requestReceivedTimestamp: at,
  });

test('audit counting: one request per audit ID, only the group, only the window, failures counted', async () => {
  const file = join(await mkdtemp(join(tmpdir(), 'bench-test-')), 'audit.log');
  await writeFile(
    file,
    [
      ev('a', 'ResponseStarted', 'bench:floor', 'watch', 'secrets', '2026-01-01T00:00:01Z'),
      ev('a', 'ResponseComplete', 'bench:floor', 'watch', 'secrets', '2026-01-01T00:00:01Z'),
      ev('b', 'ResponseComplete', 'bench:floor', 'patch', 'secrets', '2026-01-01T00:00:02Z'),
      ev('c', 'ResponseComplete', 'bench:floor', 'patch', 'secrets', '2026-01-01T00:00:03Z', 409),
      ev('d', 'ResponseComplete', 'bench:kubectl', 'patch', 'secrets', '2026-01-01T00:00:02Z'),
      ev('e', 'ResponseComplete', 'bench:floor', 'list', 'secrets', '2026-01-01T00:10:00Z'),
    ].join('\n') + '\n',
  );
  const r = await countRequests(file, 'bench:floor', Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T00:01:00Z'));
  assert.is(r.total, 3);
  assert.equal(r.byVerbResource, { 'patch secrets': 2, 'watch secrets': 1 });
  assert.equal(r.byUserAgent, { 'agent/1': 3 });
  assert.is(r.failed, 1);
});

test('counterBy sums a counter by labels and diff keeps what grew', () => {
  const before = counterBy('authpolicy_api_requests_total{verb="get",resource="leases"} 3\n', 'authpolicy_api_requests_total', ['verb', 'resource']);
  const after = counterBy(
    [
      '# TYPE authpolicy_api_requests_total counter',
      'authpolicy_api_requests_total{verb="get",resource="leases"} 10',
      'authpolicy_api_requests_total{verb="list",resource="pods"} 2',
      'authpolicy_api_requests_totalx{verb="get",resource="leases"} 99',
    ].join('\n'),
    'authpolicy_api_requests_total',
    ['verb', 'resource'],
  );
  assert.equal(diff(after, before), { 'get leases': 7, 'list pods': 2 });
});

test('reconcilesBetween counts every result and sums the histogram, not its buckets', () => {
  const scrape = (ok: number, requeue: number, sum: number): string =>
    [
      `controller_runtime_reconcile_total{controller="authpolicy",result="success"} ${ok}`,
      `controller_runtime_reconcile_total{controller="authpolicy",result="requeue_after"} ${requeue}`,
      `controller_runtime_reconcile_time_seconds_bucket{le="0.1",controller="authpolicy"} ${ok}`,
      `controller_runtime_reconcile_time_seconds_sum{controller="authpolicy"} ${sum}`,
      `controller_runtime_reconcile_time_seconds_count{controller="authpolicy"} ${ok + requeue}`,
    ].join('\n');
  assert.equal(reconcilesBetween(scrape(3, 1, 0.5), scrape(10, 4, 2.755)), { count: 10, seconds: 2.26 });
  assert.equal(reconcilesBetween('', scrape(1, 0, 0.2)), { count: 1, seconds: 0.2 });
});

const dep = (spec: Partial<DeploymentView['spec']['template']['spec']>, status?: DeploymentView['status']): DeploymentView => ({
  metadata: { name: 'd', namespace: 'n', generation: 2 },
  spec: { replicas: 1, template: { spec: { containers: [], ...spec } } },
  status,
});

test('mountedSecrets finds volumes, projected sources, env and envFrom', () => {
  const d = dep({
    volumes: [{ secret: { secretName: 'a' } }, { projected: { sources: [{ secret: { name: 'b' } }, {}] } }, {}],
    containers: [{ env: [{ valueFrom: { secretKeyRef: { name: 'c' } } }, {}], envFrom: [{ secretRef: { name: 'd' } }] }],
  });
  assert.equal(mountedSecrets(d).sort(), ['a', 'b', 'c', 'd']);
  assert.equal(mountedSecrets(dep({ containers: [{}] })), []);
});

test('rolledOut needs the current generation observed and every replica updated and available', () => {
  assert.ok(rolledOut(dep({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 })));
  assert.not.ok(rolledOut(dep({}, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 })));
  assert.not.ok(rolledOut(dep({}, { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1 })));
  assert.not.ok(rolledOut(dep({}, { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1, unavailableReplicas: 1 })));
});

test.run();
