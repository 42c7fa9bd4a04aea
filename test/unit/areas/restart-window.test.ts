// Restart-window arithmetic: wall-clock windows in IANA zones, across midnight and DST changes.
import { suite } from '../../support/suite.ts';
import * as assert from 'uvu/assert';
import { restartWindowState, windowOpen } from '../../../src/areas/legacytokens/restarts/window.ts';
import { resolveSpec } from '../../../src/api/defaults.ts';
import { validateAuthPolicy } from '../../../src/api/validate.ts';
import { shippedSchema } from '../../../src/cli/check.ts';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const test = suite('restart windows');

test('no windows: always open', () => {
  assert.equal(restartWindowState([], at('2026-03-01T12:00:00Z')), { open: true, nextOpen: undefined });
});

test('a daytime window on weekdays, in a zone', () => {
  const w = { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] as const, start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' };
  const win = { ...w, days: [...w.days] };
  // Friday 2026-01-16, winter: Berlin is UTC+1.
  assert.ok(windowOpen(win, at('2026-01-16T08:00:00Z')), '09:00 Berlin opens');
  assert.not.ok(windowOpen(win, at('2026-01-16T07:59:00Z')));
  assert.not.ok(windowOpen(win, at('2026-01-16T16:00:00Z')), '17:00 Berlin is closed (end exclusive)');
  // Friday evening: the next opening is Monday 09:00 Berlin.
  assert.equal(iso(restartWindowState([win], at('2026-01-16T18:00:00Z')).nextOpen), '2026-01-19T08:00:00.000Z');
});

test('a window across midnight belongs to the day it starts', () => {
  const win = { days: ['Sat' as const], start: '22:00', end: '02:00', timeZone: 'UTC' };
  assert.ok(windowOpen(win, at('2026-01-17T23:00:00Z')), 'Saturday night');
  assert.ok(windowOpen(win, at('2026-01-18T01:59:00Z')), 'early Sunday, same window');
  assert.not.ok(windowOpen(win, at('2026-01-18T02:00:00Z')));
  assert.not.ok(windowOpen(win, at('2026-01-18T23:00:00Z')), 'Sunday night is not listed');
  assert.not.ok(windowOpen(win, at('2026-01-17T01:00:00Z')), "early Saturday belongs to Friday's window");
  assert.equal(iso(restartWindowState([win], at('2026-01-18T03:00:00Z')).nextOpen), '2026-01-24T22:00:00.000Z');
});

test('DST: the same wall-clock window moves in UTC, spring forward and fall back', () => {
  const win = { start: '03:00', end: '04:00', timeZone: 'Europe/Berlin' };
  // Berlin springs forward on 2026-03-29 at 02:00 -> 03:00 (UTC+1 -> UTC+2).
  assert.equal(iso(restartWindowState([win], at('2026-03-28T12:00:00Z')).nextOpen), '2026-03-29T01:00:00.000Z', '03:00 CEST = 01:00 UTC');
  assert.equal(iso(restartWindowState([win], at('2026-03-27T12:00:00Z')).nextOpen), '2026-03-28T02:00:00.000Z', 'the day before: 03:00 CET = 02:00 UTC');
  // A window starting in the skipped hour opens when the clock reaches a minute inside it.
  const skipped = { start: '02:30', end: '03:30', timeZone: 'Europe/Berlin' };
  assert.equal(
    iso(restartWindowState([skipped], at('2026-03-28T12:00:00Z')).nextOpen),
    '2026-03-29T01:00:00.000Z',
    'opens at 03:00 CEST, the first minute that exists',
  );
  // Fall back on 2026-10-25 at 03:00 CEST -> 02:00 CET: 02:00-03:00 happens twice, the window is open both times.
  const repeated = { start: '02:00', end: '03:00', timeZone: 'Europe/Berlin' };
  assert.ok(windowOpen(repeated, at('2026-10-25T00:30:00Z')), '02:30 CEST');
  assert.ok(windowOpen(repeated, at('2026-10-25T01:30:00Z')), '02:30 CET');
  assert.not.ok(windowOpen(repeated, at('2026-10-25T02:00:00Z')), '03:00 CET');
  // New York: spring forward 2026-03-08.
  const ny = { start: '09:00', end: '10:00', timeZone: 'America/New_York' };
  assert.equal(iso(restartWindowState([ny], at('2026-03-07T16:00:00Z')).nextOpen), '2026-03-08T13:00:00.000Z', '09:00 EDT');
});

test('several windows: the earliest opening; open inside any', () => {
  const ws = [
    { start: '20:00', end: '21:00', timeZone: 'UTC' },
    { start: '12:00', end: '12:30', timeZone: 'Asia/Tokyo' },
  ];
  assert.equal(iso(restartWindowState(ws, at('2026-01-10T00:00:00Z')).nextOpen), '2026-01-10T03:00:00.000Z');
  assert.ok(restartWindowState(ws, at('2026-01-10T20:15:00Z')).open);
});

test('resolveSpec refuses an unknown zone and an empty window, naming the field', () => {
  assert.throws(
    () => resolveSpec({ legacyTokens: { restartWindows: [{ start: '01:00', end: '02:00', timeZone: 'Mars/Olympus' }] } }),
    /restartWindows\[0\]\.timeZone/,
  );
  assert.throws(() => resolveSpec({ legacyTokens: { restartWindows: [{ start: '01:00', end: '01:00' }] } }), /restartWindows\[0\]/);
  assert.throws(() => resolveSpec({ legacyTokens: { restartNow: 'soon' } }), /restartNow/);
  assert.is(resolveSpec({ legacyTokens: { restartWindows: [{ start: '01:00', end: '02:00' }] } }).legacyTokens.restartWindows[0]?.timeZone, 'UTC');
});

test('the CRD refuses malformed windows with messages naming the field (offline port of its rules)', async () => {
  const manifest = {
    apiVersion: 'authpolicy.io/v1alpha1',
    kind: 'AuthPolicy',
    metadata: { name: 'cluster' },
    spec: {
      legacyTokens: {
        restartWindows: [
          { start: '22:00', end: '22:00', days: ['Mon', 'Mon'] },
          { start: '25:00', end: '02:00' },
          { start: '01:00', end: '02:00', timeZone: 'Europe/Berlin', days: ['Sat'] },
        ],
      },
    },
  };
  const { errors, defaulted } = validateAuthPolicy(manifest, await shippedSchema());
  assert.equal(errors, [
    'spec.legacyTokens.restartWindows[0].days: Invalid value: days must not list a day twice',
    'spec.legacyTokens.restartWindows[0].end: Invalid value: a restart window must not start and end at the same time (22:00); to allow restarts at any time, remove restartWindows',
    `spec.legacyTokens.restartWindows[1].start: Invalid value: "25:00": must match '^([01][0-9]|2[0-3]):[0-5][0-9]$'`,
  ]);
  const windows = (defaulted as { spec: { legacyTokens: { restartWindows: { timeZone?: string }[] } } }).spec.legacyTokens.restartWindows;
  assert.is(windows[1]?.timeZone, 'UTC', 'the zone defaults to UTC');
});

test.run();
