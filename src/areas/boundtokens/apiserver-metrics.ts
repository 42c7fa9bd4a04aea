// The API server's own counters for token use (when the operator may read
// /metrics): serviceaccount_stale_tokens_total counts requests with tokens past
// their warnafter; serviceaccount_legacy_tokens_total, requests with legacy tokens.
// /metrics is read through the one shared, rate-limited reader made at wiring time (kube/apiserver-metrics.ts).
import type { KubeClient } from '../../kube/client.ts';
import { metricSamples, type ApiserverMetricsReader } from '../../kube/apiserver-metrics.ts';

export interface TokenCounters {
  staleTokens: number | undefined;
  legacyTokens: number | undefined;
  /** why the counters are missing */
  unavailable?: string;
}

/** Sums every sample of a counter in Prometheus text format. */
export function sumCounter(text: string, name: string): number | undefined {
  const samples = metricSamples(text, name);
  return samples.length ? samples.reduce((total, sample) => total + sample.value, 0) : undefined;
}

/** instances: the API servers' identities (a restart starts the counters over, so it forces a fresh read); nowMs: ctx.now(). */
export async function readTokenCounters(reader: ApiserverMetricsReader, client: KubeClient, instances: string, nowMs: number): Promise<TokenCounters> {
  const metrics = await reader.read(client, instances, nowMs);
  if (!metrics.readable) return { staleTokens: undefined, legacyTokens: undefined, unavailable: metrics.why };
  return {
    staleTokens: sumCounter(metrics.text, 'serviceaccount_stale_tokens_total'),
    legacyTokens: sumCounter(metrics.text, 'serviceaccount_legacy_tokens_total'),
  };
}
