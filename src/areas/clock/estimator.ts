// Clock offsets estimated from Lease renewals, with no agent on the nodes.
// - A kubelet writes its Lease's spec.renewTime from its own clock; the API server
//   stamps the same write in managedFields[].time with its clock (second precision).
//   renewTime − that stamp is the node's offset from the API server, within about a second.
// - Each kube-apiserver renews its identity Lease in kube-system every 10 s from its
//   own clock; renewTime − the moment the operator receives the watch event is that
//   instance's offset from the operator (plus a few ms of delivery).
// The median of recent samples per subject resists outliers (a delayed event, a GC pause).

export type ClockSubjectKind = 'node' | 'apiserver';

export interface ClockOffset {
  kind: ClockSubjectKind;
  name: string;
  /** median of recent samples; positive: its clock is ahead */
  offsetMs: number;
  samples: number;
  lastSeenMs: number;
}

interface Series { kind: ClockSubjectKind; name: string; samples: number[]; lastSeenMs: number }

export class ClockEstimator {
  private readonly series = new Map<string, Series>();
  private readonly window: number;
  private readonly staleAfterMs: number;

  constructor(window = 7, staleAfterMs = 5 * 60_000) {
    this.window = window;
    this.staleAfterMs = staleAfterMs;
  }

  record(kind: ClockSubjectKind, name: string, offsetMs: number, atMs: number): void {
    const key = `${kind}/${name}`;
    const s = this.series.get(key) ?? { kind, name, samples: [], lastSeenMs: atMs };
    s.samples.push(offsetMs);
    if (s.samples.length > this.window) s.samples.shift();
    s.lastSeenMs = atMs;
    this.series.set(key, s);
  }

  forget(kind: ClockSubjectKind, name: string): void {
    this.series.delete(`${kind}/${name}`);
  }

  /** Current offsets, ignoring subjects not heard from recently (a dead node's Lease says nothing of its clock). */
  offsets(nowMs: number): ClockOffset[] {
    const out: ClockOffset[] = [];
    for (const [key, s] of this.series) {
      if (nowMs - s.lastSeenMs > this.staleAfterMs) { this.series.delete(key); continue; }
      out.push({ kind: s.kind, name: s.name, offsetMs: median(s.samples), samples: s.samples.length, lastSeenMs: s.lastSeenMs });
    }
    return out;
  }
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
