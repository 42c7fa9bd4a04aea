// Observe node authorization: Nodes and the legacy binding from the caches, the
// API-server flags where visible, the authorizers' decision counters from
// /metrics, a SubjectAccessReview probe of a small, bounded sample of kubelet
// identities and, opted in, one dry-run NodeRestriction probe — each probe cached
// until its inputs (sample, binding, target Node, policy) change, an API server
// appears, or 5 minutes pass, so the requests per reconcile do not grow with the
// cluster. An API server that leaves cannot change the answers of those that stay:
// a restart (the new instance beside the old, then alone) probes once, not twice.
import { apiserverIdentityCache, apiserverInstances } from '../../kube/apiserver-identity.ts';
import type { ApiserverFlags } from '../../kube/apiserver-flags.ts';
import type { ApiserverReads } from '../../kube/apiserver-reads.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { objectPath, Resources } from '../../kube/paths.ts';
import type { AreaContext } from '../area.ts';
import { BINDING_NAME, type LegacyBinding } from './binding.ts';
import { bindingCache, cachedBinding, nodeCache, type CachedNode } from './caches.ts';
import { authorizerMetrics, type AuthorizerMetrics } from './evidence.ts';
import { pickTargetNode, probeNodeRestriction, type NodeRestrictionProbe } from './node-restriction.ts';
import { probeKubelets, type NodeProbe } from './probe.ts';
import { byString } from '../../kube/order.ts';

export interface NodeAuthObservation {
  nodeCount: number;
  notReady: string[];
  probed: NodeProbe[];
  /** no Node exists yet: a placeholder kubelet identity (SYNTHETIC_NODE) was probed */
  syntheticProbe: boolean;
  probeTime: string;
  binding: LegacyBinding | undefined;
  flags: ApiserverFlags;
  /** which authorizers made decisions, from the API server's /metrics (read at most every 30 s) */
  authorizerMetrics: AuthorizerMetrics;
  /** undefined unless spec.nodeAuthorization.probeNodeRestriction */
  nodeRestrictionProbe: NodeRestrictionProbe | undefined;
}

export const SYNTHETIC_NODE = 'authpolicy-probe';
const PROBE_TTL_MS = 5 * 60_000;

/** NotReady nodes first (they are the ones in trouble), then the rest, by name; at most n. */
export function pickProbeNodes(nodes: readonly CachedNode[], n: number): string[] {
  const byName = (a: CachedNode, b: CachedNode): number => byString(a.metadata.name, b.metadata.name);
  const notReady = nodes.filter((x) => x.ready !== 'True').sort(byName);
  const ready = nodes.filter((x) => x.ready === 'True').sort(byName);
  return [...notReady, ...ready].slice(0, n).map((x) => x.metadata.name);
}

interface Memo<T> {
  key: string;
  /** the API-server instances (apiserverInstances: comma-separated) the probe was made under */
  instances: string;
  at: number;
  value: T;
}

/** Pure: whether `now` lists an API-server instance `then` did not (one leaving is not new). */
export function newInstance(then: string, now: string): boolean {
  const known = new Set(then.split(','));
  return now.split(',').some((i) => i !== '' && !known.has(i));
}

/** Whether a memoized probe may be reused: same key, no new API server, younger than PROBE_TTL_MS, and not a one-shot `check`. */
function fresh<T>(memo: Memo<T> | undefined, key: string, instances: string, now: number, mode: AreaContext['mode']): memo is Memo<T> {
  return mode === 'run' && memo !== undefined && memo.key === key && !newInstance(memo.instances, instances) && now - memo.at <= PROBE_TTL_MS;
}

/**
 * The probes' last answers, reused while their inputs hold (for at most PROBE_TTL_MS): one per operator
 * process, made at wiring time (index.ts) and passed in, so the observer keeps no state of its own.
 */
export interface ProbeMemo {
  kubelets?: Memo<KubeletEvidence> | undefined;
  restriction?: Memo<NodeRestrictionProbe> | undefined;
}

