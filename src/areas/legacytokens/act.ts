// Writes this reconcile's step of the plan, in order, and says what it did; it decides nothing. The plan
// decided the step (rotation/pace.ts): whether kube-controller-manager's tokens controller is proven by a
// canary Secret it filled, which Secrets to blank now, and which restarts and done marks to write. The
// writes themselves are the rotation's (rotation/act.ts) and the restarts' (restarts/act.ts). It never
// waits inside a reconcile: it blanks and returns, the refill's informer event wakes the next reconcile,
// and the Secret's rotation-state annotation (pending) carries the step across reconciles and restarts.
// Every Secret write carries the resourceVersion the plan judged: a Secret changed since is a 409, and
// the controller plans again.
import { describeError, isConflict } from '../../kube/errors.ts';
import { settleBounded } from '../../runtime/bounded.ts';
import type { AreaContext, AreaReport } from '../area.ts';
import { EventReason } from '../../api/reasons.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from './plan.ts';
import { list, refId, rotationText, type RotateAction as Rotate } from './types.ts';
import type { RecentRestarts } from './restarts/record.ts';
import { restart } from './restarts/act.ts';
import type { RotationLedger } from './rotation/ledger.ts';
import { blank, canary, finish, revive } from './rotation/act.ts';
import type { RotationRunEvents } from './rotation/events.ts';
import { statusOf, type LegacyTokensOutcome } from './status.ts';

/** Writes in flight at once (blanks, then restarts and done marks): a burst never floods the API server. */
const WRITES_IN_FLIGHT = 4;

type Finish = Extract<LegacyTokensAction, { kind: 'finish' }>;
type Of<K extends LegacyTokensAction['kind']> = Extract<LegacyTokensAction, { kind: K }>;

/** What act keeps across reconciles, made at wiring time (index.ts): it records there what it wrote. */
export interface ActorState {
  ledger: RotationLedger;
  recent: RecentRestarts;
  runEvents: RotationRunEvents;
}

/** Writes the plan's step in order and returns what it did; the first failure (after the others) in `failed`. */
export async function writeStep(ctx: AreaContext, plan: LegacyTokensPlan, state: ActorState): Promise<LegacyTokensOutcome> {
  const outcome: LegacyTokensOutcome = { blanked: [], restarted: [], finished: [] };
  if (plan.dryRun) {
    // One Event per change of what would be rotated, not one per Secret and reconcile.
    const would = plan.actions.filter((a): a is Rotate => a.kind === 'rotate').map((a) => rotationText(a));
    if (would.length > 0)
      await ctx.events?.recordChange(ctx.policyRef, 'Normal', EventReason.DryRun, `would rotate ${would.length} secret(s) in place: ${list(would)}`);
    return outcome;
  }
  const { step } = plan;
  const { ledger, recent, runEvents } = state;
  ledger.settle(step.record, ctx.now().getTime());
  for (const secret of step.record.refilled) ctx.metrics?.tokenRotations.inc({ namespace: secret.split('/')[0] ?? '', result: 'succeeded' });
  for (const secret of step.record.failed) ctx.metrics?.tokenRotations.inc({ namespace: secret.split('/')[0] ?? '', result: 'failed' });
  const writes = <K extends LegacyTokensAction['kind']>(...kinds: K[]): Of<K>[] => step.writes.filter((a): a is Of<K> => (kinds as string[]).includes(a.kind));
  for (const a of writes('revive')) if (!ctx.signal.aborted) await revive(ctx, a);
  if (ctx.signal.aborted) return outcome; // shutting down or deposed
  for (const a of writes('deleteCanary', 'createCanary')) await canary(ctx, a, ledger);
  for (const r of step.gate.refusals ?? []) {
    ctx.log.warn('tokens controller unavailable', { gate: step.gate.rule });
    await ctx.events?.record(ctx.policyRef, 'Warning', r.reason, r.message);
  }
  const batch = writes('rotate');
  const results = await settleBounded(batch, WRITES_IN_FLIGHT, (a) => blank(ctx, a), ctx.signal);
  outcome.blanked = batch.filter((_, i) => results[i]?.status === 'fulfilled');
  for (const a of outcome.blanked) ledger.blanked(a.secret);
  // One TokenRotated per run, however many Secrets (a 5,000-Secret rotation must not flood Events).
  await runEvents.blanked(
    ctx,
    outcome.blanked.map((a) => refId(a.secret)),
    outcome.blanked.map((a) => rotationText(a)),
    step.left,
  );
  const refused = results.find((r): r is PromiseRejectedResult => r?.status === 'rejected');
  if (refused) return { ...outcome, failed: refused.reason };
  // One failing write (a webhook refusing a restart, a workload deleted meanwhile) must not starve the others.
  // Restarts first (a freed rollout slot is the scarce thing), then the done marks; WRITES_IN_FLIGHT at once.
  const write = async (a: Of<'restart'> | Finish): Promise<{ restarted?: string; finished?: Finish }> => {
    try {
      if (a.kind === 'restart') {
        const what = await restart(ctx, a, recent);
        return what ? { restarted: what } : {};
      }
      await finish(ctx, a);
      ledger.markedDone(a.secret);
      return { finished: a };
    } catch (err) {
      outcome.failed ??= err;
      const what =
        a.kind === 'restart'
          ? `restart ${a.workload.kind.toLowerCase()} ${a.workload.namespace}/${a.workload.name}`
          : `finish rotation of secret ${a.secret.namespace}/${a.secret.name}`;
      // A 409 means the object moved under us (the tokens controller refilled the Secret first): the
      // controller retries at once on fresh state, so it is neither a warning nor an Event.
      if (isConflict(err)) {
        ctx.log.debug('action conflicted; retrying on fresh state', { action: what });
        return {};
      }
      if (a.kind === 'restart') ctx.metrics?.workloadRestarts.inc({ kind: a.workload.kind, namespace: a.workload.namespace, result: 'failed' });
      ctx.log.warn('action failed; continuing with the others', { action: what, error: describeError(err) });
      await ctx.events?.record(ctx.policyRef, 'Warning', EventReason.ActionFailed, `could not ${what}: ${describeError(err)}`);
      return {};
    }
  };
  const done = (await settleBounded([...writes('restart'), ...writes('finish')], WRITES_IN_FLIGHT, write, ctx.signal)).map((r) =>
    r?.status === 'fulfilled' ? r.value : {},
  );
  outcome.restarted = done.flatMap((d) => (d.restarted ? [d.restarted] : []));
  outcome.finished = done.flatMap((d) => (d.finished ? [d.finished] : []));
  // A handful of Events per rotation run, however many Secrets and workloads (rotation/events.ts).
  await runEvents.restarted(ctx, outcome.restarted);
  await runEvents.finished(ctx, plan, outcome.finished);
  return outcome;
}

/**
 * The area's act: the step written, the status worded from the plan and what was done (status.ts). A write that
 * failed fails the reconcile once the others are done (a 409: the controller plans again at once).
 */
export function createActor(state: ActorState): (ctx: AreaContext, plan: LegacyTokensPlan) => Promise<AreaReport> {
  return async (ctx, plan) => {
    const outcome = await writeStep(ctx, plan, state);
    if (outcome.failed !== undefined) throw outcome.failed instanceof Error ? outcome.failed : new Error(describeError(outcome.failed));
    return statusOf(plan, outcome);
  };
}
