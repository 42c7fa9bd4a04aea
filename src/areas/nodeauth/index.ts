// Node authorization readiness (the kubelets-forbidden incident).
import { ConditionType } from '../../api/reasons.ts';
import type { Area } from '../area.ts';
import { actNodeAuthorization } from './act.ts';
import { apiserverIdentityCache, bindingCache, nodeCache } from './caches.ts';
import { createObserver, type NodeAuthObservation } from './observe.ts';
import { planNodeAuthorization, type NodeAuthPlan } from './plan.ts';

export function nodeAuthorizationArea(): Area<NodeAuthObservation, NodeAuthPlan> {
  return {
    name: 'nodeAuthorization',
    conditionTypes: [ConditionType.NodeAuthorizationReady],
    caches: [nodeCache, bindingCache, apiserverIdentityCache],
    observe: createObserver(),
    plan: (spec, observation) => planNodeAuthorization(spec, observation),
    act: actNodeAuthorization,
    report: (plan) => plan.report,
  };
}
