// Which authorizers answer kubelets and whether NodeRestriction is on, from
// three kinds of evidence, each fact saying where it came from:
// - flags: the kube-apiserver static pod's command line, when the cluster shows one;
// - metrics: apiserver_authorization_decisions_total{type,name,decision} on the API
//   server's /metrics (every configured authorizer is instrumented, whether set by
//   --authorization-mode or --authorization-config; kubernetes
//   pkg/kubeapiserver/authorizer/reload.go);
// - probe: SubjectAccessReviews of kubelet identities (which authorizer decided is
//   in `reason`) and, opted in, NodeRestriction's answer to a dry-run patch.
// The probes are the ground truth; flags and metrics confirm or refine them.
import type { ApiserverFlags } from '../../kube/apiserver-flags.ts';
import { metricSamples, type ApiserverMetrics } from '../../kube/apiserver-metrics.ts';
import type { NodeRestrictionProbe, NodeRestrictionVerdict } from './node-restriction.ts';
import type { CheckResult } from './probe.ts';

export type FactSource = 'flags' | 'metrics' | 'probe';
export type Presence = 'present' | 'absent' | 'unknown';

export interface Fact {
  source: FactSource;
  says: Presence;
  detail: string;
}

export interface AuthorizerDecisions {
  type: string;
  name: string;
  allowed: number;
  denied: number;
}

export type AuthorizerMetrics =
  /** apiservers: how many API servers run (identity Leases); /metrics answers for the one the connection reached */
  { readable: true; authorizers: AuthorizerDecisions[]; at: string; apiservers?: number } | { readable: false; why: string; at: string };

/** The authorizers that made terminal decisions, by type and name, from the API server's /metrics. */
export function authorizerMetrics(metrics: ApiserverMetrics, apiservers = 1): AuthorizerMetrics {
  if (!metrics.readable) return metrics;
  const byKey = new Map<string, AuthorizerDecisions>();
  for (const s of metricSamples(metrics.text, 'apiserver_authorization_decisions_total')) {
    const { type = '', name = '', decision = '' } = s.labels;
    const entry = byKey.get(`${type}/${name}`) ?? { type, name, allowed: 0, denied: 0 };
    if (decision === 'allowed') entry.allowed += s.value;
    else if (decision === 'denied') entry.denied += s.value;
    byKey.set(`${type}/${name}`, entry);
  }
  return {
    readable: true,
    authorizers: [...byKey.values()].sort((a, b) => `${a.type}/${a.name}`.localeCompare(`${b.type}/${b.name}`)),
    at: metrics.at,
    apiservers,
  };
}

const listAuthorizers = (a: readonly AuthorizerDecisions[]): string => a.map((x) => `${x.type}/${x.name}`).join(', ') || 'none';

export function nodeAuthorizerFromProbe(results: readonly CheckResult[]): Fact {
  const scoped = results.filter((r) => r.nodeScoped);
  if (scoped.length === 0) return { source: 'probe', says: 'unknown', detail: 'no kubelet identity was probed' };
  const byNode = scoped.filter((r) => r.grantedBy === 'Node').length;
  if (byNode === scoped.length)
    return { source: 'probe', says: 'present', detail: `the Node authorizer answered all ${scoped.length} kubelet SubjectAccessReviews` };
  const other = [...new Set(scoped.filter((r) => r.grantedBy !== 'Node').map((r) => (r.grantedBy === 'Denied' ? 'denied' : `allowed by ${r.grantedBy}`)))];
  return {
    source: 'probe',
    says: 'absent',
    detail: `${scoped.length - byNode} of ${scoped.length} kubelet SubjectAccessReviews were not answered by the Node authorizer (${other.join(', ')})`,
  };
}

