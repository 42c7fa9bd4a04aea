// Observe bound-token health: legacy token Secrets mounted by running pods (from
// the shared pod cache), stale-token users and their workloads (from the audit
// receiver), and the API server's flags and token counters (read at most every 30 s).
import type { ApiserverReads } from '../../kube/apiserver-reads.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { AreaContext } from '../area.ts';
import { readTokenCounters } from './apiserver-metrics.ts';
import type { CacheHandle } from '../../kube/cache-spec.ts';
import { apiserverIdentityCache, podReadersCache, type PodSecretReader, type TokenSecret } from './caches.ts';
import { apiserverInstances } from '../../kube/apiserver-identity.ts';
import { parseClient, upgradeAdvice } from './clients.ts';
import type { BoundTokensObservation, StaleWorkload } from './plan.ts';
import type { StaleTokenClient, StaleTokenRegistry, StaleTokenUser } from './stale-tokens.ts';
import { WorkloadResolver } from './workloads.ts';
import { byString } from '../../kube/order.ts';

/** Stale-token clients grouped by workload and user agent; at most 20 pods looked up per reconcile (each once). */
async function staleWorkloads(clients: StaleTokenClient[], resolver: WorkloadResolver): Promise<StaleWorkload[]> {
  const groups = new Map<string, StaleWorkload>();
  let lookups = 0;
  for (const staleClient of [...clients].sort((a, b) => b.lastSeenMs - a.lastSeenMs)) {
    const workload =
      (staleClient.pod && lookups++ < 20 ? await resolver.workloadOf(staleClient.pod) : undefined) ??
      (staleClient.pod ? `Pod ${staleClient.pod.namespace}/${staleClient.pod.name}` : `ServiceAccount ${staleClient.serviceAccount}`);
    const key = `${workload}\n${staleClient.userAgent}`;
    let group = groups.get(key);
    if (!group) {
      if (groups.size >= 20) continue;
      const client = parseClient(staleClient.userAgent);
      group = {
        workload,
        serviceAccount: staleClient.serviceAccount,
        client: client.name,
        refreshesTokens: client.refreshesTokens,
        advice: client.refreshesTokens
          ? 'this library re-reads the token file; the program keeps a copy of the token (or a client built once from it): let the library read it'
          : upgradeAdvice(client),
        userAgent: staleClient.userAgent,
        pods: [],
        nodes: [],
        credentialIds: [],
        requests: 0,
        maxSecondsAfterWarning: 0,
      };
      groups.set(key, group);
    }
    group.requests += staleClient.requests;
    group.maxSecondsAfterWarning = Math.max(group.maxSecondsAfterWarning, staleClient.maxSecondsAfterWarning);
    if (staleClient.pod && group.pods.length < 5 && !group.pods.includes(staleClient.pod.name)) group.pods.push(staleClient.pod.name);
    for (const n of staleClient.nodes) if (group.nodes.length < 5 && !group.nodes.includes(n)) group.nodes.push(n);
    for (const id of staleClient.credentialIds) if (group.credentialIds.length < 5 && !group.credentialIds.includes(id)) group.credentialIds.push(id);
  }
  return [...groups.values()].sort((a, b) => byString(a.workload, b.workload) || byString(a.userAgent, b.userAgent));
}

/** The API servers' identities, as the node-authorization area keys the shared /metrics read by them. */
function apiserverIdentities(ctx: AreaContext): string {
  return ctx.unsynced(apiserverIdentityCache) ? '' : apiserverInstances(ctx.cache(apiserverIdentityCache).list());
}

/** How long the audit webhook has been silent, and since when. */
const auditSilence = (nowMs: number, sinceMs: number): { auditSilentForMs: number; auditSilentSince: string } => ({
  auditSilentForMs: nowMs - sinceMs,
  auditSilentSince: new Date(sinceMs).toISOString(),
});

