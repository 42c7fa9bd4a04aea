import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { pidByCommandLine, watchesHeld } from '../../../bench/measure.ts';
import { isPlaceholder, newVerdicts, type Verdict } from '../../../bench/verdicts.ts';

const test = suite('bench: watches held, the API server process, first real verdicts');

test('watches held: open at once within the window, whenever they started; ends before starts at one instant', () => {
  const w = [
    { start: 0, end: 50 }, // started before the window, ends inside
    { start: 5, end: 200 }, // spans it
    { start: 20, end: 30 },
    { start: 30, end: 40 }, // re-opened as the previous one closed: still one
    { start: 120, end: 130 }, // after the window
    { start: 1, end: 8 }, // closed before the window
  ];
  assert.equal(watchesHeld(w, 10, 100), { max: 3, atEnd: 1 });
});

test('watches held: one never logged complete ends at the next kube-apiserver restart, or is held on', () => {
  const w = [{ start: 0 }, { start: 60 }];
  assert.equal(watchesHeld(w, 10, 100, [50]), { max: 1, atEnd: 1 });
  assert.equal(watchesHeld(w, 10, 100), { max: 2, atEnd: 2 });
});

test('the kube-apiserver of this cluster, by binary name and its port', () => {
  const procs = [
    { pid: 10, cmdline: ['/bin/kube-apiserver', '--secure-port=6443'] },
    { pid: 11, cmdline: ['/root/.cache/x/kube-apiserver', '--etcd-servers=http://127.0.0.1:1', '--secure-port=40001'] },
    { pid: 12, cmdline: ['/usr/bin/grep', 'kube-apiserver', '--secure-port=40001'] },
  ];
  assert.is(pidByCommandLine(procs, ['kube-apiserver', '--secure-port=40001']), 11);
  assert.is(pidByCommandLine(procs, ['kube-apiserver', '--secure-port=1']), undefined);
});

const waiting = { type: 'LegacyTokensReady', status: 'Unknown', reason: 'ObserveFailed', message: 'not observed yet: waiting for cache secrets to sync' };

test('a "waiting for cache" Unknown is a placeholder; an Unknown for a real failure is a verdict', () => {
  assert.ok(isPlaceholder(waiting));
  assert.ok(isPlaceholder({ type: 'ClockSynchronized', status: 'Unknown', reason: 'ObserveFailed', message: 'cache leases not synced yet' }));
  assert.not.ok(isPlaceholder({ type: 'ClockSynchronized', status: 'Unknown', reason: 'NoClockData', message: 'no clock samples yet' }));
  assert.not.ok(isPlaceholder({ type: 'ClockSynchronized', status: 'Unknown', reason: 'ObserveFailed', message: 'could not evaluate: 500' }));
});

test('an area has its first verdict once every condition it owns has one; the first time is kept', () => {
  const seen = new Map<string, Verdict>();
  newVerdicts(
    [
      { type: 'NodeAuthorizationReady', status: 'True', reason: 'NodeAuthorizer' },
      waiting,
      { type: 'WorkloadsRestarted', status: 'True', reason: 'NothingToRestart' },
    ],
    1.5,
    seen,
  );
  assert.equal([...seen.keys()], ['nodeAuthorization']);
  newVerdicts(
    [
      { type: 'NodeAuthorizationReady', status: 'False', reason: 'KubeletsDenied' },
      { type: 'LegacyTokensReady', status: 'True', reason: 'TokensValid' },
      { type: 'WorkloadsRestarted', status: 'True', reason: 'NothingToRestart' },
      { type: 'ClockSynchronized', status: 'True', reason: 'ClocksInSync' },
    ],
    4,
    seen,
  );
  assert.equal(Object.fromEntries(seen), {
    nodeAuthorization: { seconds: 1.5, status: 'True', reason: 'NodeAuthorizer' },
    legacyTokens: { seconds: 4, status: 'True', reason: 'TokensValid' },
    clock: { seconds: 4, status: 'True', reason: 'ClocksInSync' },
  });
});

test.run();
