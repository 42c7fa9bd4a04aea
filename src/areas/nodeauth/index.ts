// Node authorization readiness (the kubelets-forbidden incident).
import { ConditionType } from '../../api/reasons.ts';
import type { ApiserverReads } from '../../kube/apiserver-reads.ts';
import type { Area } from '../area.ts';
import { actNodeAuthorization } from './act.ts';
import { apiserverIdentityCache, bindingCache, nodeCache } from './caches.ts';
import { createObserver, type NodeAuthObservation, type ProbeMemo } from './observe.ts';
import { planNodeAuthorization, type NodeAuthPlan } from './plan.ts';
import { createReplanner } from './replan.ts';

/** reads: the API server's flags and /metrics, read at most every 30 s for every area (made at wiring time, src/policy/areas.ts). */
export function nodeAuthorizationArea(reads: ApiserverReads): Area<NodeAuthObservation, NodeAuthPlan> {
  // The probes' last answers, kept across reconciles: made here, once, not kept in closures.
  const probes: ProbeMemo = {};
  const observe = createObserver(reads, probes);
  // After a write found the binding changed since it was judged: plan again from the binding as it is now.
  const replan = createReplanner(observe);
  return {
    name: 'nodeAuthorization',
    conditionTypes: [ConditionType.NodeAuthorizationReady],
    caches: [nodeCache, bindingCache, apiserverIdentityCache],
    observe: (ctx) => observe(ctx),
    plan: (spec, observation) => planNodeAuthorization(spec, observation),
    act: (ctx, plan) => actNodeAuthorization(ctx, plan, replan),
    report: (plan) => plan.report,
  };
}
