// The two conditions as ordered rule lists, like cert-manager's readiness checks: the first
// rule that speaks gives status, reason and message (firstVerdict, src/api/rules.ts).
import type { ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { formatDuration } from '../../api/duration.ts';
import * as annotations from '../../api/annotations.ts';
import { firstVerdict, when, type Rule } from '../../api/rules.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { DeletedInUse, LegacyTokensObservation, TokenConsumer } from './observe.ts';
import type { Dependents } from './restarts/dependents.ts';
import type { RotationStep } from './rotation/pace.ts';
import type { RestartPlan } from './restarts/plan.ts';
import type { Triage } from './rotation/secrets.ts';
import { consumerId, list, rotationText, workloadId, type LegacyTokensMemory, type ManualRestart, type RotateAction } from './types.ts';

/** Everything the conditions, findings and summary are worded from. */
export interface PlanFacts {
  spec: ResolvedSpec;
  observation: LegacyTokensObservation;
  previous: LegacyTokensMemory | undefined;
  triage: Triage;
  deps: Dependents;
  restarts: RestartPlan;
  rotations: RotateAction[];
  restartCount: number;
  manual: ManualRestart[];
  /** running pods holding a replaced token */
  deadAll: TokenConsumer[];
  /** of those, the ones no restart reaches (all of them when restarts are disabled) */
  deadHolders: TokenConsumer[];
  /** dry run: pods a rotation would leave holding the replaced token */
  wouldNotRestart: TokenConsumer[];
  waitingNames: string[];
  /** this reconcile's rotation step: the canary gate (TokenControllerUnavailable when it holds) and the batch */
  step: RotationStep;
}

/** A condition rule in the one shape every area uses (src/api/rules.ts). */
export type LegacyTokensRule = Rule<PlanFacts>;

/** The first rule's verdict as a condition of `type` (the last rule of each list always speaks). */
function firstMatching(type: string, rules: readonly LegacyTokensRule[], f: PlanFacts): ConditionUpdate {
  const { status, reason, message } = firstVerdict(rules, f);
  return { type, status, reason, message };
}

const retiring = (t: Triage): string[] => [
  ...t.invalidated.map((x) => `${x.secret} (invalid since ${x.invalidSince}, last used ${x.lastUsed ?? 'never'})`),
  ...t.unused.map((x) => `${x.secret} (last used ${x.lastUsed ?? 'never'}, created ${x.created.slice(0, 10)})`),
];
/** How the tokens were judged, said once: what the verdicts rest on and when it was last confirmed. */
export function judgedBy(observation: LegacyTokensObservation): string {
  const k = observation.keySource;
  const why = k.stale ?? (k.error ? `reading it failed: ${k.error}` : 'no keys are published');
  if (k.kind === 'published')
    return `checked offline against the ${k.keys} signing key(s) published at /openid/v1/jwks${k.keysSince ? `, unchanged since ${k.keysSince} (re-read every 10 minutes)` : ''}`;
  if (k.kind === 'tokenReview')
    return `judged by TokenReview because /openid/v1/jwks cannot be used (${why}); each review marks the Secret as used (kubernetes.io/legacy-token-last-used)`;
  return `not checked against any signing key: /openid/v1/jwks cannot be used (${why})`;
}

/** A deleted Secret in use: who deleted it (the cleaner leaves its label behind) and who still uses it. */
export const deletedText = (d: DeletedInUse): string =>
  `secret ${d.secret} was deleted${d.invalidSince ? ` by kube-controller-manager's legacy-token cleaner (invalid since ${d.invalidSince}, last used ${d.lastUsed ?? 'never'})` : ''} at ${d.deletedAt}, still used by ${list(d.users)}`;

/** Why the undecided Secrets could not be judged, and what to do: said once, not once per Secret. */
function undecidedCause(observation: LegacyTokensObservation): string {
  const k = observation.keySource;
  const causes = [
    ...(k.stale ? [k.stale] : k.error ? [`reading /openid/v1/jwks failed: ${k.error}`] : []),
    ...(k.reviewError ? [`the TokenReview fallback failed: ${k.reviewError}`] : []),
  ];
  if (causes.length === 0) return '';
  const fix = "let the operator's ServiceAccount get the non-resource URL /openid/v1/jwks (its ClusterRole, config/rbac) or create tokenreviews";
  return `: ${causes.join('; ')}; ${fix}`;
}

export const LEGACY_TOKENS_READY: readonly LegacyTokensRule[] = [
  // Found now by the rotation gate (rotation/pace.ts), or last time with rotations still to go.
  when(
    'tokens controller unavailable',
    (f) =>
      f.step.holds ||
      (f.previous?.tokenControllerUnavailable !== undefined &&
        f.previous.tokenControllerUnavailable !== '' &&
        f.rotations.length + f.triage.rotatingNow.length > 0),
    (f) => ({
      status: 'False',
      reason: Reason.TokenControllerUnavailable,
      message: f.step.holds ? f.step.gate.message : (f.previous?.tokenControllerUnavailable ?? ''),
    }),
  ),
  when(
    'not re-issuable (external signing)',
    (f) => f.triage.notReissuable.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.LegacyTokensNotReissuable,
      message: `legacy tokens cannot be re-issued in this cluster: kube-apiserver signs through an external signer (--service-account-signing-endpoint=${f.observation.externalSigning ?? ''}, KEP-740), so kube-controller-manager's tokens controller cannot sign new ones; move the users of ${list(f.triage.notReissuable)} to projected serviceAccountToken volumes (TokenRequest)`,
    }),
  ),
  when(
    'dry run would rotate',
    (f) => f.spec.dryRun && f.rotations.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.TokensInvalid,
      message: `dry run: would rotate ${f.rotations.length} token Secret(s) in place: ${list(f.rotations.map((a) => rotationText(a)))}`,
    }),
  ),
  when(
    'rotating',
    (f) => f.triage.rotatingNow.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.Rotating,
      message: `rotating ${f.triage.rotatingNow.length} token Secret(s) in place (same names; kube-controller-manager's tokens controller issues the new tokens): ${list(f.triage.rotatingNow)}`,
    }),
  ),
  when(
    'needs attention',
    (f) => f.triage.problems.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.TokensInvalid,
      message: `${f.triage.problems.length} token Secret(s) need attention: ${f.triage.problems.slice(0, 3).join('; ')}${f.triage.problems.length > 3 ? `; and ${f.triage.problems.length - 3} more` : ''}`,
    }),
  ),
  when(
    'deleted while in use',
    (f) => (f.observation.deletedInUse ?? []).length > 0,
    (f) => {
      const gone = f.observation.deletedInUse ?? [];
      return {
        status: 'False',
        reason: Reason.DeletedSecretReferenced,
        message: `${gone.length} token Secret(s) were deleted while workloads still use them, so their next Pods will not start: ${gone
          .slice(0, 3)
          .map(deletedText)
          .join(
            '; ',
          )}${gone.length > 3 ? `; and ${gone.length - 3} more` : ''}; move those workloads to projected serviceAccountToken volumes (TokenRequest), or create the Secret again (type kubernetes.io/service-account-token) for the tokens controller to fill`,
      };
    },
  ),
  when(
    'undecided',
    (f) => f.triage.undecided.length > 0,
    (f) => ({
      status: 'Unknown',
      reason: Reason.ObserveFailed,
      message: `${f.triage.undecided.length} token Secret(s) could not be judged (${list(f.triage.undecided.map((u) => u.secret))})${undecidedCause(f.observation)}`,
    }),
  ),
  when(
    "retiring (the cleaner's)",
    (f) => retiring(f.triage).length > 0,
    (f) => ({
      status: 'True',
      reason: Reason.CleanerOwned,
      message: `${f.triage.counts.valid} legacy token Secret(s) valid (${judgedBy(f.observation)}); ${retiring(f.triage).length} belong to kube-controller-manager's legacy-token cleaner, never rotated: ${list(retiring(f.triage))}; delete them, or move their users to TokenRequest (projected serviceAccountToken volumes)`,
    }),
  ),
  when(
    'no legacy tokens',
    (f) => f.triage.counts.total === 0,
    () => ({ status: 'True', reason: Reason.NoLegacyTokens, message: 'no kubernetes.io/service-account-token Secrets in the selected namespaces' }),
  ),
  when(
    'valid',
    () => true,
    (f) => ({
      status: 'True',
      reason: Reason.TokensValid,
      message: `${f.triage.counts.valid} legacy token Secret(s) valid (${judgedBy(f.observation)}) and carry the cluster CA${f.triage.terminating.length ? `; ${f.triage.terminating.length} being deleted, left alone` : ''}`,
    }),
  ),
];

