// What the bench measures, from outside the contenders: /proc (peak RSS, CPU) and
// the API server's audit log (every request each contender sent, by its group).
import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import type { Reconciles } from './report.ts';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The contenders' identities: each client certificate carries one of these groups, and only they are audited. */
export const BENCH_GROUPS = ['bench:operator', 'bench:standby', 'bench:kubectl', 'bench:floor', 'bench:reloader', 'bench:blanker'] as const;
export type BenchGroup = (typeof BENCH_GROUPS)[number];

/** Metadata-level audit for the bench's identities only; everything else (kwok, controllers, the bench's admin reads) is not logged. */
export function auditPolicy(): string {
  return JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [{ level: 'Metadata', userGroups: [...BENCH_GROUPS] }, { level: 'None' }],
  });
}

export const MiB = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

export async function statusField(pid: number, field: string): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Peak resident set of a live process (VmHWM), in bytes. */
export const peakRss = (pid: number): Promise<number | undefined> => statusField(pid, 'VmHWM');

/** user + system CPU seconds a live process has used. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (fields.length < 13) return undefined;
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

async function children(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const t of tasks) {
    const text = await readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '');
    for (const c of text.trim().split(/\s+/)) if (c) out.push(Number(c));
  }
  return out;
}

/** The pids of a process and all its descendants. */
export async function tree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(await children(out[i] as number)));
  return out;
}

/**
 * Samples the summed RSS of a process tree every `intervalMs` (a kubectl script is
 * many short processes; /usr/bin/time's maxrss only sees the largest one), and its
 * anonymous part (RssAnon: the process's own memory, without the executable's and
 * libraries' file pages, which every process running the same binary shares).
 */
export function sampleTreeRss(pid: number, intervalMs = 250): { stop(): number; peakAnonBytes(): number } {
  let max = 0;
  let maxAnon = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      let sum = 0;
      let anon = 0;
      for (const p of await tree(pid)) {
        sum += (await statusField(p, 'VmRSS')) ?? 0;
        anon += (await statusField(p, 'RssAnon')) ?? 0;
      }
      max = Math.max(max, sum);
      maxAnon = Math.max(maxAnon, anon);
      busy = false;
    })();
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      return max;
    },
    peakAnonBytes: () => maxAnon,
  };
}

/** /usr/bin/time -f output written by the wrappers: elapsed, user, system seconds and max RSS in KiB. */
export async function readTimeFile(path: string): Promise<{ cpuSeconds: number; maxRssBytes: number } | undefined> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const m = /^TIME (\S+) (\S+) (\S+) (\d+)$/m.exec(text);
  return m ? { cpuSeconds: Number(m[2]) + Number(m[3]), maxRssBytes: Number(m[4]) * 1024 } : undefined;
}
export const TIME_FORMAT = 'TIME %e %U %S %M';

export interface RequestCount {
  total: number;
  /** watches open at once within the window (the most, and at its end), whenever they started */
  watchesHeld?: { max: number; atEnd: number };
  byVerbResource: Record<string, number>;
  byUserAgent: Record<string, number>;
  /** responses ≥ 400 (conflicts, not found, …) */
  failed: number;
}

interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  user?: { groups?: string[] };
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string };
  requestURI: string;
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp?: string;
}

/**
 * How many of these intervals (a watch from when it was received to when its response completed; `end`
 * undefined while it runs) are open at once within [from, to]: the most, and at `to`. A watch the log never
 * saw complete ends at the first of `cuts` after its start (a kube-apiserver restart ends every watch, and one
 * stopped for a restart may not log its completion).
 */
export function watchesHeld(
  intervals: readonly { start: number; end?: number }[],
  from: number,
  to: number,
  cuts: readonly number[] = [],
): { max: number; atEnd: number } {
  const points: [number, number][] = [];
  let open = 0;
  let atEnd = 0;
  for (const { start, end: logged } of intervals) {
    const end = logged ?? cuts.filter((c) => c > start).sort((a, b) => a - b)[0] ?? Infinity;
    if (start > to || end < from) continue;
    if (end > to) atEnd++;
    if (start <= from) open++;
    else points.push([start, 1]);
    if (end <= to) points.push([end, -1]);
  }
  // at one instant, ends before starts: a watch re-opened as the last one closes is one held, not two
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let max = open;
  for (const [, d] of points) {
    open += d;
    max = Math.max(max, open);
  }
  return { max, atEnd };
}

