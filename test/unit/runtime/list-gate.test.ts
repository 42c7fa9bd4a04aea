import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ListGate } from '../../../src/runtime/list-gate.ts';

const test = suite('list gate');

/** A page that finishes when told to. */
function page(): { run: () => Promise<string>; finish: (v: string) => void; fail: (e: Error) => void; started: () => boolean } {
  let started = false;
  let finish: (v: string) => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const done = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    run: () => {
      started = true;
      return done;
    },
    finish: (v) => {
      finish(v);
    },
    fail: (e) => {
      fail(e);
    },
    started: () => started,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('runs at most its limit at once, the waiting ones in order of arrival', async () => {
  const gate = new ListGate(2);
  const pages = [page(), page(), page(), page()];
  const all = Promise.allSettled(pages.map((p) => gate.run(p.run)));
  await tick();
  assert.equal(
    pages.map((p) => p.started()),
    [true, true, false, false],
  );
  assert.equal(gate.load, { running: 2, waiting: 2 });
  pages[1]?.finish('b');
  await tick();
  assert.equal(
    pages.map((p) => p.started()),
    [true, true, true, false],
    'the first waiting page took the freed slot',
  );
  pages[0]?.fail(new Error('list failed'));
  await tick();
  assert.ok(pages[3]?.started(), 'a failed page frees its slot too');
  pages[2]?.finish('c');
  pages[3]?.finish('d');
  const settled = await all;
  assert.equal(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)),
    ['list failed', 'b', 'c', 'd'],
  );
  assert.equal(gate.load, { running: 0, waiting: 0 });
});

test('a page whose informer stops while it waits is dropped without taking a slot', async () => {
  const gate = new ListGate(1);
  const first = page();
  const running = gate.run(first.run);
  const stop = new AbortController();
  const never = page();
  const waiting = gate.run(never.run, stop.signal).then(
    () => 'ran',
    (err: unknown) => (err as Error).message,
  );
  const last = page();
  const after = gate.run(last.run);
  stop.abort(new Error('informer stopped'));
  assert.is(await waiting, 'informer stopped');
  first.finish('a');
  await tick();
  assert.ok(last.started(), 'the next page runs');
  assert.not.ok(never.started(), 'the aborted page never ran');
  last.finish('c');
  assert.equal(await Promise.all([running, after]), ['a', 'c']);
  const refused = await gate.run(page().run, stop.signal).then(
    () => 'ran',
    (err: unknown) => (err as Error).message,
  );
  assert.is(refused, 'informer stopped', 'an already aborted signal is refused at once');
});

test('refuses a limit below one', () => {
  assert.throws(() => new ListGate(0), /positive integer, got 0/);
});

test.run();
