// Clock offsets estimated from Lease renewals, with no agent on the nodes.
// - A kubelet writes its Lease's spec.renewTime from its own clock; the API server
//   stamps the same write in managedFields[].time with its clock (second precision).
//   renewTime − that stamp is the node's offset from the API server, within about a second.
// - Each kube-apiserver renews its identity Lease in kube-system every 10 s from its
//   own clock; renewTime − the moment the operator receives the watch event is that
//   instance's offset from the operator (plus a few ms of delivery).
// The median of recent samples per subject (WINDOW) resists outliers (a delayed event, a GC pause).

export type ClockSubjectKind = 'node' | 'apiserver';

export interface ClockOffset {
  kind: ClockSubjectKind;
  name: string;
  /** median of recent samples; positive: its clock is ahead */
  offsetMs: number;
  samples: number;
  lastSeenMs: number;
}

interface Series {
  kind: ClockSubjectKind;
  name: string;
  samples: number[];
  /** recentMedian(samples), kept as samples arrive */
  offsetMs: number;
  lastSeenMs: number;
}

/**
 * Samples kept per subject. A node's sample comes whole from one Lease (its renewTime and the API server's
 * stamp of that write), so only a slow write distorts it, and with Leases listed every 10 s or more a
 * short window names a jump sooner (after 3). An API server's is timed on arrival, which a delayed event
 * or a GC pause distorts: 7.
 */
export const WINDOW: Readonly<Record<ClockSubjectKind, number>> = { node: 5, apiserver: 7 };

/**
 * The line the last reconcile judged clocks by (from relativeToCluster): which were beyond maxSkew,
 * and the scale that put them there. A sample that moves its clock across it may change the verdict.
 */
export interface JudgedLine {
  /** the API servers' consensus, added to a node's raw offset to put it on the operator's scale */
  serverClockMs: number;
  /** the cluster's time on the operator's scale */
  centreMs: number;
  maxSkewMs: number;
  /** `${kind}/${name}` of every clock judged beyond maxSkew */
  skewed: ReadonlySet<string>;
}

export class ClockEstimator {
  private readonly series = new Map<string, Series>();
  private line: JudgedLine | undefined;
  private readonly window: Readonly<Record<ClockSubjectKind, number>>;
  /** a subject not heard from for this long is dropped */
  readonly staleAfterMs: number;
  private changes = 0;

  /** window: samples kept per subject, the same for every kind when a number. */
  constructor(window: number | Readonly<Record<ClockSubjectKind, number>> = WINDOW, staleAfterMs = 5 * 60_000) {
    this.window = typeof window === 'number' ? { node: window, apiserver: window } : window;
    this.staleAfterMs = staleAfterMs;
  }

  record(kind: ClockSubjectKind, name: string, offsetMs: number, atMs: number): void {
    const key = `${kind}/${name}`;
    const s = this.series.get(key) ?? { kind, name, samples: [], offsetMs, lastSeenMs: atMs };
    s.samples.push(offsetMs);
    if (s.samples.length > this.window[kind]) s.samples.shift();
    s.offsetMs = recentMedian(s.samples);
    s.lastSeenMs = atMs;
    this.series.set(key, s);
    this.changes++;
  }

  /** Remembers the line the clocks were last judged by (see crossed). */
  judgedBy(line: JudgedLine): void {
    this.line = line;
  }

  /**
   * Whether a subject's offset is now on the other side of the last judged line than it was judged on:
   * a reconcile now may change ClockSynchronized. False before any judgement (the first reconcile comes
   * anyway) and for a subject not measured.
   */
  crossed(kind: ClockSubjectKind, name: string): boolean {
    const line = this.line;
    const key = `${kind}/${name}`;
    const s = this.series.get(key);
    if (!line || !s) return false;
    const relative = s.offsetMs + (kind === 'node' ? line.serverClockMs : 0) - line.centreMs;
    return Math.abs(relative) > line.maxSkewMs !== line.skewed.has(key);
  }

  forget(kind: ClockSubjectKind, name: string): void {
    if (this.series.delete(`${kind}/${name}`)) this.changes++;
  }

  /** Changes with every sample recorded or subject forgotten: offsets read since are still current (until a subject goes stale). */
  get version(): number {
    return this.changes;
  }

  /** Current offsets, ignoring subjects not heard from recently (a dead node's Lease says nothing of its clock). */
  offsets(nowMs: number): ClockOffset[] {
    const out: ClockOffset[] = [];
    for (const [key, s] of this.series) {
      if (nowMs - s.lastSeenMs > this.staleAfterMs) {
        this.series.delete(key);
        continue;
      }
      out.push({ kind: s.kind, name: s.name, offsetMs: s.offsetMs, samples: s.samples.length, lastSeenMs: s.lastSeenMs });
    }
    return out;
  }
}

