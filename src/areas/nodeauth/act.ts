// Carries out the plan: create, repair or delete the system:node
// ClusterRoleBinding, in order, with optimistic concurrency (a conflict is
// retried by the controller with a fresh observation), an Event for every
// action and refusal, and nothing but Events in dry run.
import { isNotFound } from '../../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../../kube/paths.ts';
import type { AreaContext, AreaReport } from '../area.ts';
import { BINDING_NAME, desiredBinding, describeSubjects, type LegacyBinding } from './binding.ts';
import { bindingCache } from './caches.ts';
import { describeAction, type NodeAuthPlan } from './plan.ts';

/** Filling the API server's empty bootstrap binding is, for the user, creating the legacy binding. */
const PAST = { create: 'created', bind: 'created', repair: 'repaired', delete: 'deleted' } as const;
const EVENT_REASON = { create: 'LegacyBindingCreated', bind: 'LegacyBindingCreated', repair: 'LegacyBindingRepaired', delete: 'LegacyBindingDeleted' } as const;

export async function actNodeAuthorization(ctx: AreaContext, plan: NodeAuthPlan): Promise<AreaReport> {
  for (const r of plan.refusals) await ctx.events?.record(ctx.policyRef, 'Warning', r.reason, r.message);
  if (plan.dryRun) {
    for (const a of plan.actions) await ctx.events?.record(ctx.policyRef, 'Normal', 'DryRun', `would ${describeAction(a)}: ${a.why}`);
    return plan.report;
  }
  const path = objectPath(Resources.clusterRoleBindings, BINDING_NAME);
  for (const action of plan.actions) {
    if (ctx.signal.aborted) break;
    const current = ctx.cache(bindingCache).get(BINDING_NAME);
    switch (action.kind) {
      case 'create':
        await ctx.client.create(collectionPath(Resources.clusterRoleBindings), desiredBinding(undefined, ctx.policy.metadata.name));
        break;
      case 'bind':
      case 'repair': {
        // Read the full object (the cache keeps only what we compare) and write it back with its resourceVersion.
        // …but keep the resourceVersion the plan judged, so a change since then is a 409, not overwritten.
        const full = await ctx.client.get<LegacyBinding>(path);
        const desired = desiredBinding(full, ctx.policy.metadata.name);
        await ctx.client.replace(path, { ...desired, metadata: { ...(desired.metadata as object), resourceVersion: current?.metadata.resourceVersion } });
        break;
      }
      case 'delete':
        try {
          await ctx.client.delete(path, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: current?.metadata.resourceVersion } });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        break;
    }
    const detail = action.kind === 'repair' && action.removedSubjects.length ? ` (removed subjects: ${describeSubjects(action.removedSubjects)})` : '';
    const done = `${PAST[action.kind]} clusterrolebinding/${BINDING_NAME}`;
    ctx.log.info(done, { binding: BINDING_NAME, why: action.why });
    await ctx.events?.record(ctx.policyRef, 'Normal', EVENT_REASON[action.kind], `${done}: ${action.why}${detail}`);
  }
  return plan.report;
}
