import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Metrics } from '../../../src/runtime/metrics.ts';

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

test('rotation and restart counters carry their labels', async () => {
  const m = new Metrics({ processMetrics: false });
  m.tokenRotations.inc({ namespace: 'shop', result: 'succeeded' });
  m.workloadRestarts.inc({ kind: 'Deployment', namespace: 'shop', result: 'restarted' });
  assert.equal(await series(m, 'authpolicy_token_rotations_total'), ['authpolicy_token_rotations_total{namespace="shop",result="succeeded"} 1']);
  assert.equal(await series(m, 'authpolicy_workload_restarts_total'), [
    'authpolicy_workload_restarts_total{kind="Deployment",namespace="shop",result="restarted"} 1',
  ]);
});

test.run();