/**
 * The median of the newest odd number of samples (oldest first): always one of them. A clock that jumps
 * (NTP stepping it, or a host set 2 minutes off) reads its old offset until most recent samples say
 * otherwise, then its new one; never a midpoint nobody measured, as a plain median of an even count
 * would report (0 and 2m giving 1m).
 */
export function recentMedian(samples: readonly number[]): number {
  return median(samples.length % 2 === 0 ? samples.slice(1) : samples);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Offsets from the cluster's own time rather than the operator's. */
export interface ClusterClocks {
  /** every node and API server, offset from the cluster's time (positive: ahead) */
  subjects: ClockOffset[];
  /** the operator's own offset from the cluster's time; undefined until an API server's renewal was timed */
  operatorOffsetMs: number | undefined;
  /** how many clocks agree on the cluster's time (its median is taken over them) */
  referenceClocks: number;
  /** the API servers' consensus on the operator's scale (what a node's raw offset is shifted by) */
  serverClockMs: number;
  /** the cluster's time on the operator's scale */
  centreMs: number;
}

/**
 * The median of the largest group of values agreeing within `toleranceMs` of one another's
 * centre; ties go to the group nearest 0 (the operator's clock). A plain median of two clocks
 * would split the difference and flag both; this names the one that disagrees.
 * Each value's group is a contiguous run of the sorted values, found by binary search, and the
 * median of a sorted run is read off directly: O(n log n), so 2,000 node clocks cost
 * milliseconds per reconcile, not seconds (a filter and a sort per value was O(n² log n)).
 */
export function consensus(values: readonly number[], toleranceMs: number): { centreMs: number; agreeing: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const runMedian = (lo: number, hi: number): number => {
    const mid = lo + Math.floor((hi - lo) / 2);
    return (hi - lo) % 2 === 0 ? (sorted[mid] ?? 0) : ((sorted[mid] ?? 0) + (sorted[mid + 1] ?? 0)) / 2;
  };
  let best: { count: number; centre: number } | undefined;
  for (const v of values) {
    const lo = firstAtLeast(sorted, v - toleranceMs);
    const hi = firstAtLeast(sorted, v + toleranceMs, (x, bound) => x > bound) - 1;
    const count = hi - lo + 1;
    const centre = runMedian(lo, hi);
    if (!best || count > best.count || (count === best.count && Math.abs(centre) < Math.abs(best.centre))) best = { count, centre };
  }
  return best ? { centreMs: best.centre, agreeing: best.count } : { centreMs: 0, agreeing: 0 };
}

/** The first index of ascending `sorted` whose value passes `past` the bound (default: at least it); sorted.length if none. */
function firstAtLeast(sorted: readonly number[], bound: number, past: (x: number, bound: number) => boolean = (x, b) => x >= b): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (past(sorted[mid] ?? 0, bound)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Raw offsets (API servers measured against the operator, nodes against the API server that
 * stamped their Lease write) → offsets against the cluster's time, and the operator's own.
 * - Nodes are put on the operator's scale through the API servers' consensus clock (in a healthy
 *   control plane the API servers agree; the one that stamps a node's write is not recorded).
 * - The cluster's time is the consensus of every node and API server on that scale; each subject,
 *   and the operator (at 0 on its own scale), is offset from it.
 * So a skewed operator host shifts every raw API-server offset alike and is named itself, not them.
 * Pure: observe computes it once per offsets it reads, publishes it, marks the line, and hands it to
 * the plan in the observation (ClockObservation.cluster), so the plan does not compute it again.
 */
export function relativeToCluster(offsets: readonly ClockOffset[], toleranceMs: number): ClusterClocks {
  const servers = offsets.filter((o) => o.kind === 'apiserver');
  const serverClock = servers.length
    ? consensus(
        servers.map((o) => o.offsetMs),
        toleranceMs,
      ).centreMs
    : 0;
  const onOperatorScale = offsets.map((o) => ({ ...o, offsetMs: o.kind === 'node' ? o.offsetMs + serverClock : o.offsetMs }));
  const cluster = consensus(
    onOperatorScale.map((o) => o.offsetMs),
    toleranceMs,
  );
  return {
    subjects: onOperatorScale.map((o) => ({ ...o, offsetMs: o.offsetMs - cluster.centreMs })),
    operatorOffsetMs: servers.length ? 0 - cluster.centreMs : undefined,
    referenceClocks: cluster.agreeing,
    serverClockMs: serverClock,
    centreMs: cluster.centreMs,
  };
}