/**
 * Counts the requests a bench group sent between `fromMs` and `toMs` (by when the API
 * server received them), one per audit ID, by verb and resource and by user agent.
 */
export async function countRequests(auditLog: string, group: BenchGroup, fromMs: number, toMs: number, cuts: readonly number[] = []): Promise<RequestCount> {
  const seen = new Map<string, AuditEvent>();
  const watches = new Map<string, { start: number; end?: number }>();
  const lines = createInterface({ input: createReadStream(auditLog), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes(group)) continue;
    const ev = JSON.parse(line) as AuditEvent;
    if (!ev.user?.groups?.includes(group)) continue;
    const at = Date.parse(ev.requestReceivedTimestamp);
    if (ev.verb === 'watch') {
      const w = watches.get(ev.auditID) ?? { start: at };
      if (ev.stage === 'ResponseComplete' || ev.stage === 'Panic') w.end = Date.parse(ev.stageTimestamp ?? ev.requestReceivedTimestamp);
      watches.set(ev.auditID, w);
    }
    if (at < fromMs || at > toMs) continue;
    const prev = seen.get(ev.auditID);
    if (!prev || ev.stage === 'ResponseComplete') seen.set(ev.auditID, ev);
  }
  const out: RequestCount = { total: 0, watchesHeld: watchesHeld([...watches.values()], fromMs, toMs, cuts), byVerbResource: {}, byUserAgent: {}, failed: 0 };
  for (const ev of seen.values()) {
    out.total++;
    const resource = ev.objectRef?.resource
      ? `${ev.objectRef.resource}${ev.objectRef.subresource ? `/${ev.objectRef.subresource}` : ''}`
      : (ev.requestURI.split('?')[0] ?? '');
    const key = `${ev.verb} ${resource}`;
    out.byVerbResource[key] = (out.byVerbResource[key] ?? 0) + 1;
    const agent = (ev.userAgent ?? '').split(' ')[0] ?? '';
    out.byUserAgent[agent] = (out.byUserAgent[agent] ?? 0) + 1;
    if ((ev.responseStatus?.code ?? 0) >= 400) out.failed++;
  }
  out.byVerbResource = Object.fromEntries(Object.entries(out.byVerbResource).sort((a, b) => b[1] - a[1]));
  return out;
}

/** Sums a Prometheus counter's samples by the given labels, e.g. authpolicy_api_requests_total by verb and resource. */
export function counterBy(text: string, name: string, labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x): [string, string] => [x[1] ?? '', x[2] ?? '']));
    const key = labels.map((l) => have.get(l) ?? '').join(' ');
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

/** The reconciles between two scrapes of an operator's /metrics, from controller-runtime's counter and histogram. */
export function reconcilesBetween(before: string, after: string): Reconciles {
  const sum = (text: string, name: string): number => Object.values(counterBy(text, name, [])).reduce((a, b) => a + b, 0);
  const count = sum(after, 'controller_runtime_reconcile_total') - sum(before, 'controller_runtime_reconcile_total');
  const seconds = sum(after, 'controller_runtime_reconcile_time_seconds_sum') - sum(before, 'controller_runtime_reconcile_time_seconds_sum');
  return { count, seconds: Math.round(seconds * 100) / 100 };
}

export function gauge(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

/** The pid whose command line has every one of `parts` (e.g. kube-apiserver and its --secure-port), from /proc. */
export function pidByCommandLine(processes: readonly { pid: number; cmdline: string[] }[], parts: readonly string[]): number | undefined {
  return processes.find((p) => parts.every((part) => p.cmdline.some((a) => a === part || a.endsWith(`/${part}`))))?.pid;
}

export async function processes(): Promise<{ pid: number; cmdline: string[] }[]> {
  const out: { pid: number; cmdline: string[] }[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const text = await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '');
    if (text) out.push({ pid: Number(d), cmdline: text.split('\0').filter(Boolean) });
  }
  return out;
}

/** Samples the 1-minute load average every `intervalMs`: the machine is shared, so wall times need it beside them. */
export function sampleLoad(intervalMs = 5000): { stop(): { mean: number; max: number; samples: number } } {
  const xs = [loadavg()[0] ?? 0];
  const timer = setInterval(() => xs.push(loadavg()[0] ?? 0), intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      xs.push(loadavg()[0] ?? 0);
      return { mean: Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100, max: Math.max(...xs), samples: xs.length };
    },
  };
}
