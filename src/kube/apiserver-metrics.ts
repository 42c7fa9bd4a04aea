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

/** Every sample of one metric in Prometheus text format, with its labels. */
export function metricSamples(text: string, name: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
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

const recent = new WeakMap<KubeClient, { at: number; instances: string; read: Promise<ApiserverMetrics> }>();

/**
 * /metrics of the API server the client reaches, shared by every caller within
 * METRICS_MIN_INTERVAL_MS unless `instances` (the API servers' identity) changed.
 * Never throws: a refusal or failure is a value saying why.
 */
export function observeApiserverMetrics(client: KubeClient, instances: string, now = Date.now()): Promise<ApiserverMetrics> {
  const hit = recent.get(client);
  if (hit && hit.instances === instances && now - hit.at < METRICS_MIN_INTERVAL_MS) return hit.read;
  const read = readApiserverMetrics(client, now);
  recent.set(client, { at: now, instances, read });
  return read;
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
