// How a rotation goes on this reconcile, decided in the plan (pure) from the rotation ledger as
// observe read it: two rule lists in the one Rule shape. The gate, before any live Secret is
// blanked: kube-controller-manager's tokens controller proven lately by a canary Secret it filled,
// and no blank overdue (else TokenControllerUnavailable, and nothing more is blanked). The batch:
// the first live Secret alone until one is seen refilled, then a few working tokens at once, more
// of those the API server already refuses. It never waits inside a reconcile: the step's writes go
// out, and the refill's informer event (or the recheck) brings the next step.
import { firstVerdict, when, type Rule, type Verdict } from '../../../api/rules.ts';
import { EventReason, Reason, RotationPace } from '../../../api/reasons.ts';
import type { RotationProgress, StepRecord } from './ledger.ts';
import { list, refId, type LegacyTokensAction, type RotateAction } from '../types.ts';

/** Secrets blank at once, once a live Secret came back, while a token that still authenticates is blanked: a stuck tokens controller takes at most this many working tokens away. */
export const ROTATION_CONCURRENCY = 4;
/**
 * The same while a token the API server already refuses (InvalidToken: a regenerated signing key) is blanked:
 * blanking it takes nothing away, so more Secrets wait on the tokens controller at once and a rotation of
 * thousands goes at the controller's pace (about 10 a second at its default client QPS) even when a step comes
 * only every 2 s (a loaded API server, or changes coalesced: STREAM_PERIOD_MS). At 16 the bench's default size
 * went at 8.1 a second with a step every 1.7 s (bench/results/2026-12-07-default-sizes3-f752649.md). A stuck
 * controller still pauses the rotation (overdue).
 */
export const DEAD_TOKEN_CONCURRENCY = 24;
/** How long a filled canary proves the tokens controller. */
export const CANARY_VALID_MS = 10 * 60_000;
/** How soon a canary is tried again after one was not filled in time. */
export const CANARY_RETRY_MS = 30_000;
/** How soon to look again while a canary or a blanked Secret awaits its token (the informer event of the refill usually comes first). */
export const REFILL_RECHECK_MS = 1000;

const canaryFailure = (namespace: string, name: string, timeoutMs: number): string =>
  `kube-controller-manager's tokens controller did not fill the canary Secret ${namespace}/${name} within ${Math.round(timeoutMs / 1000)}s, so no live token Secret was touched: legacy tokens cannot be re-issued in this cluster now. kube-controller-manager needs --service-account-private-key-file and its serviceaccount-token-controller; where tokens are signed externally (--service-account-signing-endpoint, KEP-740) it has neither, and the users of legacy tokens must move to projected serviceAccountToken volumes (TokenRequest)`;

/** What the gate is asked. */
export interface PaceFacts {
  dryRun: boolean;
  now: number;
  timeoutMs: number;
  progress: RotationProgress;
  /** rotations the Secret rules call for that this process has not blanked already (a blank the cache has not shown) */
  toBlank: RotateAction[];
  /** Secrets blank now: awaiting their refill, and blanks the cache has not shown yet */
  blank: number;
  /** blanked Secrets not refilled within tokenControllerTimeout (timed from their rotated-at annotation, so across restarts too) */
  overdue: string[];
}

export type PaceRule = Rule<PaceFacts, LegacyTokensAction>;

const unavailable = (message: string, event: boolean, actions: LegacyTokensAction[] = []): Verdict<LegacyTokensAction> => ({
  status: 'False',
  reason: Reason.TokenControllerUnavailable,
  message,
  ...(actions.length ? { actions } : {}),
  // A Warning Event when the tokens controller is found unavailable; a retried canary holds the failure without one.
  ...(event ? { refusals: [{ reason: EventReason.TokenControllerUnavailable, message }] } : {}),
});
const sinceVerified = (f: PaceFacts): number => f.now - f.progress.canary.verifiedAt;
const pending = (f: PaceFacts) => f.progress.canary.pending;
const failedLately = (f: PaceFacts): boolean => f.progress.canary.failure !== undefined && f.now - f.progress.canary.failedAt < CANARY_RETRY_MS;
/** A new canary, after deleting any an earlier process left. */
const newCanary = (f: PaceFacts): LegacyTokensAction[] => [
  ...f.progress.canary.leftovers.map((name): LegacyTokensAction => ({ kind: 'deleteCanary', namespace: f.progress.namespace, name })),
  { kind: 'createCanary', namespace: f.progress.namespace },
];