interface KubeletEvidence {
  probed: NodeProbe[];
  flags: ApiserverFlags;
  metrics: AuthorizerMetrics;
  time: string;
}

/** The SAR probe first, then /metrics (so the probe's own decisions are counted) and the flags. */
async function gatherKubeletEvidence(ctx: AreaContext, reads: ApiserverReads, probeNodes: string[], instances: string, now: number): Promise<KubeletEvidence> {
  const apiservers = Math.max(1, instances.split(',').filter(Boolean).length);
  const probed = await probeKubelets(ctx.client, probeNodes);
  const [flags, metrics] = await Promise.all([reads.flags.read(ctx.client, now), reads.metrics.read(ctx.client, instances, now)]);
  ctx.log.debug('probed kubelet authorization', {
    nodes: probeNodes,
    reviews: probed.reduce((n, p) => n + p.results.length, 0),
    grantedBy: probed.map((p) => `${p.node}: ${p.results.map((r) => r.grantedBy).join(',')}`),
  });
  return { probed, flags, metrics: authorizerMetrics(metrics, apiservers), time: new Date(now).toISOString() };
}

/** The binding as the API server has it now: after a write found it changed, the cache may not have seen the change yet. */
export async function readBinding(client: KubeClient): Promise<LegacyBinding | undefined> {
  try {
    return cachedBinding(await client.get(objectPath(Resources.clusterRoleBindings, BINDING_NAME)));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** How to observe: `binding` given (read afresh with readBinding) instead of the cache's. */
export interface ObserveOptions {
  binding: LegacyBinding | undefined;
}

/** The observer, over what the wiring made (index.ts): the flags and /metrics readers, and the probes' memo. */
export function createObserver(reads: ApiserverReads, probes: ProbeMemo): (ctx: AreaContext, options?: ObserveOptions) => Promise<NodeAuthObservation> {
  return async (ctx, options) => {
    const nodes = ctx.cache(nodeCache).list();
    const binding = options ? options.binding : ctx.cache(bindingCache).get(BINDING_NAME);
    const instances = apiserverInstances(ctx.cache(apiserverIdentityCache).list());
    const generation = ctx.policy.metadata.generation ?? 0;
    const sample = pickProbeNodes(nodes, ctx.spec.nodeAuthorization.probeNodes);
    const syntheticProbe = sample.length === 0;
    const probeNodes = syntheticProbe ? [SYNTHETIC_NODE] : sample;
    const now = ctx.now().getTime();
    const key = [probeNodes.join(','), binding?.metadata.resourceVersion ?? '-', generation].join('|');
    if (!fresh(probes.kubelets, key, instances, now, ctx.mode))
      probes.kubelets = { key, instances, at: now, value: await gatherKubeletEvidence(ctx, reads, probeNodes, instances, now) };
    const kubelets = probes.kubelets;
    let nodeRestrictionProbe: NodeRestrictionProbe | undefined;
    if (ctx.spec.nodeAuthorization.probeNodeRestriction) {
      const names = nodes.map((n) => n.metadata.name);
      const nrKey = [pickTargetNode(names) ?? '-', generation].join('|');
      if (!fresh(probes.restriction, nrKey, instances, now, ctx.mode))
        probes.restriction = { key: nrKey, instances, at: now, value: await probeNodeRestriction(ctx.client, names, new Date(now)) };
      nodeRestrictionProbe = probes.restriction.value;
    }
    return {
      nodeCount: nodes.length,
      notReady: nodes
        .filter((x) => x.ready !== 'True')
        .map((x) => x.metadata.name)
        .sort(),
      probed: kubelets.value.probed,
      syntheticProbe,
      probeTime: kubelets.value.time,
      binding,
      flags: kubelets.value.flags,
      authorizerMetrics: kubelets.value.metrics,
      nodeRestrictionProbe,
    };
  };
}
