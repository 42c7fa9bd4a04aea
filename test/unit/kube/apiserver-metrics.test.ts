// Reading the API server's /metrics: labelled samples, and the bounded read (at most every 30 s per client,
// again at once when an API server restarted).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { ApiserverMetricsReader, metricSamples, METRICS_MIN_INTERVAL_MS } from '../../../src/kube/apiserver-metrics.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';

const test = suite('kube-apiserver metrics');

test('samples with labels, escaped quotes, and no false prefix matches', () => {
  const text = [
    '# TYPE apiserver_authorization_decisions_total counter',
    'apiserver_authorization_decisions_total{decision="allowed",name="node",type="Node"} 24',
    'apiserver_authorization_decisions_total{decision="allowed",name="we\\"bhook",type="Webhook"} 1e3',
    'apiserver_authorization_decisions_total_other{type="Node"} 5',
    'apiserver_authorization_decisions_total 7',
  ].join('\n');
  assert.equal(metricSamples(text, 'apiserver_authorization_decisions_total'), [
    { labels: { decision: 'allowed', name: 'node', type: 'Node' }, value: 24 },
    { labels: { decision: 'allowed', name: 'we"bhook', type: 'Webhook' }, value: 1000 },
    { labels: {}, value: 7 },
  ]);
});

test("a metric's lines found anywhere: the first line, between others, the last line without a newline", () => {
  const text = ['m_total{a="1"} 1', '# HELP m_total counts', 'other 9', 'm_total{a="2"} 2', 'xm_total 5', 'm_total{a="3"} 3'].join('\n');
  assert.equal(
    metricSamples(text, 'm_total').map((s) => s.value),
    [1, 2, 3],
  );
  assert.equal(metricSamples(`${text}\n`, 'm_total').length, 3);
  assert.equal(metricSamples('', 'm_total'), []);
});

function fakeClient(answer: () => string): { client: KubeClient; reads: () => number } {
  let reads = 0;
  const client = {
    getText: (path: string): Promise<string> => {
      reads++;
      assert.is(path, '/metrics');
      return Promise.resolve(answer());
    },
  } as unknown as KubeClient;
  return { client, reads: () => reads };
}

test('read at most every 30 s per client, and again when the API servers changed', async () => {
  const { client, reads } = fakeClient(() => 'x 1');
  const t0 = 1_000_000;
  const reader = new ApiserverMetricsReader();
  await reader.read(client, 'apiserver-1', t0);
  await reader.read(client, 'apiserver-1', t0 + 1_000);
  await reader.read(client, 'apiserver-1', t0 + METRICS_MIN_INTERVAL_MS - 1);
  assert.is(reads(), 1);
  await reader.read(client, 'apiserver-1', t0 + METRICS_MIN_INTERVAL_MS);
  assert.is(reads(), 2);
  await reader.read(client, 'apiserver-2', t0 + METRICS_MIN_INTERVAL_MS + 1);
  assert.is(reads(), 3, 'a restarted API server starts its counters over: read again');
  await new ApiserverMetricsReader().read(client, 'apiserver-2', t0 + METRICS_MIN_INTERVAL_MS + 2);
  assert.is(reads(), 4, 'the memo is the reader made at wiring time, not shared module state');
});

test('a refusal is a value naming the permission, not an exception', async () => {
  const { client } = fakeClient(() => {
    throw new KubeApiError({ status: 403, reason: 'Forbidden', message: 'forbidden', method: 'GET', path: '/metrics' });
  });
  const m = await new ApiserverMetricsReader().read(client, 'a', 0);
  assert.is(m.readable, false);
  assert.match(m.readable ? '' : m.why, /nonResourceURLs: \["\/metrics"\], verb get/);
});

test.run();
