// Bound service-account token health (seed 001).
import { ConditionType } from '../../api/reasons.ts';
import { observeApiserverFlags, type ApiserverFlags } from '../../kube/apiserver-flags.ts';
import type { Area, AreaReport } from '../area.ts';
import { secretCache, type TokenSecret } from '../../kube/token-secrets.ts';
import { podMountsCache, type PodMounts } from './caches.ts';
import { readTokenCounters, type TokenCounters } from './apiserver-metrics.ts';
import { planBoundTokens, type BoundTokensObservation } from './plan.ts';
import type { StaleTokenRegistry, StaleTokenUser } from './stale-tokens.ts';

/** registry: fed by the audit webhook receiver when `run` enables it. */
export function boundTokensArea(registry?: StaleTokenRegistry): Area<BoundTokensObservation, AreaReport> {
  // The static pod list and the API server's /metrics (megabytes) are read at most every 30 s,
  // however often the policy reconciles (the clock area rechecks every 15 s).
  let fetched: { at: number; flags: ApiserverFlags; counters: TokenCounters } | undefined;
  return {
    name: 'boundTokens',
    conditionTypes: [ConditionType.BoundTokensHealthy],
    caches: [podMountsCache, secretCache],
    async observe(ctx) {
      const tokenSecrets = new Set(ctx.cache<TokenSecret>(secretCache.name).list().map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
      const legacyMounts = ctx.cache<PodMounts>(podMountsCache.name).list().flatMap((p) => p.secretVolumes
        .filter((s) => tokenSecrets.has(`${p.metadata.namespace}/${s}`))
        .map((secret) => ({ pod: `${p.metadata.namespace}/${p.metadata.name}`, secret })))
        .sort((a, b) => a.pod.localeCompare(b.pod));
      const last = ctx.policy.status?.boundTokens as { apiserverCounters?: { staleTokensTotal?: number; legacyTokensTotal?: number }; staleTokenUsers?: StaleTokenUser[]; staleTokenReporting?: string } | undefined;
      const previous = last?.apiserverCounters;
      // `check` has no receiver of its own: it reports what the running operator's receiver recorded.
      const staleUsers = registry ? registry.list(ctx.now().getTime()) : last?.staleTokenReporting === 'on' ? (last.staleTokenUsers ?? []) : undefined;
      if (ctx.mode === 'check' || !fetched || Date.now() - fetched.at > 30_000) {
        const [f, c] = await Promise.all([observeApiserverFlags(ctx.client), readTokenCounters(ctx.client)]);
        fetched = { at: Date.now(), flags: f, counters: c };
      }
      const { flags, counters } = fetched;
      return {
        legacyMounts, flags, counters, staleUsers,
        previousCounters: previous?.staleTokensTotal === undefined ? undefined : { staleTokens: previous.staleTokensTotal, legacyTokens: previous.legacyTokensTotal ?? 0 },
      };
    },
    plan: (spec, observation) => planBoundTokens(spec, observation),
    report: (r) => r,
  };
}