export function nodeAuthorizerFromMetrics(m: AuthorizerMetrics): Fact {
  if (!m.readable) return { source: 'metrics', says: 'unknown', detail: m.why };
  const node = m.authorizers.find((a) => a.type === 'Node');
  const seen = `authorizers deciding: ${listAuthorizers(m.authorizers)}${(m.apiservers ?? 1) > 1 ? `; on the one of ${m.apiservers ?? 1} API servers the operator's connection reached` : ''}`;
  if (node)
    return {
      source: 'metrics',
      says: 'present',
      detail: `apiserver_authorization_decisions_total counts decisions by Node authorizer "${node.name}" (${seen})`,
    };
  return { source: 'metrics', says: 'absent', detail: `apiserver_authorization_decisions_total counts no Node authorizer decision (${seen})` };
}

export function nodeAuthorizerFromFlags(f: ApiserverFlags): Fact {
  if (f.source === 'unknown') return { source: 'flags', says: 'unknown', detail: 'no kube-apiserver static pod is visible in kube-system' };
  const pod = f.podName ?? 'kube-apiserver';
  if (f.authorizationConfigFile)
    return { source: 'flags', says: 'unknown', detail: `${pod} uses --authorization-config=${f.authorizationConfigFile}, a file the operator cannot read` };
  const modes = f.authorizationModes ?? [];
  return { source: 'flags', says: modes.includes('Node') ? 'present' : 'absent', detail: `${pod} runs with --authorization-mode=${modes.join(',')}` };
}

export interface NodeAuthorizerEvidence {
  /** the verdict: the probe's, unless the metrics show the empty-reason answers came from another authorizer */
  present: boolean | undefined;
  facts: Fact[];
}

/** Authorizers that, like the Node authorizer, allow with an empty reason. */
const SILENT_ALLOWERS = new Set(['AlwaysAllow', 'Webhook']);

export function nodeAuthorizerEvidence(results: readonly CheckResult[], metrics: AuthorizerMetrics, flags: ApiserverFlags): NodeAuthorizerEvidence {
  const facts = [nodeAuthorizerFromProbe(results), nodeAuthorizerFromMetrics(metrics), nodeAuthorizerFromFlags(flags)];
  const [probe, fromMetrics] = facts as [Fact, Fact, Fact];
  if (probe.says === 'unknown') return { present: undefined, facts };
  const silentAllower = metrics.readable && metrics.authorizers.some((a) => SILENT_ALLOWERS.has(a.type) && a.allowed > 0);
  if (probe.says === 'present' && fromMetrics.says === 'absent' && silentAllower) {
    return {
      present: false,
      facts: [
        ...facts,
        { source: 'metrics', says: 'absent', detail: 'the empty-reason answers came from an AlwaysAllow or Webhook authorizer, not a Node authorizer' },
      ],
    };
  }
  return { present: probe.says === 'present', facts };
}

export interface NodeRestrictionEvidence {
  state: NodeRestrictionVerdict;
  source: FactSource | undefined;
  detail: string;
}

/** Behaviour first (the probe, when opted in and conclusive), then the flags; otherwise Unknown, never a guess. */
export function nodeRestrictionEvidence(flags: ApiserverFlags, probe: NodeRestrictionProbe | undefined): NodeRestrictionEvidence {
  if (probe && probe.verdict !== 'Unknown') return { state: probe.verdict, source: 'probe', detail: probe.detail };
  if (flags.source !== 'unknown' && flags.admissionPlugins !== undefined) {
    const on = flags.admissionPlugins.includes('NodeRestriction');
    return {
      state: on ? 'Enabled' : 'Disabled',
      source: 'flags',
      detail: `${flags.podName ?? 'kube-apiserver'} runs with --enable-admission-plugins=${flags.admissionPlugins.join(',') || '(default)'}`,
    };
  }
  if (probe) return { state: 'Unknown', source: 'probe', detail: probe.detail };
  return {
    state: 'Unknown',
    source: undefined,
    detail: 'the API server flags are not visible and the behaviour probe is off (set spec.nodeAuthorization.probeNodeRestriction: true to test it)',
  };
}

/** "probe: …; metrics: …; flags: …", for condition messages. */
export function describeFacts(facts: readonly Fact[]): string {
  return facts.map((f) => `${f.source}: ${f.detail}`).join('; ');
}