/** The gate before blanking: the first rule that speaks says whether this reconcile may blank live Secrets. */
export const ROTATION_GATE: readonly PaceRule[] = [
  when(
    'dry run',
    (f) => f.dryRun,
    () => ({ status: 'True', reason: RotationPace.DryRun, message: 'dry run: nothing is blanked' }),
  ),
  when(
    'a blank overdue',
    (f) => f.overdue.length > 0,
    (f) =>
      unavailable(
        `the tokens controller did not refill ${list(f.overdue)} within ${Math.round(f.timeoutMs / 1000)}s; rotation paused. Check kube-controller-manager's serviceaccount-token-controller`,
        true,
      ),
  ),
  when(
    'nothing to blank',
    (f) => f.toBlank.length === 0,
    (f) => ({ status: 'True', reason: RotationPace.NothingToBlank, message: `no Secret left to blank; ${f.blank} awaiting the tokens controller` }),
  ),
  when(
    'tokens controller proven lately',
    (f) => sinceVerified(f) < CANARY_VALID_MS,
    () => ({ status: 'True', reason: RotationPace.TokensControllerProven, message: 'a canary Secret was filled by the tokens controller lately' }),
  ),
  when(
    'canary failed lately',
    (f) => failedLately(f),
    (f) => unavailable(f.progress.canary.failure ?? '', true),
  ),
  when(
    'canary filled',
    (f) => pending(f)?.filled === true,
    (f) => ({
      status: 'True',
      reason: RotationPace.CanaryFilled,
      message: `the tokens controller filled the canary Secret ${f.progress.namespace}/${pending(f)?.name ?? ''}`,
      actions: [{ kind: 'deleteCanary', namespace: pending(f)?.namespace ?? '', name: pending(f)?.name ?? '' }],
    }),
  ),
  // A canary retried after a failure: the failure stands (no new Event) until the canary is filled.
  when(
    'canary awaited after a failure',
    (f) => pending(f) !== undefined && f.now - (pending(f)?.createdAt ?? 0) < f.timeoutMs && f.progress.canary.failure !== undefined,
    (f) => unavailable(f.progress.canary.failure ?? '', false),
  ),
  when(
    'canary awaited',
    (f) => pending(f) !== undefined && f.now - (pending(f)?.createdAt ?? 0) < f.timeoutMs,
    (f) => ({
      status: 'Unknown',
      reason: RotationPace.AwaitingCanary,
      message: `awaiting the canary Secret ${f.progress.namespace}/${pending(f)?.name ?? ''}`,
    }),
  ),
  when(
    'canary not filled in time',
    (f) => pending(f) !== undefined,
    (f) => {
      const p = pending(f);
      return unavailable(canaryFailure(f.progress.namespace, p?.name ?? '', f.timeoutMs), true, [
        { kind: 'deleteCanary', namespace: p?.namespace ?? '', name: p?.name ?? '' },
      ]);
    },
  ),
  when(
    'canary again after a failure',
    (f) => f.progress.canary.failure !== undefined,
    (f) => unavailable(f.progress.canary.failure ?? '', false, newCanary(f)),
  ),
  when(
    'prove the tokens controller',
    () => true,
    (f) => ({
      status: 'Unknown',
      reason: RotationPace.ProvingTokensController,
      message: `creating a canary Secret in ${f.progress.namespace} for the tokens controller to fill before any live Secret is blanked`,
      actions: newCanary(f),
    }),
  ),
];

/** What a batch rule is asked: one rotation, and whether a live Secret was seen refilled. */
export interface BatchCase {
  rotation: RotateAction;
  /** a live Secret's refill was seen (recorded on a rotation still pending, or by this process since its canary was filled) */
  provenLive: boolean;
}

/** How many Secrets may be blank at once (this one included), by the batch rule's reason. */
export const BATCH_LIMIT: Readonly<Record<string, number>> = {
  [RotationPace.FirstLiveSecretAlone]: 1,
  [RotationPace.RefusedTokensMany]: DEAD_TOKEN_CONCURRENCY,
  [RotationPace.WorkingTokensFew]: ROTATION_CONCURRENCY,
};

export const BATCH_RULES: readonly Rule<BatchCase>[] = [
  when(
    'first live Secret alone',
    (b) => !b.provenLive,
    () => ({ status: 'True', reason: RotationPace.FirstLiveSecretAlone, message: 'the first live Secret alone, until one is seen refilled' }),
  ),
  when(
    'a refused token',
    (b) => b.rotation.triggers.includes('InvalidToken'),
    () => ({
      status: 'True',
      reason: RotationPace.RefusedTokensMany,
      message: `a token the API server already refuses: up to ${DEAD_TOKEN_CONCURRENCY} blank at once`,
    }),
  ),
  when(
    'a working token',
    () => true,
    () => ({ status: 'True', reason: RotationPace.WorkingTokensFew, message: `a token that still works: up to ${ROTATION_CONCURRENCY} blank at once` }),
  ),
];

