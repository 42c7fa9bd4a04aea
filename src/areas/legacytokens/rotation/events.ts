// The Events of one rotation run, however many Secrets it covers: one TokenRotated when the first
// Secrets are blanked, one WorkloadRestarted when the first workloads restart, one RotationFinished
// when nothing is left in flight. What happens in between is in status.legacyTokens and the logs,
// so a 5,000-Secret rotation emits a handful of Events, not thousands. Warnings are not held back.
import { EventReason } from '../../../api/reasons.ts';
import type { AreaContext } from '../../area.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from '../plan.ts';
import { list } from '../types.ts';

type Finish = Extract<LegacyTokensAction, { kind: 'finish' }>;

/** The one WorkloadRestarted Event of a run: the first workloads restarted, and their rotations. */
export function restartedMessage(restarted: readonly string[]): string {
  return `restarted ${restarted.length === 1 ? '' : `${restarted.length} workloads: `}${list([...restarted])} to mount rotated tokens`;
}

/** What a finished rotation did, exactly: which workloads were restarted and which pods were not. */
export function finishMessage(a: Finish): string {
  const restarted = a.restartsDisabled
    ? 'restarted nothing (spec.legacyTokens.restartWorkloads is false)'
    : a.restarted.length
      ? `restarted ${list(a.restarted)}`
      : 'no Deployment, StatefulSet, DaemonSet or Rollout uses it';
  const not = a.notRestarted.length ? `; NOT restarted, still holding the replaced token: ${list(a.notRestarted)}` : '; no other running pod reads it';
  const left = a.leftToKubelet?.length
    ? `; left to the kubelet, which refreshes their Secret volume in place (restartDependents: NotRefreshable): ${list(a.leftToKubelet)}`
    : '';
  return `rotation ${a.rotation} of secret ${a.secret.namespace}/${a.secret.name} is complete: ${restarted}${left}${not}`;
}

/** The one RotationFinished Event of a run: how many, and the first three in detail (those leaving pods behind first). */
export function finishedMessage(finished: readonly Finish[], restartedCount: number): string {
  const [only] = finished;
  if (finished.length === 1 && only) return finishMessage(only);
  const shown = [...finished].sort((a, b) => Number(b.notRestarted.length > 0) - Number(a.notRestarted.length > 0)).slice(0, 3);
  const more = finished.length > 3 ? `; and ${finished.length - 3} more (status.legacyTokens lists pods not restarted)` : '';
  const workloads = restartedCount > 0 ? `, ${restartedCount} workload restart(s)` : '';
  return `${finished.length} rotations are complete${workloads}: ${shown.map(finishMessage).join('; ')}${more}`;
}

interface Run {
  /** namespace/name of every Secret this run blanked */
  blanked: Set<string>;
  restarted: number;
  finished: Finish[];
}

/** The run's outcome: its finished rotations, and those that ended because their Secret went away mid-rotation. */
export function outcomeMessage(finished: readonly Finish[], vanished: readonly string[], restartedCount: number): string {
  const gone = vanished.length
    ? `${vanished.length} rotation(s) ended when their Secret was deleted or re-created mid-rotation, before the rotation was recorded complete: ${list([...vanished])} (a re-created Secret is judged afresh; one created since the request is not rotated again)`
    : '';
  if (finished.length === 0) return gone;
  return gone ? `${finishedMessage(finished, restartedCount)}; ${gone}` : finishedMessage(finished, restartedCount);
}

/** One per legacy-token actor (kept across reconciles, like the canary state). */
export class RotationRunEvents {
  private run: Run | undefined;

  private current(): Run {
    this.run ??= { blanked: new Set(), restarted: 0, finished: [] };
    return this.run;
  }

  /** Secrets blanked in this reconcile (`ids`: namespace/name; `names`: as the Event says them); `total`: how many the run has to go, these included. */
  async blanked(ctx: AreaContext, ids: readonly string[], names: readonly string[], total: number): Promise<void> {
    if (names.length === 0) return;
    const run = this.current();
    const first = run.blanked.size === 0;
    for (const secret of ids) run.blanked.add(secret);
    if (!first) return;
    const rest = total > names.length ? `; ${total - names.length} more to follow a few at a time (status.legacyTokens shows progress)` : '';
    await ctx.events?.record(
      ctx.policyRef,
      'Normal',
      EventReason.TokenRotated,
      `blanked the token of ${names.length} secret(s) for the tokens controller to re-issue in place: ${list([...names])}${rest}`,
    );
  }

  /** Workloads restarted in this reconcile. */
  async restarted(ctx: AreaContext, what: readonly string[]): Promise<void> {
    if (what.length === 0) return;
    const run = this.current();
    const first = run.restarted === 0;
    run.restarted += what.length;
    if (first) await ctx.events?.record(ctx.policyRef, 'Normal', EventReason.WorkloadRestarted, restartedMessage(what));
  }

  /**
   * Rotations finished in this reconcile; the run's one RotationFinished once nothing is left in flight,
   * naming too the rotations whose Secret went away before they were recorded complete, so every run ends.
   */
  async finished(
    ctx: AreaContext,
    plan: Pick<LegacyTokensPlan, 'actions' | 'awaitingRefill' | 'refilledRotations'>,
    finished: readonly Finish[],
  ): Promise<void> {
    if (finished.length > 0) this.current().finished.push(...finished);
    const run = this.run;
    if (!run || (run.finished.length === 0 && run.blanked.size === 0)) return;
    const inFlight = plan.actions.some((a) => a.kind === 'rotate') || plan.awaitingRefill.length > 0 || plan.refilledRotations - finished.length > 0;
    if (inFlight) return;
    this.run = undefined;
    const done = new Set(run.finished.map((a) => `${a.secret.namespace}/${a.secret.name}`));
    const vanished = [...run.blanked].filter((secret) => !done.has(secret)).sort();
    const warning = vanished.length > 0 || run.finished.some((a) => a.notRestarted.length > 0);
    await ctx.events?.record(
      ctx.policyRef,
      warning ? 'Warning' : 'Normal',
      EventReason.RotationFinished,
      outcomeMessage(run.finished, vanished, run.restarted),
    );
  }
}
