// The API server's own Prometheus counters (GET /metrics, nonResourceURLs
// ["/metrics"] verb get), read at most every 30 s per client and again at once
// when an API server restarted (its counters start over): a bounded, periodic
// read that does not grow with the cluster. Reading /metrics changes nothing.
import type { KubeClient } from './client.ts';
import { describeError, isForbidden } from './errors.ts';

export const METRICS_MIN_INTERVAL_MS = 30_000;

export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

export type ApiserverMetrics = { readable: true; text: string; at: string } | { readable: false; why: string; at: string };

/** Where the next line starting with `name` begins at or after `from`, or -1. */
function nextLine(text: string, name: string, from: number): number {
  if (from === 0 && text.startsWith(name)) return 0;
  const at = text.indexOf(`\n${name}`, from);
  return at === -1 ? -1 : at + 1;
}

/**
 * Every sample of one metric in Prometheus text format, with its labels. Only that metric's lines are
 * read, found by searching: an API server's /metrics is several MB (3.7 at 2,000 Nodes), and splitting it
 * into lines for every metric read cost more than the rest of an idle reconcile.
 */
export function metricSamples(text: string, name: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (let at = nextLine(text, name, 0); at !== -1; at = nextLine(text, name, at + 1)) {
    const end = text.indexOf('\n', at);
    const line = text.slice(at, end === -1 ? undefined : end);
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (m?.[1] !== name || m[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      if (l[1] !== undefined) labels[l[1]] = (l[2] ?? '').replace(/\\(.)/g, '$1');
    }
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * /metrics of the API server a client reaches, read at most every METRICS_MIN_INTERVAL_MS per client
 * unless `instances` (the API servers' identity) changed, and shared by every area that asks: one per
 * process, made at wiring time (src/policy/areas.ts), so the memo is a dependency, not module state.
 */
export class ApiserverMetricsReader {
  private readonly recent = new WeakMap<KubeClient, { at: number; instances: string; read: Promise<ApiserverMetrics> }>();

  /** nowMs: the caller's time (ctx.now()). Never throws: a refusal or failure is a value saying why. */
  read(client: KubeClient, instances: string, nowMs: number): Promise<ApiserverMetrics> {
    const hit = this.recent.get(client);
    if (hit && hit.instances === instances && nowMs - hit.at < METRICS_MIN_INTERVAL_MS) return hit.read;
    const read = readApiserverMetrics(client, nowMs);
    this.recent.set(client, { at: nowMs, instances, read });
    return read;
  }
}

async function readApiserverMetrics(client: KubeClient, now: number): Promise<ApiserverMetrics> {
  const at = new Date(now).toISOString();
  try {
    return { readable: true, text: await client.getText('/metrics'), at };
  } catch (err) {
    const why = isForbidden(err) ? 'the operator may not read the API server\'s /metrics (nonResourceURLs: ["/metrics"], verb get)' : describeError(err);
    return { readable: false, why, at };
  }
}