/** How many may be blank at once when this rotation is blanked. */
export const batchLimit = (b: BatchCase): number => BATCH_LIMIT[firstVerdict(BATCH_RULES, b).reason] ?? 1;

/** This reconcile's step of the rotation: the gate's verdict, the writes in order, and what act records first. */
export interface RotationStep {
  gate: Verdict<LegacyTokensAction> & { rule: string };
  /** revive, the canary's create or delete, the blanks of this batch, then (unless the gate holds) restarts and done marks */
  writes: LegacyTokensAction[];
  record: StepRecord;
  /** the gate holds: the tokens controller is unavailable (restarts and done marks wait too) */
  holds: boolean;
  /** something is awaited from the tokens controller: look again soon */
  waiting: boolean;
  /** rotations left to blank after this step (for the run's first Event) */
  left: number;
}

export interface PaceInput {
  now: number;
  timeoutMs: number;
  dryRun: boolean;
  /** every action the rules call for, in plan order */
  actions: readonly LegacyTokensAction[];
  awaitingRefill: readonly { namespace: string; name: string; rotatedAt: string | undefined }[];
  /** rotations recorded refilled on a Secret still pending: the tokens controller works */
  refilledRotations: number;
  progress: RotationProgress;
}

/** The step of this reconcile, pure: the gate, the batch, the writes (none in dry run) and what the ledger records. */
export function paceRotations(input: PaceInput): RotationStep {
  const { now, progress } = input;
  const overdue = input.awaitingRefill.filter((s) => now - (Date.parse(s.rotatedAt ?? '') || 0) >= input.timeoutMs).map(refId);
  const still = new Set(input.awaitingRefill.map(refId));
  const failed = progress.awaited.filter((a) => overdue.includes(a.secret)).map((a) => a.secret);
  const refilled = progress.awaited.filter((a) => !overdue.includes(a.secret) && !still.has(a.secret) && !a.unseen).map((a) => a.secret);
  // Blanks the cache has not shown yet: not to be repeated, and still blank.
  const inFlight = new Set(progress.awaited.filter((a) => a.unseen && !failed.includes(a.secret)).map((a) => a.secret));
  const rotations = input.actions.filter((a): a is RotateAction => a.kind === 'rotate');
  const toBlank = rotations.filter((a) => !inFlight.has(refId(a.secret)));
  const blank = input.awaitingRefill.length + inFlight.size;
  const gate = firstVerdict(ROTATION_GATE, { dryRun: input.dryRun, now, timeoutMs: input.timeoutMs, progress, toBlank, blank, overdue });
  const proof: StepRecord['proof'] =
    gate.rule === 'a blank overdue'
      ? { kind: 'withdrawn' }
      : gate.rule === 'canary filled'
        ? { kind: 'verified' }
        : gate.rule === 'canary not filled in time'
          ? { kind: 'failed', failure: gate.message }
          : { kind: 'kept' };
  const holds = gate.reason === Reason.TokenControllerUnavailable;
  const batch: RotateAction[] = [];
  if (gate.status === 'True' && !input.dryRun && toBlank.length > 0) {
    // The first live Secret alone until one is seen refilled (recorded on a Secret still pending, or seen by this
    // process since its canary was filled); then a few at once.
    const verifiedAt = proof.kind === 'verified' ? now : progress.canary.verifiedAt;
    const liveRefilledAt = refilled.length > 0 ? now : (progress.canary.liveRefilledAt ?? 0);
    const provenLive = input.refilledRotations > 0 || liveRefilledAt >= verifiedAt;
    for (const rotation of toBlank) if (blank + batch.length < batchLimit({ rotation, provenLive })) batch.push(rotation);
  }
  // Done marks planned from the very version this process marked: done already, the plan's cache lagged.
  const markedFrom = new Map(progress.marked.map((m) => [m.secret, m.resourceVersion]));
  const markedAlready = (a: LegacyTokensAction): boolean => a.kind === 'finish' && markedFrom.get(refId(a.secret)) === a.secret.resourceVersion;
  const of = (kind: LegacyTokensAction['kind']) => input.actions.filter((a) => a.kind === kind && !markedAlready(a));
  const writes = input.dryRun ? [] : [...of('revive'), ...(gate.actions ?? []), ...batch, ...(holds ? [] : [...of('restart'), ...of('finish')])];
  return {
    gate,
    writes,
    record: { refilled, failed, proof, marksSeen: progress.marked.filter((m) => !m.unseen).map((m) => m.secret) },
    holds,
    waiting: !input.dryRun && !holds && (gate.status === 'Unknown' || blank + batch.length > 0),
    left: toBlank.length + blank,
  };
}
