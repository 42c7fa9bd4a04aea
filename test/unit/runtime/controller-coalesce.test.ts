// Changes a watch saw are coalesced: a burst costs one reconcile, and a stream of changes keeps the
// workers busy at most about half the time (fake time: the reconcile's duration is scripted).
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { COALESCE_MAX_MS, COALESCE_MIN_MS, Controller } from '../../../src/runtime/controller.ts';
import { withFakeTime, type FakeClock } from '../../support/fake-time.ts';
import { recordingLogger } from '../../support/memory-client.ts';

const test = suite('controller coalescing');

/** A started controller whose reconcile takes `workMs` of fake time; each reconcile's start and end (fake ms). */
function controllerTaking(workMs: number): { controller: Controller; runs: { start: number; end: number }[] } {
  const runs: { start: number; end: number }[] = [];
  const controller = new Controller({
    name: 't',
    log: recordingLogger([]),
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

test('changes while a reconcile runs cost one more, a window (the last reconcile’s duration) after it ends', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(300);
    controller.queue.add('cluster'); // the first reconcile, at once
    await clock.advance(100, 5);
    for (let i = 0; i < 100; i++) {
      controller.enqueue('cluster');
      await clock.advance(1);
    }
    // The changes came while the key was in flight: it runs once more, a window (300 ms) after the first ended.
    await stopAfter(clock, controller, 3000);
    assert.equal(runs, [
      { start: 0, end: 300 },
      { start: 600, end: 900 },
    ]);
  }));

test('a stream of changes every 10 ms for 20 s: reconciles of 400 ms each run about every 800 ms, not back to back', () =>
  withFakeTime(async (clock) => {
    const { controller, runs } = controllerTaking(400);
    for (let t = 0; t < 20_000; t += 10) {
      controller.enqueue('cluster');
      await clock.advance(10, 5);
    }
    await stopAfter(clock, controller, 3000);
    // Back to back (no window) would be 50 reconciles; each window is the last reconcile's 400 ms.
    assert.ok(runs.length >= 20 && runs.length <= 26, `${runs.length} reconciles: ${JSON.stringify(runs.slice(0, 4))}`);
    const busy = runs.reduce((sum, r) => sum + (r.end - r.start), 0);
    assert.ok(busy <= 0.55 * 20_000, `busy ${busy} ms of 20,000`);
  }));

test('the window is the last reconcile’s duration, within its bounds', () =>
  withFakeTime(async (clock) => {
    const { controller } = controllerTaking(5000);
    assert.is(controller.coalesceMs(), COALESCE_MIN_MS, 'nothing reconciled yet');
    controller.queue.add('cluster');
    await clock.advance(5100, 50);
    assert.is(controller.coalesceMs(), COALESCE_MAX_MS, 'a 5 s reconcile: capped');
    await controller.stop();
  }));

test.run();
