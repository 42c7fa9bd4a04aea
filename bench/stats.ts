// Repeated runs (--repeat N): each figure as its median and its spread (lowest, highest) over the runs, so no
// single best run stands for the build. Ratios are taken within each run first, then summarised the same way.

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** The median (the mean of the middle two for an even count), lowest and highest of the defined values. */
export function spread(values: readonly (number | undefined)[]): Spread | undefined {
  const xs = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = Math.floor(xs.length / 2);
  const median = xs.length % 2 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
  const r = (x: number): number => Math.round(x * 100) / 100;
  return { median: r(median), min: r(xs[0] as number), max: r(xs[xs.length - 1] as number), n: xs.length };
}

/** "12.3 (11.9–14.0, 3 runs)", or the value alone for one run. */
export function formatSpread(s: Spread | undefined): string {
  if (!s) return '–';
  return s.n === 1 ? String(s.median) : `${s.median} (${s.min}–${s.max}, ${s.n} runs)`;
}

/** Per metric name, the spread of `pick(run)` over the runs. */
export function spreads<T>(runs: readonly T[], metrics: Record<string, (run: T) => number | undefined>): Record<string, Spread> {
  const out: Record<string, Spread> = {};
  for (const [name, pick] of Object.entries(metrics)) {
    const s = spread(runs.map(pick));
    if (s) out[name] = s;
  }
  return out;
}
