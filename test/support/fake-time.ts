// Fake time for unit tests (uvu has none of its own): node:test's MockTimers, driven by the
// test. setTimeout, setInterval and Date move only when the test advances them, so a unit test
// never waits on the real clock and cannot be made flaky by a slow machine.
import { mock } from 'node:test';

export interface FakeClock {
  /** Moves time on by `ms`, a step at a time, letting the promises each step resolved run before the next. */
  advance(ms: number, stepMs?: number): Promise<void>;
}

/** Lets every promise continuation queued so far run (setImmediate is left real for this). */
const settle = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

/** Runs `fn` with fake timers from the epoch (Date.now() === 0), and puts the real ones back after. */
export async function withFakeTime<T>(fn: (clock: FakeClock) => Promise<T>): Promise<T> {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 0 });
  try {
    return await fn({
      advance: async (ms, stepMs = 1) => {
        for (let passed = 0; passed < ms; passed += stepMs) {
          await settle();
          mock.timers.tick(Math.min(stepMs, ms - passed));
        }
        await settle();
      },
    });
  } finally {
    mock.timers.reset();
  }
}
