// Restart windows, pure: whether restarts may run at an instant and when the next
// window opens. A window is wall-clock time in an IANA time zone (read through Intl,
// so DST follows the zone's rules): it opens on each listed day at `start` and closes
// at `end`, the next day when `end` is earlier than `start` (across midnight). On a
// day a DST change skips its start (spring forward), a window opens when the clock
// reaches a minute inside it; in the hour repeated by fall back it is open twice.
import type { RestartWindowSpec, Weekday } from '../../../api/types.ts';

export const WEEKDAYS: readonly Weekday[] = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MINUTE = 60_000;
/** Windows recur weekly: one week (plus a DST hour) holds every opening. */
const HORIZON_MS = 8 * 24 * 3600_000;

/** The wall clock in a zone: weekday (0 = Sunday) and minute of the day. One formatter per zone, made once per call (a scan reads it thousands of times). */
export function wallClockIn(timeZone: string): (at: number) => { day: number; minute: number } {
  const f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return (at) => {
    const parts = f.formatToParts(new Date(at));
    const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
    return { day: WEEKDAYS.indexOf(get('weekday') as Weekday), minute: Number(get('hour')) * 60 + Number(get('minute')) };
  };
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Whether one window is open at an instant (`clock`: its zone's wall clock, when asked many times). */
export function windowOpen(w: RestartWindowSpec, at: number, clock = wallClockIn(w.timeZone ?? 'UTC')): boolean {
  const { day, minute } = clock(at);
  const days = new Set((w.days?.length ? w.days : WEEKDAYS).map((d) => WEEKDAYS.indexOf(d)));
  const start = minutes(w.start);
  const end = minutes(w.end);
  if (start < end) return days.has(day) && minute >= start && minute < end;
  // Across midnight: the evening of a listed day, or the morning after one.
  return (days.has(day) && minute >= start) || (days.has((day + 6) % 7) && minute < end);
}

export interface WindowState {
  /** restarts may run now (no windows configured: always) */
  open: boolean;
  /** when closed: the next instant a window opens (undefined: none within a week, which valid windows never give) */
  nextOpen: number | undefined;
}

/** Open now, or when next: scans minute by minute (wall-clock openings fall on whole minutes in every zone). */
export function restartWindowState(windows: readonly RestartWindowSpec[], now: number): WindowState {
  const clocks = windows.map((w) => ({ w, clock: wallClockIn(w.timeZone ?? 'UTC') }));
  const open = (at: number): boolean => clocks.some(({ w, clock }) => windowOpen(w, at, clock));
  if (windows.length === 0 || open(now)) return { open: true, nextOpen: undefined };
  for (let at = Math.floor(now / MINUTE) * MINUTE + MINUTE; at <= now + HORIZON_MS; at += MINUTE) {
    if (open(at)) return { open: false, nextOpen: at };
  }
  return { open: false, nextOpen: undefined };
}
