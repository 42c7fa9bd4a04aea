// The decision, as a pure function of the policy and what was observed (seed
// 002): which authorizer lets kubelets in, whether the legacy binding should be
// created, repaired or removed, and the NodeAuthorizationReady condition.
import { asSentences, type ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { AreaReport, Finding } from '../area.ts';
import { classifyBinding, describeSubjects, managedByUs, type BindingState, type Subject } from './binding.ts';
import { SYNTHETIC_NODE, type NodeAuthObservation } from './observe.ts';

/**
 * create: POST a new binding; bind: fill the API server's empty bootstrap binding;
 * repair: put a binding the operator manages (or LegacyBinding mode's) back in shape;
 * delete: remove a binding of the exact legacy shape.
 */
export type NodeAuthAction =
  | { kind: 'create' | 'bind' | 'delete'; why: string }
  | { kind: 'repair'; why: string; removedSubjects: Subject[] };

/** What an action does, for messages, events and status ("create clusterrolebinding/system:node"). */
export function describeAction(a: NodeAuthAction): string {
  const verb = a.kind === 'bind' ? 'create' : a.kind;
  return `${verb} clusterrolebinding/system:node`;
}

export interface NodeAuthPlan {
  actions: NodeAuthAction[];
  /** warnings the operator refused to act on (an Event each) */
  refusals: { reason: string; message: string }[];
  dryRun: boolean;
  report: AreaReport;
}

const FLAGS_ADVICE = 'set --authorization-mode=Node,RBAC and --enable-admission-plugins=NodeRestriction on every kube-apiserver';

function flagsText(obs: NodeAuthObservation): string {
  const f = obs.flags;
  if (f.source === 'unknown') return 'the API server flags are not visible from the cluster (no kube-apiserver static pod in kube-system)';
  if (f.authorizationConfigFile) return `${f.podName ?? 'kube-apiserver'} uses --authorization-config=${f.authorizationConfigFile} (structured authorization): its authorizers are named in a file the operator cannot read`;
  return `${f.podName ?? 'kube-apiserver'} runs with --authorization-mode=${(f.authorizationModes ?? []).join(',')} and --enable-admission-plugins=${(f.admissionPlugins ?? []).join(',') || '(default)'}`;
}

/** NodeRestriction is an admission plugin, invisible to SubjectAccessReviews: only the flags tell. */
function nodeRestrictionOff(obs: NodeAuthObservation): boolean {
  return obs.flags.source === 'staticPod' && obs.flags.admissionPlugins !== undefined && !obs.flags.admissionPlugins.includes('NodeRestriction');
}

export function planNodeAuthorization(spec: ResolvedSpec, obs: NodeAuthObservation): NodeAuthPlan {
  const { mode, legacyBindingFallback } = spec.nodeAuthorization;
  const results = obs.probed.flatMap((p) => p.results.map((r) => ({ ...r, node: p.node })));
  const denied = results.filter((r) => !r.allowed);
  const kubeletsAllowed = results.length > 0 && denied.length === 0;
  const nodeAuthorizer = results.length > 0 && results.filter((r) => r.nodeScoped).every((r) => r.grantedBy === 'Node');
  const state: BindingState = classifyBinding(obs.binding);
  const exists = obs.binding !== undefined;
  const deniedText = denied.slice(0, 5).map((r) => `system:node:${r.node} may not ${r.check}`).join('; ');
  const actions: NodeAuthAction[] = [];
  const refusals: NodeAuthPlan['refusals'] = [];
  let condition: ConditionUpdate;
  const cond = (status: ConditionUpdate['status'], reason: string, message: string): ConditionUpdate => ({ type: ConditionType.NodeAuthorizationReady, status, reason, message: asSentences(message) });
  const ensureLegacy = (why: string): void => {
    if (state === 'legacy') return;
    if (!exists) actions.push({ kind: 'create', why });
    else if (state === 'absent' && !managedByUs(obs.binding)) actions.push({ kind: 'bind', why });
    else actions.push({ kind: 'repair', why, removedSubjects: (obs.binding?.subjects ?? []).filter((s) => !(s.kind === 'Group' && s.name === 'system:nodes')) });
  };
  const extraText = `the system:node ClusterRoleBinding has subjects ${describeSubjects(obs.binding?.subjects ?? [])}`;

  if (mode === 'Unmanaged') {
    condition = kubeletsAllowed
      ? cond('True', nodeAuthorizer ? Reason.NodeAuthorizer : Reason.LegacyBinding, `kubelets are authorized ${nodeAuthorizer ? 'by the Node authorizer' : 'by RBAC (the legacy system:node binding or another grant)'}; mode Unmanaged: the operator changes nothing`)
      : cond('False', Reason.KubeletsDenied, `kubelets are denied: ${deniedText}. ${FLAGS_ADVICE}; mode Unmanaged: the operator changes nothing. ${flagsText(obs)}`);
  } else if (mode === 'LegacyBinding') {
    ensureLegacy('mode LegacyBinding keeps the system:node binding in its exact shape');
    condition = cond('True', Reason.LegacyBinding, actions.length
      ? `repairing the system:node ClusterRoleBinding to bind ClusterRole system:node to Group system:nodes (was: ${describeSubjects(obs.binding?.subjects ?? [])})`
      : `kubelets are authorized through the system:node ClusterRoleBinding; note it lets every node read every Secret — the Node authorizer (mode NodeAuthorizer) is safer`);
    if (!kubeletsAllowed && actions.length === 0) condition = cond('False', Reason.KubeletsDenied, `the legacy binding is in place but kubelets are still denied: ${deniedText}`);
  } else if (nodeAuthorizer) {
    // mode NodeAuthorizer, and the Node authorizer is confirmed.
    if (state === 'legacy') {
      actions.push({ kind: 'delete', why: 'the Node authorizer now grants kubelets what they need; the legacy binding would let every node read every Secret' });
      condition = cond('True', Reason.NodeAuthorizer, 'the Node authorizer grants kubelets what they need; removing the legacy system:node ClusterRoleBinding');
    } else if (state === 'extraSubjects' || state === 'drifted') {
      refusals.push({ reason: Reason.LegacyBindingHasExtraSubjects, message: `${extraText}; not deleting a binding that grants more than the legacy shape: review and remove it by hand` });
      condition = cond('False', Reason.LegacyBindingHasExtraSubjects, `the Node authorizer grants kubelets what they need, but ${extraText}: the operator will not delete it; review and remove it by hand`);
    } else if (nodeRestrictionOff(obs)) {
      condition = cond('False', Reason.NodeRestrictionDisabled, `the Node authorizer is on, but the NodeRestriction admission plugin is not: kubelets may modify other nodes' objects. Add NodeRestriction to --enable-admission-plugins. ${flagsText(obs)}`);
    } else {
      condition = cond('True', Reason.NodeAuthorizer, `the Node authorizer grants kubelets what they need${obs.syntheticProbe ? ` (no Node exists yet, so the probe asked on behalf of a placeholder node named ${SYNTHETIC_NODE})` : ''}; no legacy binding`);
    }
  } else if (legacyBindingFallback && (state === 'legacy' || state === 'absent' || managedByUs(obs.binding))) {
    ensureLegacy('the Node authorizer is not enabled and legacyBindingFallback is on: bind system:node to system:nodes so kubelets recover now');
    condition = cond('True', Reason.LegacyBindingFallback, `kubelets are authorized through the legacy system:node ClusterRoleBinding (fallback); the Node authorizer is not enabled: ${FLAGS_ADVICE}, and the operator will remove the binding once the Node authorizer is confirmed. ${flagsText(obs)}`);
  } else {
    const why = kubeletsAllowed ? 'kubelets are authorized only by RBAC (the legacy binding or another grant), not by the Node authorizer' : `kubelets are denied: ${deniedText}`;
    if (legacyBindingFallback) refusals.push({ reason: Reason.LegacyBindingHasExtraSubjects, message: `${extraText}; not changing a binding the operator did not create` });
    condition = cond('False', Reason.NodeAuthorizerDisabled, `${why}. ${FLAGS_ADVICE}${legacyBindingFallback ? '' : ', or set spec.nodeAuthorization.legacyBindingFallback: true to bind the legacy role until then'}. ${flagsText(obs)}`);
  }

  const dryRun = spec.dryRun;
  if (dryRun && actions.length > 0) {
    condition = { ...condition, message: `${condition.message} Dry run: the operator would ${actions.map(describeAction).join(', then ')}.` };
  }
  const findings: Finding[] = [];
  if (condition.status !== 'True') findings.push({ subject: 'nodeAuthorization', health: 'action', message: condition.message });
  for (const r of denied.slice(0, 10)) findings.push({ subject: `node/${r.node}`, health: 'action', message: `system:node:${r.node} may not ${r.check}${r.reason ? ` (${r.reason})` : ''}` });
  for (const a of actions) findings.push({ subject: 'clusterrolebinding/system:node', health: 'action', message: `${dryRun ? 'would ' : ''}${describeAction(a)}: ${a.why}` });

  return {
    actions,
    refusals,
    dryRun,
    report: {
      conditions: [condition],
      findings,
      summary: {
        authorizer: results.length === 0 ? 'Unknown' : nodeAuthorizer ? 'Node' : kubeletsAllowed ? 'RBAC' : 'None',
        kubeletsAuthorized: kubeletsAllowed,
        nodes: obs.nodeCount,
        notReadyNodes: obs.notReady.length,
        ...(obs.notReady.length ? { notReady: obs.notReady.slice(0, 10) } : {}),
        probedNodes: obs.probed.map((p) => p.node),
        ...(denied.length ? { deniedChecks: denied.slice(0, 10).map((r) => `system:node:${r.node}: ${r.check}`) } : {}),
        legacyBinding: { state, managedByOperator: managedByUs(obs.binding), subjects: describeSubjects(obs.binding?.subjects ?? []) },
        apiserverFlags: obs.flags.source === 'unknown'
          ? { visible: false, why: 'no kube-apiserver static pod in kube-system, so the operator cannot read its flags' }
          : { visible: true, source: obs.flags.source, pod: obs.flags.podName, ...(obs.flags.authorizationConfigFile ? { authorizationConfig: obs.flags.authorizationConfigFile } : { authorizationMode: (obs.flags.authorizationModes ?? []).join(','), nodeAuthorizer: (obs.flags.authorizationModes ?? []).includes('Node') }), nodeRestriction: !nodeRestrictionOff(obs) },
        ...(dryRun && actions.length ? { plannedActions: actions.map((a) => `${describeAction(a)}: ${a.why}`) } : {}),
      },
    },
  };
}
