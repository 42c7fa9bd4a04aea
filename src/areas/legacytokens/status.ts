// The legacy-token status of a reconcile that acted, pure: worded from the plan (its conditions and
// status.legacyTokens, the rotation gate's verdict among them) and from what act did, and when to
// look again: soon while the tokens controller is awaited, later while its failure stands.
import type { AreaReport } from '../area.ts';
import { CANARY_RETRY_MS, REFILL_RECHECK_MS } from './rotation/pace.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from './types.ts';

/** What act did: the Secrets it blanked, the workloads it restarted (in words), the rotations it marked done; the first write that failed. */
export interface LegacyTokensOutcome {
  blanked: Extract<LegacyTokensAction, { kind: 'rotate' }>[];
  restarted: string[];
  finished: Extract<LegacyTokensAction, { kind: 'finish' }>[];
  failed?: unknown;
}

/** How soon to reconcile again after acting (undefined: the plan's own, or none). */
export function requeueAfterActing(plan: LegacyTokensPlan, outcome: LegacyTokensOutcome): number | undefined {
  const { step } = plan;
  if (plan.dryRun) return plan.report.requeueAfterMs;
  // Found unavailable now: try a canary again in a while. Holding an earlier failure while a canary is awaited: soon.
  if (step.holds) return step.gate.refusals?.length ? CANARY_RETRY_MS : REFILL_RECHECK_MS;
  if (step.waiting || outcome.blanked.length > 0) return REFILL_RECHECK_MS;
  if (plan.actions.length > 0) return 1000;
  return plan.report.requeueAfterMs;
}

/** The report of a plan acted on: the plan's conditions and summary (they already say what the step does), and when to look again. */
export function statusOf(plan: LegacyTokensPlan, outcome: LegacyTokensOutcome): AreaReport {
  const requeueAfterMs = requeueAfterActing(plan, outcome);
  const { requeueAfterMs: _planned, ...report } = plan.report;
  return { ...report, summary: { ...report.summary }, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
