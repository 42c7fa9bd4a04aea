// Carries out the plan: create, repair or delete the system:node
// ClusterRoleBinding, in order, each write conditioned on the version the plan
// judged (never on a cache read at act time), an Event for every action and
// refusal, and nothing but Events in dry run. A binding that changed since it
// was judged is an outcome, not an error: the area plans again from a fresh
// observation, and the status words that plan.
import { EventReason } from '../../api/reasons.ts';
import { describeError, isConflict, isNotFound } from '../../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../../kube/paths.ts';
import type { AreaContext, AreaReport } from '../area.ts';
import { BINDING_NAME, desiredBinding, describeSubjects, type LegacyBinding } from './binding.ts';
import { describeAction, type NodeAuthAction, type NodeAuthPlan } from './plan.ts';

/** Filling the API server's empty bootstrap binding is, for the user, creating the legacy binding. */
const PAST = { create: 'created', bind: 'created', repair: 'repaired', delete: 'deleted' } as const;
const EVENT_REASON = {
  create: EventReason.LegacyBindingCreated,
  bind: EventReason.LegacyBindingCreated,
  repair: EventReason.LegacyBindingRepaired,
  delete: EventReason.LegacyBindingDeleted,
} as const;

/** Fresh plans one reconcile makes after the binding changed under a write, before the controller's conflict retry takes over. */
export const MAX_REPLANS = 2;

/**
 * done: every action was written (or dry run);
 * stopped: the reconcile was cancelled (shutdown, or leadership lost) before `action`, which and the
 * actions after it were not written (the reconciler then writes no status either);
 * changed: `action` found the binding other than the plan judged it (409, or gone), so it and
 * the actions after it were not written.
 */
export type NodeAuthOutcome = { kind: 'done' } | { kind: 'stopped'; action: NodeAuthAction } | { kind: 'changed'; action: NodeAuthAction; error: unknown };

const bindingPath = objectPath(Resources.clusterRoleBindings, BINDING_NAME);

/** One write, with the judged resourceVersion (and, for a delete, uid) as its precondition. */
async function write(ctx: AreaContext, action: NodeAuthAction): Promise<void> {
  switch (action.kind) {
    case 'create':
      await ctx.client.create(collectionPath(Resources.clusterRoleBindings), desiredBinding(undefined, ctx.policy.metadata.name));
      return;
    case 'bind':
    case 'repair': {
      // The full object (the cache keeps only what the rules compare), written back under the judged version.
      const desired = desiredBinding(await ctx.client.get<LegacyBinding>(bindingPath), ctx.policy.metadata.name);
      await ctx.client.replace(bindingPath, { ...desired, metadata: { ...(desired.metadata as object), resourceVersion: action.judged.resourceVersion } });
      return;
    }
    case 'delete':
      try {
        const preconditions = { resourceVersion: action.judged.resourceVersion, uid: action.judged.uid };
        await ctx.client.delete(bindingPath, { apiVersion: 'v1', kind: 'DeleteOptions', preconditions });
      } catch (err) {
        if (!isNotFound(err)) throw err; // already gone: what was wanted
      }
  }
}

/** Writes the plan's actions in order and says how far it got; decides nothing. */
export async function writePlan(ctx: AreaContext, plan: NodeAuthPlan): Promise<NodeAuthOutcome> {
  for (const r of plan.refusals) await ctx.events?.record(ctx.policyRef, 'Warning', r.reason, r.message);
  if (plan.dryRun) {
    // One Event per change of plan, not one per action and reconcile.
    if (plan.actions.length > 0)
      await ctx.events?.recordChange(
        ctx.policyRef,
        'Normal',
        EventReason.DryRun,
        `would ${plan.actions.map((a) => `${describeAction(a)}: ${a.why}`).join('; then ')}`,
      );
    return { kind: 'done' };
  }
  for (const action of plan.actions) {
    if (ctx.signal.aborted) return { kind: 'stopped', action };
    try {
      await write(ctx, action);
    } catch (err) {
      if (isConflict(err) || (isNotFound(err) && action.kind !== 'create')) return { kind: 'changed', action, error: err };
      throw err;
    }
    const detail = action.kind === 'repair' && action.removedSubjects.length ? ` (removed subjects: ${describeSubjects(action.removedSubjects)})` : '';
    const done = `${PAST[action.kind]} clusterrolebinding/${BINDING_NAME}`;
    ctx.log.info(done, { binding: BINDING_NAME, why: action.why });
    await ctx.events?.record(ctx.policyRef, 'Normal', EVENT_REASON[action.kind], `${done}: ${action.why}${detail}`);
  }
  return { kind: 'done' };
}

/**
 * Acts on the plan; when a write finds the binding changed since it was judged, acts instead on
 * `replan`'s plan (from a fresh observation), at most MAX_REPLANS times, then leaves the conflict
 * to the controller's immediate retry. The report is that of the plan last acted on in full.
 */
export async function actNodeAuthorization(ctx: AreaContext, plan: NodeAuthPlan, replan: (ctx: AreaContext) => Promise<NodeAuthPlan>): Promise<AreaReport> {
  let current = plan;
  for (let replans = 0; ; replans++) {
    const outcome = await writePlan(ctx, current);
    // Stopped: the reconciler writes nothing once cancelled, so the report is never shown.
    if (outcome.kind !== 'changed') return current.report;
    ctx.log.info(`clusterrolebinding/${BINDING_NAME} changed since it was judged; planning again`, {
      action: describeAction(outcome.action),
      error: describeError(outcome.error),
      replans,
    });
    if (replans >= MAX_REPLANS) throw outcome.error;
    current = await replan(ctx);
  }
}
