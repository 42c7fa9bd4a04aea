// The areas the operator reconciles, in status order.
import type { Area } from '../areas/area.ts';
import { boundTokensArea } from '../areas/boundtokens/index.ts';
import type { StaleTokenRegistry } from '../areas/boundtokens/stale-tokens.ts';
import { clockArea } from '../areas/clock/index.ts';
import { legacyTokensArea } from '../areas/legacytokens/index.ts';
import { nodeAuthorizationArea } from '../areas/nodeauth/index.ts';
import type { KubeClient } from '../kube/client.ts';

export interface AreaOptions {
  client: KubeClient;
  /** the operator's own namespace (leader Lease, canary Secrets) */
  namespace: string;
  /** stale-token users reported by the audit webhook receiver, when it runs */
  staleTokens?: StaleTokenRegistry;
}

export function allAreas(o: AreaOptions): Area[] {
  return [nodeAuthorizationArea(), legacyTokensArea(o.client, o.namespace), clockArea(), boundTokensArea(o.staleTokens)];
}
