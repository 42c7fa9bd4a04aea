// Observe node authorization: Nodes and the legacy binding from the caches, the
// API-server flags where visible, and a SubjectAccessReview probe of a small,
// bounded sample of kubelet identities — cached until the sample, the binding,
// the API-server instances or the policy change (or 5 minutes pass), so the
// number of reviews per reconcile does not grow with the cluster.
import { apiserverIdentityCache, apiserverInstances } from '../../kube/apiserver-identity.ts';
import { observeApiserverFlags, type ApiserverFlags } from '../../kube/apiserver-flags.ts';
import type { AreaContext } from '../area.ts';
import { BINDING_NAME, type LegacyBinding } from './binding.ts';
import { bindingCache, nodeCache, type CachedNode } from './caches.ts';
import { probeKubelets, type NodeProbe } from './probe.ts';

export interface NodeAuthObservation {
  nodeCount: number;
  notReady: string[];
  probed: NodeProbe[];
  /** no Node exists yet: a placeholder kubelet identity (SYNTHETIC_NODE) was probed */
  syntheticProbe: boolean;
  probeTime: string;
  binding: LegacyBinding | undefined;
  flags: ApiserverFlags;
}

export const SYNTHETIC_NODE = 'authpolicy-probe';
const PROBE_TTL_MS = 5 * 60_000;

/** NotReady nodes first (they are the ones in trouble), then the rest, by name; at most n. */
export function pickProbeNodes(nodes: readonly CachedNode[], n: number): string[] {
  const byName = (a: CachedNode, b: CachedNode): number => a.metadata.name.localeCompare(b.metadata.name);
  const notReady = nodes.filter((x) => x.ready !== 'True').sort(byName);
  const ready = nodes.filter((x) => x.ready === 'True').sort(byName);
  return [...notReady, ...ready].slice(0, n).map((x) => x.metadata.name);
}

/** Creates the observer with its probe cache (one per operator process). */
export function createObserver(): (ctx: AreaContext) => Promise<NodeAuthObservation> {
  let cached: { key: string; at: number; probed: NodeProbe[]; flags: ApiserverFlags; time: string } | undefined;
  return async (ctx) => {
    const nodes = ctx.cache(nodeCache).list();
    const binding = ctx.cache(bindingCache).get(BINDING_NAME);
    const apiservers = ctx.cache(apiserverIdentityCache).list();
    const sample = pickProbeNodes(nodes, ctx.spec.nodeAuthorization.probeNodes);
    const syntheticProbe = sample.length === 0;
    const probeNodes = syntheticProbe ? [SYNTHETIC_NODE] : sample;
    const key = [probeNodes.join(','), binding?.metadata.resourceVersion ?? '-', apiserverInstances(apiservers), ctx.policy.metadata.generation ?? 0].join('|');
    const now = Date.now();
    if (ctx.mode === 'check' || !cached || cached.key !== key || now - cached.at > PROBE_TTL_MS) {
      const [probed, flags] = await Promise.all([probeKubelets(ctx.client, probeNodes), observeApiserverFlags(ctx.client)]);
      cached = { key, at: now, probed, flags, time: new Date(now).toISOString() };
      ctx.log.debug('probed kubelet authorization', { nodes: probeNodes, reviews: probed.reduce((n, p) => n + p.results.length, 0), grantedBy: probed.map((p) => `${p.node}: ${p.results.map((r) => r.grantedBy).join(',')}`) });
    }
    return {
      nodeCount: nodes.length,
      notReady: nodes.filter((x) => x.ready !== 'True').map((x) => x.metadata.name).sort(),
      probed: cached.probed,
      syntheticProbe,
      probeTime: cached.time,
      binding,
      flags: cached.flags,
    };
  };
}
