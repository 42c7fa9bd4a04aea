import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { Controller, isProgrammingError } from '../../../src/runtime/controller.ts';
import { createLogger } from '../../../src/runtime/log.ts';
import { Metrics } from '../../../src/runtime/metrics.ts';
import { WorkQueue } from '../../../src/runtime/workqueue.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';

const test = suite('metrics');

const series = async (m: Metrics, name: string): Promise<string[]> =>
  (await m.registry.metrics())
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .sort();

test('a condition is one series, replaced when its status or reason changes', async () => {
  const m = new Metrics({ processMetrics: false });
  m.conditions.set('cluster', [
    { type: 'Ready', status: 'False', reason: 'NodeAuthorizerDisabled' },
    { type: 'ClockSynchronized', status: 'True', reason: 'ClockInSync' },
  ]);
  assert.equal(await series(m, 'authpolicy_condition'), [
    'authpolicy_condition{policy="cluster",type="ClockSynchronized",status="True",reason="ClockInSync"} 1',
    'authpolicy_condition{policy="cluster",type="Ready",status="False",reason="NodeAuthorizerDisabled"} 1',
  ]);
  m.conditions.set('cluster', [
    { type: 'Ready', status: 'True', reason: 'AllAreasReady' },
    { type: 'ClockSynchronized', status: 'True', reason: 'ClockInSync' },
  ]);
  assert.equal(await series(m, 'authpolicy_condition'), [
    'authpolicy_condition{policy="cluster",type="ClockSynchronized",status="True",reason="ClockInSync"} 1',
    'authpolicy_condition{policy="cluster",type="Ready",status="True",reason="AllAreasReady"} 1',
  ]);
});

test("a deleted policy's series go, another policy's stay", async () => {
  const m = new Metrics({ processMetrics: false });
  m.conditions.set('a', [{ type: 'Ready', status: 'True', reason: 'AllAreasReady' }]);
  m.conditions.set('b', [{ type: 'Ready', status: 'False', reason: 'Conflict' }]);
  m.conditions.forget('a');
  assert.equal(await series(m, 'authpolicy_condition'), ['authpolicy_condition{policy="b",type="Ready",status="False",reason="Conflict"} 1']);
});

test('rotation and restart counters carry their labels, each label set with every result from its first count', async () => {
  const m = new Metrics({ processMetrics: false });
  m.tokenRotations.inc({ namespace: 'shop', result: 'succeeded' });
  m.workloadRestarts.inc({ kind: 'Deployment', namespace: 'shop', result: 'restarted' });
  assert.equal(await series(m, 'authpolicy_token_rotations_total'), [
    'authpolicy_token_rotations_total{namespace="shop",result="failed"} 0',
    'authpolicy_token_rotations_total{namespace="shop",result="succeeded"} 1',
  ]);
  assert.equal(await series(m, 'authpolicy_workload_restarts_total'), [
    'authpolicy_workload_restarts_total{kind="Deployment",namespace="shop",result="failed"} 0',
    'authpolicy_workload_restarts_total{kind="Deployment",namespace="shop",result="restarted"} 1',
  ]);
  m.tokenRotations.inc({ namespace: 'shop', result: 'failed' });
  m.tokenRotations.inc({ namespace: 'shop', result: 'failed' });
  assert.equal(await series(m, 'authpolicy_token_rotations_total'), [
    'authpolicy_token_rotations_total{namespace="shop",result="failed"} 2',
    'authpolicy_token_rotations_total{namespace="shop",result="succeeded"} 1',
  ]);
});

test('a step-down drops the conditions and hides the clock offsets until the next term writes a status', async () => {
  const m = new Metrics({ processMetrics: false });
  m.conditions.set('cluster', [{ type: 'Ready', status: 'False', reason: 'NodeAuthorizerDisabled' }]);
  m.clockOffset.set({ kind: 'node', name: 'n1' }, 0.5);
  m.stepDown();
  assert.equal(await series(m, 'authpolicy_condition'), [], 'a former leader exports no condition');
  assert.equal(await series(m, 'authpolicy_clock_offset_seconds'), [], 'nor an offset it no longer measures');
  m.clockOffset.set({ kind: 'node', name: 'n2' }, 0.25); // the clock area of the next term, before its status is written
  assert.equal(await series(m, 'authpolicy_clock_offset_seconds'), []);
  m.conditions.set('cluster', [{ type: 'Ready', status: 'True', reason: 'AllAreasReady' }]);
  assert.equal(await series(m, 'authpolicy_condition'), ['authpolicy_condition{policy="cluster",type="Ready",status="True",reason="AllAreasReady"} 1']);
  assert.equal(await series(m, 'authpolicy_clock_offset_seconds'), [
    'authpolicy_clock_offset_seconds{kind="node",name="n1"} 0.5',
    'authpolicy_clock_offset_seconds{kind="node",name="n2"} 0.25',
  ]);
});

