// After a write found the system:node binding changed since the plan judged it (a 409, or
// gone): observe again, with the binding read from the API server (the cache may not have
// seen the change yet), and plan again from that.
import type { AreaContext } from '../area.ts';
import { readBinding, type ObserveOptions, type NodeAuthObservation } from './observe.ts';
import { planNodeAuthorization, type NodeAuthPlan } from './plan.ts';

/** A fresh plan for `actNodeAuthorization`, made with the area's own observer (and its probe memo). */
export function createReplanner(
  observe: (ctx: AreaContext, options?: ObserveOptions) => Promise<NodeAuthObservation>,
): (ctx: AreaContext) => Promise<NodeAuthPlan> {
  return async (ctx) => planNodeAuthorization(ctx.spec, await observe(ctx, { binding: await readBinding(ctx.client) }));
}
