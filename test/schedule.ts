// How the test command orders and spreads e2e files: longest first, by the
// durations the last runs on this machine took (kept beside the build caches), so
// two slow files never end up last, one after the other, while a worker idles.
// Files never seen before go first (their duration is unknown, assume the worst);
// known ones by decreasing duration; ties by path, so the order is stable.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Milliseconds each test file took when last run, by its path from the repository root. */
export type Durations = Record<string, number>;

/** The file that keeps durations across runs: under the same cache root as the Go builds. */
export function durationsFile(env: NodeJS.ProcessEnv = process.env): string {
  const cacheRoot = env.AUTHPOLICY_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'authpolicy-operator');
  return join(cacheRoot, 'test-durations.json');
}

/** The recorded durations; none (every file unknown) when the file is missing or unreadable. */
export function readDurations(file: string): Durations {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] >= 0));
  } catch {
    return {};
  }
}

/** Adds this run's durations to the record (atomically: a half-written file is never read). */
export function writeDurations(file: string, previous: Durations, measured: Durations): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ ...previous, ...measured }, null, 1)}\n`);
  renameSync(tmp, file);
}

/** The files in the order workers should take them: unknown first, then longest first. */
export function longestFirst(files: readonly string[], durations: Durations): string[] {
  const key = (f: string): number => durations[f] ?? Number.POSITIVE_INFINITY;
  return [...files].sort((a, b) => key(b) - key(a) || (a < b ? -1 : a > b ? 1 : 0));
}
