import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { cpuMilli, memoryBytes, ownCgroup, parseCpuStat, parseOomKills, quotaFor, sharesFor, shippedResources } from '../../../bench/cgroup.ts';

const test = suite('bench cgroups: the shipped requests and limits as the kubelet sets them');

test('Kubernetes quantities: millicores and bytes', () => {
  assert.is(cpuMilli('50m'), 50);
  assert.is(cpuMilli('0.5'), 500);
  assert.is(cpuMilli(2), 2000);
  assert.is(cpuMilli(undefined), undefined);
  assert.throws(() => cpuMilli('half'), /CPU quantity half/);
  assert.is(memoryBytes('448Mi'), 448 * 2 ** 20);
  assert.is(memoryBytes('1Gi'), 2 ** 30);
  assert.is(memoryBytes('1G'), 1e9);
  assert.is(memoryBytes('1000'), 1000);
  assert.throws(() => memoryBytes('448MB'), /memory quantity 448MB/);
});

test("cpu.shares and cfs_quota follow the kubelet's MilliCPUToShares and MilliCPUToQuota", () => {
  assert.is(sharesFor(50), 51);
  assert.is(sharesFor(1000), 1024);
  assert.is(sharesFor(1), 2);
  assert.is(quotaFor(500), 50_000);
  assert.is(quotaFor(2000), 200_000);
  assert.is(quotaFor(5), 1000);
});

test('the container resources come from the manifest', () => {
  const yaml = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: manager',
    '          resources:',
    '            requests: {cpu: 50m, memory: 192Mi}',
    '            limits: {cpu: 500m, memory: 448Mi}',
  ].join('\n');
  assert.equal(shippedResources(yaml), {
    requests: { cpuMilli: 50, memoryBytes: 192 * 2 ** 20 },
    limits: { cpuMilli: 500, memoryBytes: 448 * 2 ** 20 },
  });
});

test('cpu.stat and memory.oom_control of cgroup v1', () => {
  assert.equal(parseCpuStat('nr_periods 120\nnr_throttled 7\nthrottled_time 1534000000\nnr_bursts 0\nburst_time 0\n'), {
    nrPeriods: 120,
    nrThrottled: 7,
    throttledSeconds: 1.53,
  });
  assert.equal(parseCpuStat(''), { nrPeriods: 0, nrThrottled: 0, throttledSeconds: 0 });
  assert.is(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n'), 2);
  assert.is(parseOomKills('oom_kill_disable 0\nunder_oom 0\n'), 0);
});

test("the bench's own cgroup per controller, from /proc/self/cgroup", () => {
  const text = '9:name=systemd:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n';
  assert.is(ownCgroup(text, 'memory'), '/process_api/abc');
  assert.is(ownCgroup(text, 'cpu'), '');
  assert.is(ownCgroup(text, 'cpuacct'), '');
  assert.is(ownCgroup(text, 'pids'), undefined);
});

test.run();