/** What the observer keeps across reconciles: made at wiring time (index.ts) and passed in, not kept in a closure. */
export interface BoundTokensMemory {
  /** pods' owners looked up through this client (a new client: a new resolver) */
  resolver?: { client: KubeClient; workloads: WorkloadResolver } | undefined;
  /** this replica's first reconcile as leader: audit silence is counted from it at the earliest */
  firstObservedMs?: number | undefined;
}

/**
 * registry: fed by the audit webhook receiver when `run` enables it (`check` reads what the running operator recorded);
 * reads: the static pod list and the API server's /metrics (megabytes), each read at most every 30 s however often
 * the policy reconciles and however many areas ask (made at wiring time, src/policy/areas.ts).
 */
export function createObserver(
  registry: StaleTokenRegistry | undefined,
  secretCache: CacheHandle<TokenSecret>,
  reads: ApiserverReads,
  memory: BoundTokensMemory,
): (ctx: AreaContext) => Promise<BoundTokensObservation> {
  return async (ctx) => {
    // Silence is counted from the later of the last batch and this replica's first reconcile as leader.
    const firstObservedMs = (memory.firstObservedMs ??= ctx.now().getTime());
    const legacyMountsUnchecked = ctx.unsynced(secretCache);
    const tokenSecrets = new Set(
      legacyMountsUnchecked
        ? []
        : ctx
            .cache(secretCache)
            .list()
            .map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
    );
    const mounted = (p: PodSecretReader): string[] => p.reads.filter((r) => r.how.some((h) => h === 'volume' || h === 'projected volume')).map((r) => r.secret);
    const legacyMounts = legacyMountsUnchecked
      ? []
      : ctx
          .cache(podReadersCache)
          .list()
          .flatMap((p) =>
            mounted(p)
              .filter((s) => tokenSecrets.has(`${p.metadata.namespace}/${s}`))
              .map((secret) => ({ pod: `${p.metadata.namespace}/${p.metadata.name}`, secret })),
          )
          .sort((a, b) => byString(a.pod, b.pod));
    const lastSummary = ctx.policy.status?.boundTokens as
      | {
          apiserverCounters?: { staleTokensTotal?: number; legacyTokensTotal?: number };
          staleTokenUsers?: StaleTokenUser[];
          staleTokenWorkloads?: StaleWorkload[];
          staleTokenReporting?: string;
        }
      | undefined;
    const lastCounters = lastSummary?.apiserverCounters;
    // `check` has no receiver of its own: it reports what the running operator's receiver recorded.
    const staleUsers = registry
      ? registry.list(ctx.now().getTime())
      : lastSummary?.staleTokenReporting === 'on'
        ? (lastSummary.staleTokenUsers ?? [])
        : undefined;
    if (memory.resolver?.client !== ctx.client) memory.resolver = { client: ctx.client, workloads: new WorkloadResolver(ctx.client) };
    const staleWorkloadList = registry
      ? await staleWorkloads(registry.clients.list(ctx.now().getTime()), memory.resolver.workloads)
      : lastSummary?.staleTokenReporting === 'on'
        ? (lastSummary.staleTokenWorkloads ?? [])
        : undefined;
    const nowMs = ctx.now().getTime();
    const [flags, counters] = await Promise.all([
      reads.flags.read(ctx.client, nowMs),
      readTokenCounters(reads.metrics, ctx.client, apiserverIdentities(ctx), nowMs),
    ]);
    return {
      legacyMounts,
      legacyMountsUnchecked,
      flags,
      counters,
      staleUsers,
      staleWorkloads: staleWorkloadList,
      ...(registry ? auditSilence(ctx.now().getTime(), Math.max(registry.lastBatchMs ?? 0, firstObservedMs)) : {}),
      lastCounters:
        lastCounters?.staleTokensTotal === undefined
          ? undefined
          : { staleTokens: lastCounters.staleTokensTotal, legacyTokens: lastCounters.legacyTokensTotal ?? 0 },
    };
  };
}