test("a controller's counters exist at 0 from its start; a panic is counted, a retried API error is not one", async () => {
  const m = new Metrics({ processMetrics: false });
  const log = createLogger('error', { silent: true });
  let fail: unknown;
  const c = new Controller({
    name: 'authpolicy',
    log,
    metrics: m,
    // Fails once with the error set, then succeeds (the retry), so the counts stay exact.
    reconcile: () => {
      const err = fail;
      fail = undefined;
      return err instanceof Error ? Promise.reject(err) : Promise.resolve(undefined);
    },
  });
  c.start();
  try {
    for (const name of [
      'controller_runtime_reconcile_errors_total',
      'controller_runtime_terminal_reconcile_errors_total',
      'controller_runtime_reconcile_panics_total',
    ])
      assert.equal(await series(m, name), [`${name}{controller="authpolicy"} 0`]);
    assert.equal(await series(m, 'controller_runtime_reconcile_total'), [
      'controller_runtime_reconcile_total{controller="authpolicy",result="error"} 0',
      'controller_runtime_reconcile_total{controller="authpolicy",result="requeue"} 0',
      'controller_runtime_reconcile_total{controller="authpolicy",result="requeue_after"} 0',
      'controller_runtime_reconcile_total{controller="authpolicy",result="success"} 0',
    ]);
    const value = async (name: string, result?: string): Promise<number> => {
      const line = (await series(m, name)).find((l) => result === undefined || l.includes(`result="${result}"`));
      return Number(line?.split(' ')[1]);
    };
    const settle = async (name: string, want: number, result?: string): Promise<void> => {
      const deadline = Date.now() + 5000;
      while ((await value(name, result)) < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.is(await value(name, result), want, name);
    };
    fail = new KubeApiError({ status: 500, reason: 'InternalError', message: 'etcd', method: 'GET', path: '/x' });
    c.queue.add('cluster');
    await settle('controller_runtime_reconcile_total', 1, 'success'); // failed once, then the retry succeeded
    assert.is(await value('controller_runtime_reconcile_errors_total'), 1);
    assert.is(await value('controller_runtime_reconcile_panics_total'), 0, 'an API error is no panic');
    fail = new TypeError("Cannot read properties of undefined (reading 'name')");
    c.queue.add('cluster');
    await settle('controller_runtime_reconcile_total', 2, 'success');
    assert.is(await value('controller_runtime_reconcile_errors_total'), 2);
    assert.is(await value('controller_runtime_reconcile_panics_total'), 1, 'a TypeError is a panic');
    assert.is(await value('controller_runtime_terminal_reconcile_errors_total'), 0, 'every error is retried: none is terminal');
  } finally {
    await c.stop();
  }
});

test('programming errors, alone or among area failures, are panics; API and network errors are not', () => {
  const api = new KubeApiError({ status: 403, reason: 'Forbidden', message: 'no', method: 'GET', path: '/x' });
  assert.ok(isProgrammingError(new TypeError('x is not a function')));
  assert.ok(isProgrammingError(new RangeError('Invalid time value')));
  assert.ok(isProgrammingError(new AggregateError([api, new ReferenceError('y is not defined')])));
  assert.not.ok(isProgrammingError(api));
  assert.not.ok(isProgrammingError(new AggregateError([api])));
  assert.not.ok(isProgrammingError(new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') })));
  assert.not.ok(isProgrammingError(new SyntaxError('Unexpected end of JSON input')));
});

test('unfinished work and the longest running processor are read from the queue when scraped', async () => {
  const m = new Metrics({ processMetrics: false });
  let now = 1_000_000;
  const q = new WorkQueue('authpolicy', { metrics: m.queueMetrics(), now: () => now });
  assert.equal(await series(m, 'workqueue_unfinished_work_seconds'), ['workqueue_unfinished_work_seconds{name="authpolicy",controller="authpolicy"} 0']);
  q.add('a');
  q.add('b');
  await q.get();
  now += 3000;
  await q.get();
  now += 1500;
  assert.equal(await series(m, 'workqueue_unfinished_work_seconds'), ['workqueue_unfinished_work_seconds{name="authpolicy",controller="authpolicy"} 6']);
  assert.equal(await series(m, 'workqueue_longest_running_processor_seconds'), [
    'workqueue_longest_running_processor_seconds{name="authpolicy",controller="authpolicy"} 4.5',
  ]);
  q.done('a');
  q.done('b');
  assert.equal(await series(m, 'workqueue_longest_running_processor_seconds'), [
    'workqueue_longest_running_processor_seconds{name="authpolicy",controller="authpolicy"} 0',
  ]);
  q.shutDown();
});

test.run();