const cronNote = (cs: TokenConsumer[]): string => {
  const crons = [...new Set(cs.flatMap((c) => (c.cronJob ? [`${c.namespace}/${c.cronJob}`] : [])))];
  return crons.length ? `; CronJob ${crons.join(', ')} needs no restart: its next Job reads the re-issued token` : '';
};
/** Dry run: the workloads the rotations would restart (their dependents). */
export const wouldRestart = (f: Pick<PlanFacts, 'rotations' | 'deps'>): string[] => [
  ...new Set(f.rotations.flatMap((a) => f.deps.splitOf(a.secret).restart.map((d) => workloadId(d.w)))),
];
/** Dry run, restartDependents NotRefreshable: the dependents the rotations would leave to the kubelet's in-place refresh. */
export const wouldLeaveToKubelet = (f: Pick<PlanFacts, 'rotations' | 'deps'>): string[] => [
  ...new Set(f.rotations.flatMap((a) => f.deps.splitOf(a.secret).leftToKubelet.map((d) => workloadId(d.w)))),
];
const windowNote = ({ restarts: r }: PlanFacts): string =>
  r.heldByWindow.length
    ? `; outside the restart windows, ${r.heldByWindow.length} wait for the next one${r.nextOpensAt ? `, opening at ${r.nextOpensAt}` : ''} (set spec.legacyTokens.restartNow to restart at once)`
    : '';
