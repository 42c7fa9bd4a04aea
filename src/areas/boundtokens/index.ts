// Bound service-account token health (the token-expiry-extension incident).
import { ConditionType } from '../../api/reasons.ts';
import type { Area, AreaReport } from '../area.ts';
import type { ApiserverReads } from '../../kube/apiserver-reads.ts';
import type { CacheHandle } from '../../kube/cache-spec.ts';
import { apiserverIdentityCache, podReadersCache, type TokenSecret } from './caches.ts';
import { createObserver, type BoundTokensMemory } from './observe.ts';
import { planBoundTokens, type BoundTokensObservation } from './plan.ts';
import type { StaleTokenRegistry } from './stale-tokens.ts';

/**
 * registry: fed by the audit webhook receiver when `run` enables it; secrets: the token-Secret cache the wiring
 * shares with the legacy-token area; reads: the API server's flags and /metrics, read at most every 30 s for
 * every area. All made at wiring time (src/policy/areas.ts).
 */
export function boundTokensArea(
  registry: StaleTokenRegistry | undefined,
  secrets: CacheHandle<TokenSecret>,
  reads: ApiserverReads,
): Area<BoundTokensObservation, AreaReport> {
  // What observe keeps across reconciles: made here, once, not kept in a closure.
  const memory: BoundTokensMemory = {};
  return {
    name: 'boundTokens',
    conditionTypes: [ConditionType.BoundTokensHealthy],
    // The one pod informer, shared with the legacy-token area (Secret names per pod, never whole Pods).
    caches: [podReadersCache],
    // Only to tell which mounted Secrets are legacy tokens: without it the stale-token report still stands.
    optionalCaches: [secrets, apiserverIdentityCache],
    observe: createObserver(registry, secrets, reads, memory),
    plan: (spec, observation) => planBoundTokens(spec, observation),
    report: (r) => r,
  };
}
