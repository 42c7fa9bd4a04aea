// Changes a watch saw are coalesced: a burst costs one reconcile, and a stream of changes keeps the
// process busy at most about half the time and starts at most one reconcile a second however cheap
// each is (fake time: the reconcile's duration, and how much of it is CPU, are scripted).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { COALESCE_MAX_MS, COALESCE_MIN_MS, Controller, STREAM_PERIOD_MS } from '../../../src/runtime/controller.ts';
import { withFakeTime, type FakeClock } from '../../support/fake-time.ts';
import { recordingLogger } from '../../support/memory-client.ts';

const test = suite('controller coalescing');

/**
 * A started controller whose reconcile takes `workMs` of fake time, all of it CPU unless it `waits` (on the API
 * server, as a rotation step's writes do); each reconcile's start and end (fake ms).
 */
function controllerTaking(workMs: number, waits = false): { controller: Controller; runs: { start: number; end: number }[] } {
  const runs: { start: number; end: number }[] = [];
  const controller = new Controller({
    name: 't',
    log: recordingLogger([]),
    cpuMs: () => (waits ? 0 : Date.now()),
    reconcile: async () => {
      const run = { start: Date.now(), end: -1 };
      runs.push(run);
      await new Promise((resolve) => setTimeout(resolve, workMs));
      run.end = Date.now();
      return undefined;
    },
  });
  controller.start();
  return { controller, runs };
}

/** A watch seeing the policy change every 10 ms for `ms`. */
async function changeEvery10Ms(clock: FakeClock, controller: Controller, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    controller.enqueue('cluster');
    await clock.advance(10, 5);
  }
}

async function stopAfter(clock: FakeClock, controller: Controller, ms: number): Promise<void> {
  await clock.advance(ms, 5);
  await controller.stop();
}

test('a burst of 5,000 changes (a relist, a rotation stamping every Secret) costs one reconcile', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(20);
    for (let i = 0; i < 5000; i++) controller.enqueue('cluster');
    await stopAfter(clock, controller, 2000);
    assert.equal(runs, [{ start: COALESCE_MIN_MS, end: COALESCE_MIN_MS + 20 }], 'one reconcile, once the window closed');
  }));

test('changes while a reconcile runs cost one more, a window after it ends: at least its duration, and a second after it started', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(300);
    controller.queue.add('cluster'); // the first reconcile, at once
    await clock.advance(100, 5);
    for (let i = 0; i < 100; i++) {
      controller.enqueue('cluster');
      await clock.advance(1);
    }
    // The changes came while the key was in flight: it runs once more, STREAM_PERIOD_MS after the first started
    // (the window would have been the first's 300 ms).
    await stopAfter(clock, controller, 3000);
    assert.equal(runs, [
      { start: 0, end: 300 },
      { start: STREAM_PERIOD_MS, end: STREAM_PERIOD_MS + 300 },
    ]);
  }));

test('a stream of changes every 10 ms for 20 s: reconciles of 400 ms each run about once a second, not back to back', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(400);
    await changeEvery10Ms(clock, controller, 20_000);
    await stopAfter(clock, controller, 3000);
    // Back to back (no window) would be 50 reconciles; windows of the last reconcile's 400 ms alone, 25.
    assert.ok(runs.length >= 19 && runs.length <= 22, `${runs.length} reconciles: ${JSON.stringify(runs.slice(0, 4))}`);
    const busy = runs.reduce((sum, r) => sum + (r.end - r.start), 0);
    assert.ok(busy <= 0.55 * 20_000, `busy ${busy} ms of 20,000`);
  }));

test('a reconcile that waits on the API server does not push the next one away: the window is CPU, not wall time', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(1500, true);
    controller.queue.add('cluster');
    await clock.advance(100, 5);
    controller.enqueue('cluster'); // a refill seen while the step's writes are out
    await stopAfter(clock, controller, 5000);
    // A 1,500 ms window (its wall time) would start the next at 3,000 ms.
    assert.equal(
      runs.map((r) => r.start),
      [0, 1500 + COALESCE_MIN_MS],
    );
  }));

test('a stream of changes every 10 ms for 10 s: reconciles of 20 ms start once a second, not every 70 ms', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(20);
    await changeEvery10Ms(clock, controller, 10_000);
    await stopAfter(clock, controller, 3000);
    // Windows of the 50 ms minimum alone would start one every 70 ms: about 140.
    assert.ok(runs.length >= 10 && runs.length <= 12, `${runs.length} reconciles: ${JSON.stringify(runs.slice(0, 4))}`);
    const gaps = runs.slice(1).map((r, i) => r.start - (runs[i]?.start ?? 0));
    assert.ok(
      gaps.every((g) => g >= STREAM_PERIOD_MS),
      `starts at least ${STREAM_PERIOD_MS} ms apart: ${JSON.stringify(gaps)}`,
    );
  }));

test('a change after a quiet spell waits only the minimum window', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(20);
    controller.enqueue('cluster');
    await clock.advance(5000, 50);
    controller.enqueue('cluster');
    await stopAfter(clock, controller, 1000);
    assert.equal(
      runs.map((r) => r.start),
      [COALESCE_MIN_MS, 5000 + COALESCE_MIN_MS],
    );
  }));

test('the window is the last reconcile’s CPU, within its bounds', () =>
  withFakeTime(async (clock) => {
    const { controller } = controllerTaking(5000);
    assert.is(controller.coalesceMs(), COALESCE_MIN_MS, 'nothing reconciled yet');
    controller.queue.add('cluster');
    await clock.advance(5100, 50);
    assert.is(controller.coalesceMs(), COALESCE_MAX_MS, 'a 5 s reconcile: capped');
    await controller.stop();
  }));

test.run();
