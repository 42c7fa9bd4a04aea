// Writes this reconcile's step of the plan, in order, and says what it did; it decides nothing. The
// plan decided the step (plan/pace.ts): whether kube-controller-manager's tokens controller is proven
// by a canary Secret it filled, which Secrets to blank now, and which restarts and done marks to write.
// Blanking a Secret's `token` makes the tokens controller re-issue it under the same name (upstream
// pkg/controller/serviceaccount/tokens_controller.go, `needsToken := len(tokenData) == 0`); the e2e
// tests confirm it on a real control plane. It never waits inside a reconcile: it blanks and returns,
// the refill's informer event wakes the next reconcile, and the Secret's rotation-state annotation
// (pending) carries the step across reconciles and restarts. Every Secret write carries the
// resourceVersion the plan judged: a Secret changed since is a 409, and the controller plans again.
import { randomBytes } from 'node:crypto';
import { describeError, isConflict } from '../../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../../kube/paths.ts';
import { settleBounded } from '../../runtime/bounded.ts';
import type { AreaContext, AreaReport } from '../area.ts';
import * as annotations from '../../api/annotations.ts';
import { EventReason } from '../../api/reasons.ts';
import { CANARY_PREFIX, canarySecret } from './canary.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from './plan.ts';
import { list, refId, rotationText, type RotateAction as Rotate } from './plan/types.ts';
import type { RecentRestarts } from './restart-record.ts';
import { restart } from './restart.ts';
import type { RotationLedger } from './rotation-ledger.ts';
import type { RotationRunEvents } from './rotation-events.ts';
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

async function blank(ctx: AreaContext, a: Rotate): Promise<void> {
  const path = objectPath(Resources.secrets, a.secret.name, a.secret.namespace);
  // One merge patch blanks the token and records the rotation; the resourceVersion
  // makes it a no-op (409) if the Secret changed since it was judged.
  await ctx.client.mergePatch(path, {
    metadata: {
      resourceVersion: a.secret.resourceVersion,
      annotations: {
        [annotations.ROTATION]: a.rotation,
        [annotations.ROTATION_STATE]: 'pending',
        [annotations.ROTATED_AT]: ctx.now().toISOString(),
        [annotations.ROTATED_FROM]: a.tokenHash ?? null,
        [annotations.ROTATED_UNDER]: a.apiservers,
        ...(a.request ? { [annotations.ROTATED_FOR_REQUEST]: a.request } : {}),
      },
    },
    data: { token: null },
  });
  // Both outcomes exist from the first blank in a namespace: the first failure is an increase the alert sees.
  for (const result of ['succeeded', 'failed']) ctx.metrics?.tokenRotations.inc({ namespace: a.secret.namespace, result }, 0);
  ctx.log.info('rotating token secret', { secret: `${a.secret.namespace}/${a.secret.name}`, rotation: a.rotation, triggers: a.triggers });
}

/** Under the version the plan judged: a Secret changed since (re-labelled, given another token) is a 409, judged again. */
async function revive(ctx: AreaContext, a: Of<'revive'>): Promise<void> {
  await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), {
    metadata: { resourceVersion: a.secret.resourceVersion, labels: { [annotations.LEGACY_TOKEN_INVALID_SINCE]: null } },
  });
  await ctx.events?.record(
    ctx.policyRef,
    'Normal',
    EventReason.TokenRevived,
    `removed ${annotations.LEGACY_TOKEN_INVALID_SINCE} from secret ${a.secret.namespace}/${a.secret.name} (spec.legacyTokens.reviveInvalidated)`,
  );
}

/** The canary's create (named here, recorded in the ledger for the next reconcile to judge) or delete (gone already is fine). */
async function canary(ctx: AreaContext, a: Of<'createCanary'> | Of<'deleteCanary'>, ledger: RotationLedger): Promise<void> {
  if (a.kind === 'deleteCanary') {
    await ctx.client.delete(objectPath(Resources.secrets, a.name, a.namespace)).catch(() => undefined);
    return;
  }
  const name = `${CANARY_PREFIX}${randomBytes(4).toString('hex')}`;
  await ctx.client.create(collectionPath(Resources.secrets, a.namespace), canarySecret(name, a.namespace));
  ledger.canaryCreated(name, ctx.now().getTime());
}

/** Marks a rotation done under the version the plan judged. */
async function finish(ctx: AreaContext, a: Finish): Promise<void> {
  await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), {
    metadata: { resourceVersion: a.secret.resourceVersion, annotations: { [annotations.ROTATION_STATE]: 'done' } },
  });
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
  // A handful of Events per rotation run, however many Secrets and workloads (rotation-events.ts).
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
