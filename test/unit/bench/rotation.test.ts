import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import type { DeploymentView } from '../../../bench/generate.ts';
import { rolloutTiming } from '../../../bench/rotation.ts';

const test = suite('bench rollout timing');

const deployment = (
  name: string,
  restartedAt: string | undefined,
  completedAt: string | undefined,
  annotations: Record<string, string> = restartedAt ? { 'authpolicy.io/restartedAt': restartedAt } : {},
): DeploymentView => ({
  metadata: { name, namespace: 'bench-0', generation: 2 },
  spec: {
    template: {
      ...(Object.keys(annotations).length ? { metadata: { annotations } } : {}),
      spec: { containers: [] },
    },
  },
  status: completedAt ? { conditions: [{ type: 'Progressing', reason: 'NewReplicaSetAvailable', lastUpdateTime: completedAt }] } : {},
});

test('times each restart from its mark to NewReplicaSetAvailable, and how many ran at once', () => {
  const t = rolloutTiming([
    deployment('a', '2026-11-27T10:00:00.000Z', '2026-11-27T10:00:02Z'),
    deployment('b', '2026-11-27T10:00:01.000Z', '2026-11-27T10:00:03Z'),
    deployment('c', '2026-11-27T10:00:02.000Z', '2026-11-27T10:00:06Z'),
    deployment('untouched', undefined, '2026-11-27T09:00:00Z'),
    deployment('running', '2026-11-27T10:00:03.000Z', undefined),
  ]);
  assert.equal(t, { timed: 3, medianSeconds: 2, p90Seconds: 4, startedPerSecond: 1, meanInFlight: 1.3 });
});

test('a completion stamped to the second before its start counts as instant; an older completion is not this restart', () => {
  const t = rolloutTiming([
    deployment('same-second', '2026-11-27T10:00:00.600Z', '2026-11-27T10:00:00Z'),
    deployment('previous-rollout', '2026-11-27T10:00:05.000Z', '2026-11-27T10:00:01Z'),
  ]);
  assert.equal(t, { timed: 1, medianSeconds: 0, p90Seconds: 0, startedPerSecond: 0, meanInFlight: 0 });
});

test("kubectl's mark times the script's and the floor's restarts; the newer mark wins; an earlier rotation's is left out", () => {
  const since = Date.parse('2026-11-27T10:00:00Z');
  const t = rolloutTiming(
    [
      deployment('kubectl', undefined, '2026-11-27T10:00:20Z', { 'kubectl.kubernetes.io/restartedAt': '2026-11-27T10:00:17Z' }),
      deployment('both', undefined, '2026-11-27T10:00:50Z', {
        'authpolicy.io/restartedAt': '2026-11-27T09:00:00.000Z',
        'kubectl.kubernetes.io/restartedAt': '2026-11-27T10:00:18Z',
      }),
      deployment('earlier-rotation', undefined, '2026-11-27T09:00:05Z', { 'kubectl.kubernetes.io/restartedAt': '2026-11-27T09:00:01Z' }),
    ],
    since,
  );
  assert.equal(t, {
    timed: 2,
    medianSeconds: 32,
    p90Seconds: 32,
    startedPerSecond: 1,
    meanInFlight: 1.1,
    firstStartSeconds: 17,
    lastStartSeconds: 18,
    lastCompletedSeconds: 50,
    maxSeconds: 32,
  });
});

test('nothing restarted by the operator: no timing', () => {
  assert.is(rolloutTiming([deployment('a', undefined, '2026-11-27T10:00:02Z')]), undefined);
});

test.run();