const restartsOn = (f: PlanFacts): boolean => f.spec.legacyTokens.restartWorkloads;
/** The workloads that use a Secret whose token could not be judged. */
const unjudgedUsers = (f: PlanFacts): string[] => [
  ...new Set(
    f.triage.undecided.flatMap((u) => {
      const [namespace = '', name = ''] = u.secret.split('/');
      return f.deps.usersOf({ namespace, name }).map(workloadId);
    }),
  ),
];

export const WORKLOADS_RESTARTED: readonly LegacyTokensRule[] = [
  when(
    'restarts disabled',
    (f) => !restartsOn(f) && (f.deadAll.length > 0 || f.triage.undecided.length === 0),
    (f) => ({
      status: f.deadAll.length > 0 ? 'False' : 'True',
      reason: Reason.RestartsDisabled,
      message:
        f.deadAll.length > 0
          ? `spec.legacyTokens.restartWorkloads is false and ${f.deadAll.length} running pod(s) still hold a replaced token: ${list(f.deadAll.map(consumerId))}; restart them`
          : 'spec.legacyTokens.restartWorkloads is false; no running pod holds a replaced token',
    }),
  ),
  when(
    'dry run would restart',
    (f) => f.spec.dryRun && (f.restartCount > 0 || f.rotations.length > 0),
    (f) => ({
      status: 'False',
      reason: Reason.RestartsPending,
      message: `dry run: would restart ${wouldRestart(f).length} workload(s) after rotating: ${list(wouldRestart(f))}${f.wouldNotRestart.length ? `; could not restart ${f.wouldNotRestart.length} pod(s): ${list(f.wouldNotRestart.map(consumerId))}` : ''}`,
    }),
  ),
  when(
    'rollout timed out',
    (f) => f.restarts.rollouts.timedOut.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.RolloutTimedOut,
      message: `rollouts did not finish within ${formatDuration(f.spec.legacyTokens.rolloutTimeoutMs)}: ${list(f.restarts.rollouts.timedOut.map(workloadId))}; check them with kubectl rollout status`,
    }),
  ),
  when(
    'restarts pending',
    (f) => f.restarts.waiting.size > 0 || f.restarts.rollouts.inFlight.length > 0 || f.triage.rotatingNow.length > 0,
    (f) => {
      const inFlight = f.restarts.rollouts.inFlight;
      return {
        status: 'False',
        reason: Reason.RestartsPending,
        message: `${inFlight.length} rollout(s) in progress (at most ${f.spec.legacyTokens.maxConcurrentRestarts} at a time), ${f.waitingNames.length} waiting: ${list([...inFlight.map(workloadId), ...f.waitingNames])}${windowNote(f)}`,
      };
    },
  ),
  when(
    'manual restart required',
    (f) => f.manual.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.ManualRestartRequired,
      message: `${f.manual.length} workload(s) opted out of restarts (${annotations.RESTART}: "false") use a token Secret rotated since they last restarted: ${list(f.manual.map((m) => `${m.workload} (${m.optOut})`))}; restart them (kubectl rollout restart)${f.deadHolders.length ? `; and ${f.deadHolders.length} running pod(s) the operator does not restart still hold a replaced token` : ''}`,
    }),
  ),
  when(
    'consumers not restarted',
    (f) => f.deadHolders.length > 0,
    (f) => ({
      status: 'False',
      reason: Reason.ConsumersNotRestarted,
      message: `${f.deadHolders.length} running pod(s) still hold a replaced token and no restart by the operator replaces them: ${list(f.deadHolders.map(consumerId))}; delete or recreate them${cronNote(f.deadHolders)}`,
    }),
  ),
  // Restarts follow verdicts: while tokens are unjudged, "nothing to restart" would claim more than is known.
  when(
    'tokens unjudged',
    (f) => f.triage.undecided.length > 0,
    (f) => {
      const users = unjudgedUsers(f);
      return {
        status: 'Unknown',
        reason: Reason.TokensUnjudged,
        message: `${f.triage.undecided.length} token Secret(s) could not be judged, so whether their users need a restart is not known${users.length ? `: ${users.length} workload(s) use them (${list(users)})` : ''}; see LegacyTokensReady`,
      };
    },
  ),
  when(
    'all restarted',
    (f) => f.observation.workloads.some((w) => w.restartedAt),
    () => ({
      status: 'True',
      reason: Reason.AllRestarted,
      message:
        'every Deployment, StatefulSet and DaemonSet that uses a rotated token Secret has been restarted and rolled out, and no other running pod holds a replaced token',
    }),
  ),
  when(
    'nothing to restart',
    () => true,
    () => ({ status: 'True', reason: Reason.NothingToRestart, message: 'no workload needed a restart' }),
  ),
];

export const legacyTokensReady = (f: PlanFacts): ConditionUpdate => firstMatching(ConditionType.LegacyTokensReady, LEGACY_TOKENS_READY, f);
export const workloadsRestarted = (f: PlanFacts): ConditionUpdate => firstMatching(ConditionType.WorkloadsRestarted, WORKLOADS_RESTARTED, f);
