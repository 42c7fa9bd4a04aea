// The decision, as a pure function of the policy and what was observed (the
// kubelets-forbidden incident): which authorizer lets kubelets in, whether the
// legacy binding should be created, repaired or removed, whether NodeRestriction
// is on, and the NodeAuthorizationReady condition. Decided by small named rules
// in order (like cert-manager's policies/checks.go): the first that speaks gives
// the reason, the message and the actions.
import { asSentences, type ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import { firstVerdict, type Refusal, type Rule, type Verdict } from '../../api/rules.ts';
import type { AreaReport, Finding } from '../area.ts';
import { classifyBinding, describeSubjects, managedByUs, type BindingState, type LegacyBinding, type Subject } from './binding.ts';
import { describeFacts, nodeAuthorizerEvidence, nodeRestrictionEvidence, type NodeAuthorizerEvidence, type NodeRestrictionEvidence } from './evidence.ts';
import { SYNTHETIC_NODE, type NodeAuthObservation } from './observe.ts';
import type { CheckResult } from './probe.ts';

/**
 * The binding as the plan judged it. A write to it carries these as its preconditions, so a
 * binding changed since (say it gained a subject while the kubelets were probed) is a 409 and a
 * fresh plan, never overwritten or deleted on the strength of a verdict about another version.
 */
export interface JudgedBinding {
  resourceVersion: string;
  uid: string;
}

/**
 * create: POST a new binding (no binding was judged: one created since is a 409 AlreadyExists);
 * bind: fill the API server's empty bootstrap binding;
 * repair: put a binding the operator manages (or LegacyBinding mode's) back in shape;
 * delete: remove a binding of the exact legacy shape.
 */
export type NodeAuthAction =
  | { kind: 'create'; why: string }
  | { kind: 'bind' | 'delete'; why: string; judged: JudgedBinding }
  | { kind: 'repair'; why: string; judged: JudgedBinding; removedSubjects: Subject[] };

/** What an action does, for messages, events and status ("create clusterrolebinding/system:node"). */
export function describeAction(a: NodeAuthAction): string {
  const verb = a.kind === 'bind' ? 'create' : a.kind;
  return `${verb} clusterrolebinding/system:node`;
}

export type { Refusal } from '../../api/rules.ts';

export interface NodeAuthPlan {
  actions: NodeAuthAction[];
  /** warnings the operator refused to act on (an Event each) */
  refusals: Refusal[];
  dryRun: boolean;
  report: AreaReport;
}

/** Everything the rules look at, computed once from the spec and the observation. */
export interface NodeAuthFacts {
  spec: ResolvedSpec['nodeAuthorization'];
  results: (CheckResult & { node: string })[];
  denied: (CheckResult & { node: string })[];
  kubeletsAllowed: boolean;
  nodeAuthorizer: NodeAuthorizerEvidence;
  nodeRestriction: NodeRestrictionEvidence;
  binding: LegacyBinding | undefined;
  state: BindingState;
  syntheticProbe: boolean;
}

/** A node-authorization rule: the shared shape (src/api/rules.ts), its facts and actions. */
export type NodeAuthRule = Rule<NodeAuthFacts, NodeAuthAction>;

const FLAGS_ADVICE =
  'set --authorization-mode=Node,RBAC (with --authorization-config: a `type: Node` authorizer before RBAC) ' +
  'and --enable-admission-plugins=NodeRestriction on every kube-apiserver';

export function gatherFacts(spec: ResolvedSpec, observation: NodeAuthObservation): NodeAuthFacts {
  const results = observation.probed.flatMap((p) => p.results.map((r) => ({ ...r, node: p.node })));
  const denied = results.filter((r) => !r.allowed);
  return {
    spec: spec.nodeAuthorization,
    results,
    denied,
    kubeletsAllowed: results.length > 0 && denied.length === 0,
    nodeAuthorizer: nodeAuthorizerEvidence(results, observation.authorizerMetrics, observation.flags),
    nodeRestriction: nodeRestrictionEvidence(observation.flags, observation.nodeRestrictionProbe),
    binding: observation.binding,
    state: classifyBinding(observation.binding),
    syntheticProbe: observation.syntheticProbe,
  };
}

const deniedText = (f: NodeAuthFacts): string =>
  f.denied
    .slice(0, 5)
    .map((r) => `system:node:${r.node} may not ${r.check}`)
    .join('; ');
const subjectsText = (f: NodeAuthFacts): string => describeSubjects(f.binding?.subjects ?? []);
const extraText = (f: NodeAuthFacts): string => `the system:node ClusterRoleBinding has subjects ${subjectsText(f)}`;
/** Where each fact about the authorizers came from (flags | metrics | probe). */
export const evidenceText = (f: NodeAuthFacts): string => `Where each fact came from: ${describeFacts(f.nodeAuthorizer.facts)}`;
const hasNodeAuthorizer = (f: NodeAuthFacts): boolean => f.nodeAuthorizer.present === true;

/** The legacy binding in its exact shape: create it, fill the bootstrap one, or repair ours. */
export function ensureLegacy(f: NodeAuthFacts, why: string): NodeAuthAction[] {
  if (f.state === 'legacy') return [];
  if (!f.binding) return [{ kind: 'create', why }];
  const judged = judgedOf(f.binding);
  if (f.state === 'absent' && !managedByUs(f.binding)) return [{ kind: 'bind', why, judged }];
  return [{ kind: 'repair', why, judged, removedSubjects: f.binding.subjects.filter((s) => !(s.kind === 'Group' && s.name === 'system:nodes')) }];
}

/** The version a write must find, taken from the binding the rules looked at. */
export const judgedOf = (b: LegacyBinding): JudgedBinding => ({ resourceVersion: b.metadata.resourceVersion, uid: b.metadata.uid });

const unmanaged: NodeAuthRule = {
  name: 'unmanaged',
  decide: (f) => {
    if (f.spec.mode !== 'Unmanaged') return undefined;
    if (!f.kubeletsAllowed)
      return {
        status: 'False',
        reason: Reason.KubeletsDenied,
        message: `kubelets are denied: ${deniedText(f)}. ${FLAGS_ADVICE}; mode Unmanaged: the operator changes nothing. ${evidenceText(f)}`,
      };
    const by = hasNodeAuthorizer(f) ? 'by the Node authorizer' : 'by RBAC (the legacy system:node binding or another grant)';
    return {
      status: 'True',
      reason: hasNodeAuthorizer(f) ? Reason.NodeAuthorizer : Reason.LegacyBinding,
      message: `kubelets are authorized ${by}; mode Unmanaged: the operator changes nothing`,
    };
  },
};

const legacyBindingMode: NodeAuthRule = {
  name: 'legacyBindingMode',
  decide: (f) => {
    if (f.spec.mode !== 'LegacyBinding') return undefined;
    const actions = ensureLegacy(f, 'mode LegacyBinding keeps the system:node binding in its exact shape');
    if (actions.length)
      return {
        status: 'True',
        reason: Reason.LegacyBinding,
        actions,
        message: `repairing the system:node ClusterRoleBinding to bind ClusterRole system:node to Group system:nodes (was: ${subjectsText(f)})`,
      };
    if (!f.kubeletsAllowed)
      return { status: 'False', reason: Reason.KubeletsDenied, message: `the legacy binding is in place but kubelets are still denied: ${deniedText(f)}` };
    return {
      status: 'True',
      reason: Reason.LegacyBinding,
      message:
        'kubelets are authorized through the system:node ClusterRoleBinding; note it lets every node read every Secret — the Node authorizer (mode NodeAuthorizer) is safer',
    };
  },
};

const fallbackWhileNodeAuthorizerMissing: NodeAuthRule = {
  name: 'fallbackWhileNodeAuthorizerMissing',
  decide: (f) => {
    if (hasNodeAuthorizer(f) || !f.spec.legacyBindingFallback) return undefined;
    if (!(f.state === 'legacy' || f.state === 'absent' || managedByUs(f.binding))) return undefined;
    const actions = ensureLegacy(
      f,
      'the Node authorizer is not enabled and legacyBindingFallback is on: bind system:node to system:nodes so kubelets recover now',
    );
    return {
      status: 'True',
      reason: Reason.LegacyBindingFallback,
      actions,
      message: `kubelets are authorized through the legacy system:node ClusterRoleBinding (fallback); the Node authorizer is not enabled: ${FLAGS_ADVICE}, and the operator will remove the binding once the Node authorizer is confirmed. ${evidenceText(f)}`,
    };
  },
};

const nodeAuthorizerMissing: NodeAuthRule = {
  name: 'nodeAuthorizerMissing',
  decide: (f) => {
    if (hasNodeAuthorizer(f)) return undefined;
    const why = f.kubeletsAllowed
      ? 'kubelets are authorized only by RBAC (the legacy binding or another grant), not by the Node authorizer'
      : `kubelets are denied: ${deniedText(f)}`;
    const fallback = f.spec.legacyBindingFallback;
    return {
      status: 'False',
      reason: Reason.NodeAuthorizerDisabled,
      refusals: fallback
        ? [{ reason: Reason.LegacyBindingHasExtraSubjects, message: `${extraText(f)}; not changing a binding the operator did not create` }]
        : [],
      message: `${why}. ${FLAGS_ADVICE}${fallback ? '' : ', or set spec.nodeAuthorization.legacyBindingFallback: true to bind the legacy role until then'}. ${evidenceText(f)}`,
    };
  },
};

const leftoverLegacyBinding: NodeAuthRule = {
  name: 'leftoverLegacyBinding',
  decide: (f) =>
    f.state !== 'legacy' || !f.binding
      ? undefined
      : {
          status: 'True',
          reason: Reason.NodeAuthorizer,
          actions: [
            {
              kind: 'delete',
              why: 'the Node authorizer now grants kubelets what they need; the legacy binding would let every node read every Secret',
              judged: judgedOf(f.binding),
            },
          ],
          message: 'the Node authorizer grants kubelets what they need; removing the legacy system:node ClusterRoleBinding',
        },
};

const bindingGrantsMore: NodeAuthRule = {
  name: 'bindingGrantsMore',
  decide: (f) =>
    f.state !== 'extraSubjects' && f.state !== 'drifted'
      ? undefined
      : {
          status: 'False',
          reason: Reason.LegacyBindingHasExtraSubjects,
          refusals: [
            {
              reason: Reason.LegacyBindingHasExtraSubjects,
              message: `${extraText(f)}; not deleting a binding that grants more than the legacy shape: review and remove it by hand`,
            },
          ],
          message: `the Node authorizer grants kubelets what they need, but ${extraText(f)}: the operator will not delete it; review and remove it by hand`,
        },
};

const nodeRestrictionDisabled: NodeAuthRule = {
  name: 'nodeRestrictionDisabled',
  decide: (f) =>
    f.nodeRestriction.state !== 'Disabled'
      ? undefined
      : {
          status: 'False',
          reason: Reason.NodeRestrictionDisabled,
          message:
            `the Node authorizer is on, but the NodeRestriction admission plugin is not: kubelets may modify other nodes' objects. ` +
            `Add NodeRestriction to --enable-admission-plugins. NodeRestriction (${f.nodeRestriction.source ?? 'unknown'}): ${f.nodeRestriction.detail}. ${evidenceText(f)}`,
        },
};

const nodeAuthorizerReady: NodeAuthRule = {
  name: 'nodeAuthorizerReady',
  decide: (f) => {
    const placeholder = f.syntheticProbe ? ` (no Node exists yet, so the probe asked on behalf of a placeholder node named ${SYNTHETIC_NODE})` : '';
    const nr = f.nodeRestriction;
    const restriction = `NodeRestriction: ${nr.state === 'Enabled' ? 'enabled' : 'unknown'} (${nr.source ?? 'no evidence'}: ${nr.detail})`;
    return {
      status: 'True',
      reason: Reason.NodeAuthorizer,
      message: `the Node authorizer grants kubelets what they need${placeholder}; no legacy binding. ${restriction}. ${evidenceText(f)}`,
    };
  },
};

/** In order; the first verdict wins. The last rule always speaks. */
export const RULES: readonly NodeAuthRule[] = [
  unmanaged,
  legacyBindingMode,
  fallbackWhileNodeAuthorizerMissing,
  nodeAuthorizerMissing,
  leftoverLegacyBinding,
  bindingGrantsMore,
  nodeRestrictionDisabled,
  nodeAuthorizerReady,
];

/** The first rule's verdict, with the rule's name (for tests and logs). */
export function decide(f: NodeAuthFacts, rules: readonly NodeAuthRule[] = RULES): Verdict<NodeAuthAction> & { rule: string } {
  return firstVerdict(rules, f);
}

export function planNodeAuthorization(spec: ResolvedSpec, observation: NodeAuthObservation): NodeAuthPlan {
  const f = gatherFacts(spec, observation);
  const verdict = decide(f);
  const actions = verdict.actions ?? [];
  const dryRun = spec.dryRun;
  let message = verdict.message;
  if (dryRun && actions.length > 0) message = `${message} Dry run: the operator would ${actions.map(describeAction).join(', then ')}.`;
  const condition: ConditionUpdate = {
    type: ConditionType.NodeAuthorizationReady,
    status: verdict.status,
    reason: verdict.reason,
    message: asSentences(message),
  };
  return {
    actions,
    refusals: verdict.refusals ?? [],
    dryRun,
    report: { conditions: [condition], findings: findings(f, condition, actions, dryRun), summary: summary(f, observation, actions, dryRun) },
  };
}

function findings(f: NodeAuthFacts, condition: ConditionUpdate, actions: readonly NodeAuthAction[], dryRun: boolean): Finding[] {
  const out: Finding[] = [];
  if (condition.status !== 'True') out.push({ subject: 'nodeAuthorization', health: 'action', message: condition.message });
  for (const r of f.denied.slice(0, 10))
    out.push({ subject: `node/${r.node}`, health: 'action', message: `system:node:${r.node} may not ${r.check}${r.reason ? ` (${r.reason})` : ''}` });
  for (const a of actions)
    out.push({ subject: 'clusterrolebinding/system:node', health: 'action', message: `${dryRun ? 'would ' : ''}${describeAction(a)}: ${a.why}` });
  return out;
}

function summary(f: NodeAuthFacts, observation: NodeAuthObservation, actions: readonly NodeAuthAction[], dryRun: boolean): Record<string, unknown> {
  const flags = observation.flags;
  const m = observation.authorizerMetrics;
  return {
    authorizer: f.results.length === 0 ? 'Unknown' : hasNodeAuthorizer(f) ? 'Node' : f.kubeletsAllowed ? 'RBAC' : 'None',
    kubeletsAuthorized: f.kubeletsAllowed,
    nodes: observation.nodeCount,
    notReadyNodes: observation.notReady.length,
    ...(observation.notReady.length ? { notReady: observation.notReady.slice(0, 10) } : {}),
    probedNodes: observation.probed.map((p) => p.node),
    ...(f.denied.length ? { deniedChecks: f.denied.slice(0, 10).map((r) => `system:node:${r.node}: ${r.check}`) } : {}),
    legacyBinding: { state: f.state, managedByOperator: managedByUs(f.binding), subjects: subjectsText(f) },
    nodeAuthorizer: {
      present: f.nodeAuthorizer.present ?? 'Unknown',
      evidence: Object.fromEntries(f.nodeAuthorizer.facts.map((x) => [x.source, `${x.says}: ${x.detail}`])),
      // No counts or read times: status changes only when a fact does.
      ...(m.readable ? { decidingAuthorizers: m.authorizers.map((a) => `${a.type}/${a.name}`) } : {}),
    },
    nodeRestriction: { state: f.nodeRestriction.state, source: f.nodeRestriction.source ?? 'none', detail: f.nodeRestriction.detail },
    apiserverFlags:
      flags.source === 'unknown'
        ? { visible: false, why: 'no kube-apiserver static pod in kube-system, so the operator cannot read its flags' }
        : {
            visible: true,
            source: flags.source,
            pod: flags.podName,
            ...(flags.authorizationConfigFile
              ? { authorizationConfig: flags.authorizationConfigFile }
              : { authorizationMode: (flags.authorizationModes ?? []).join(',') }),
            admissionPlugins: (flags.admissionPlugins ?? []).join(','),
          },
    ...(dryRun && actions.length ? { plannedActions: actions.map((a) => `${describeAction(a)}: ${a.why}`) } : {}),
  };
}
