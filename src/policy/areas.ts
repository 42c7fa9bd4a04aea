// The areas the operator reconciles, in status order.
import type { Area } from '../areas/area.ts';
import { boundTokensArea } from '../areas/boundtokens/index.ts';
import type { StaleTokenRegistry } from '../areas/boundtokens/stale-tokens.ts';
import { clockArea } from '../areas/clock/index.ts';
import { legacyTokensArea } from '../areas/legacytokens/index.ts';
import { nodeAuthorizationArea } from '../areas/nodeauth/index.ts';
import { apiserverReads } from '../kube/apiserver-reads.ts';
import type { KubeClient } from '../kube/client.ts';
import { PublishedKeys } from '../kube/service-account-keys.ts';
import { tokenSecretCache } from '../kube/token-secrets.ts';

export interface AreaOptions {
  client: KubeClient;
  /** the operator's own namespace (leader Lease, canary Secrets) */
  namespace: string;
  /** stale-token users reported by the audit webhook receiver, when it runs */
  staleTokens?: StaleTokenRegistry;
  /** the host's clock (tests pass their own) */
  now?: () => number;
}

const wallClock = (): number => Date.now();

export function allAreas(o: AreaOptions): Area[] {
  const now = o.now ?? wallClock;
  // The published service-account keys and the token-Secret cache judging tokens against them: made here, once,
  // and handed to both areas that read token Secrets (no module state).
  const keys = new PublishedKeys(now);
  const secrets = tokenSecretCache(keys, now);
  // The API server's flags and /metrics, each read at most every 30 s however many areas ask.
  const reads = apiserverReads();
  return [
    nodeAuthorizationArea(reads),
    legacyTokensArea(o.client, o.namespace, keys, secrets, reads),
    clockArea(now),
    boundTokensArea(o.staleTokens, secrets, reads),
  ];
}
