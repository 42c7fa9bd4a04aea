// The API server's own counters for token use (when the operator may read
// /metrics): serviceaccount_stale_tokens_total counts requests with tokens past
// their warnafter; serviceaccount_legacy_tokens_total, requests with legacy tokens.
import type { KubeClient } from '../../kube/client.ts';
import { describeError, isForbidden } from '../../kube/errors.ts';

export interface TokenCounters {
  staleTokens: number | undefined;
  legacyTokens: number | undefined;
  /** why the counters are missing */
  unavailable?: string;
}

/** Sums every sample of a counter in Prometheus text format. */
export function sumCounter(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] !== name || m[2] === undefined) continue;
    total = (total ?? 0) + Number(m[2]);
  }
  return total;
}

export async function readTokenCounters(client: KubeClient): Promise<TokenCounters> {
  try {
    const text = await client.getText('/metrics');
    return { staleTokens: sumCounter(text, 'serviceaccount_stale_tokens_total'), legacyTokens: sumCounter(text, 'serviceaccount_legacy_tokens_total') };
  } catch (err) {
    return {
      staleTokens: undefined,
      legacyTokens: undefined,
      unavailable: isForbidden(err) ? 'not permitted to read the API server\'s /metrics (nonResourceURLs: ["/metrics"], verb get)' : describeError(err),
    };
  }
}
