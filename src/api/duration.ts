// Go-style durations ("90s", "1h30m", "720h"), the format Kubernetes uses for
// metav1.Duration fields and that the CRD's CEL rules check with duration().

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/y;

/** Parses a Go-style duration into milliseconds; throws naming the field on a bad value. */
export function parseDuration(value: string, field = 'duration'): number {
  if (value === '0') return 0;
  let total = 0;
  let index = 0;
  PART.lastIndex = 0;
  while (index < value.length) {
    PART.lastIndex = index;
    const m = PART.exec(value);
    if (!m || m[1] === undefined || m[2] === undefined) {
      throw new Error(`${field}: "${value}" is not a duration; use Go syntax such as 30s, 5m or 1h30m`);
    }
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
    index = PART.lastIndex;
  }
  if (value.length === 0) throw new Error(`${field}: empty duration; use Go syntax such as 30s, 5m or 1h30m`);
  return total;
}

/** Formats milliseconds the way people read them in status messages: 2m0s, 1h5m, 750ms. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(Math.round(ms));
  if (abs < 1000) return `${sign}${abs}ms`;
  let rest = Math.round(abs / 1000); // whole seconds, so 119.6 s reads 2m0s, not 1m60s
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}
