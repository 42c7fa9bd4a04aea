// The legacy-token decision (the dead-legacy-token incident), pure: which Secrets to rotate in place
// and why (rotation/secrets.ts, rotation/triggers.ts) and how fast (rotation/pace.ts), which workloads to
// restart for which rotations, paced, and which rotations are finished (restarts/plan.ts), and the
// LegacyTokensReady / WorkloadsRestarted conditions as ordered rule lists (conditions.ts). All state it needs is read back from the
// cluster (annotations on Secrets and pod templates), so a crash or a leader change loses nothing.
import type { ResolvedSpec } from '../../api/defaults.ts';
import type { LegacyTokensObservation } from './observe.ts';
import { closesRotations, withRollouts } from './restarts/rollouts.ts';
import { legacyTokensReady, workloadsRestarted, type PlanFacts } from './conditions.ts';
import { dependentsIn, manualRestarts, unreplacedHolders } from './restarts/dependents.ts';
import { findingsOf, requeueAfter, summaryOf } from './report.ts';
import { planRestarts, type RestartPlan } from './restarts/plan.ts';
import { triageSecrets, type Triage } from './rotation/secrets.ts';
import { createdSinceRequest } from './rotation/triggers.ts';
import { paceRotations } from './rotation/pace.ts';
import { noProgress } from './rotation/ledger.ts';
import { id, workloadId, type LegacyTokensMemory, type LegacyTokensPlan, type RotateAction, type RotationRequestSeen } from './types.ts';

export { CLEANUP_PERIOD_MS, rotationId, unusedBeyondCleanup } from './rotation/triggers.ts';
export type { LegacyTokensAction, LegacyTokensMemory, LegacyTokensPlan, ManualRestart, SecretRef, Trigger } from './types.ts';

/** The rotation request in force and when it was first seen: kept from status while the value stands. */
export function requestSeen(
  spec: ResolvedSpec,
  observation: LegacyTokensObservation,
  previous: LegacyTokensMemory | undefined,
): RotationRequestSeen | undefined {
  const request = spec.legacyTokens.rotationRequestedAt;
  if (request === undefined) return undefined;
  const kept = previous?.rotationRequest;
  return kept?.requestedAt === request && Number.isFinite(Date.parse(kept.firstSeenAt))
    ? kept
    : { requestedAt: request, firstSeenAt: new Date(observation.now).toISOString() };
}

/** The one-shot trigger is recorded once every Secret it covers carries it (or was created since it was seen). */
function lastRotationRequest(
  spec: ResolvedSpec,
  observation: LegacyTokensObservation,
  t: Triage,
  previous: LegacyTokensMemory | undefined,
  seen: RotationRequestSeen | undefined,
): string | undefined {
  const request = spec.legacyTokens.rotationRequestedAt;
  const skipped = new Set([...t.terminating.map((x) => x.secret), ...t.unused.map((u) => u.secret)]);
  const covered = observation.secrets.filter((f) => f.serviceAccount === 'ok' && f.secret.invalidSince === undefined && !skipped.has(id(f.secret)));
  const seenAtMs = seen ? Date.parse(seen.firstSeenAt) : undefined;
  return request !== undefined && covered.every((f) => f.secret.rotatedForRequest === request || createdSinceRequest(f.secret, seenAtMs))
    ? request
    : previous?.lastRotationRequest;
}

/** Rotations whose Secret was refilled (their restarts may still be under way): the tokens controller works. */
const refilledOf = (restarts: RestartPlan): number => restarts.rollouts.pending.filter((s) => s.tokenHash !== undefined).length;

/** Gathers what the conditions, findings and summary are worded from (exported for the rule tables). */
export function factsOf(
  spec: ResolvedSpec,
  observation: LegacyTokensObservation,
  previous: LegacyTokensMemory | undefined,
  seen: RotationRequestSeen | undefined,
): PlanFacts {
  const triage = triageSecrets(spec, observation, seen ? Date.parse(seen.firstSeenAt) : undefined);
  const deps = dependentsIn(observation, spec.legacyTokens.restartDependents);
  const rotations = triage.actions.filter((a): a is RotateAction => a.kind === 'rotate');
  const restarts = planRestarts(spec.legacyTokens, observation, deps, triage.rotatingNow, rotations);
  const deadAll = observation.consumers.filter(deps.holdsDeadToken);
  const rotated = (c: { namespace: string; secret: string }): boolean =>
    rotations.some((a) => a.secret.namespace === c.namespace && a.secret.name === c.secret);
  // This reconcile's step: the canary gate and the batch, from the rotation ledger as observe read it.
  const step = paceRotations({
    now: observation.now,
    timeoutMs: spec.legacyTokens.tokenControllerTimeoutMs,
    dryRun: spec.dryRun,
    actions: [...triage.actions, ...restarts.actions].filter((a) => a.kind !== 'finish' || closesRotations(observation.rollouts)),
    awaitingRefill: triage.awaitingRefill,
    refilledRotations: refilledOf(restarts),
    progress: observation.progress ?? noProgress(),
  });
  return {
    spec,
    observation,
    previous,
    triage,
    deps,
    restarts,
    rotations,
    restartCount: restarts.actions.filter((a) => a.kind === 'restart').length,
    manual: manualRestarts(observation, deps.secretsById),
    deadAll,
    deadHolders: spec.legacyTokens.restartWorkloads ? unreplacedHolders(deps, deadAll, new Set(restarts.rollouts.pending.map(id))) : deadAll,
    wouldNotRestart: spec.dryRun ? observation.consumers.filter((c) => !c.restartable && rotated(c)) : [],
    waitingNames: [...restarts.waiting.values()].map((e) => workloadId(e.w)),
    step,
  };
}

export function planLegacyTokens(spec: ResolvedSpec, observation: LegacyTokensObservation, previous: LegacyTokensMemory | undefined): LegacyTokensPlan {
  const seen = requestSeen(spec, observation, previous);
  const facts = factsOf(spec, observation, previous, seen);
  const tokens = legacyTokensReady(facts);
  // Argo Rollouts still listing, or unreadable: part of the plan, not a change made to it afterwards.
  return withRollouts(
    {
      actions: [...facts.triage.actions, ...facts.restarts.actions],
      dryRun: spec.dryRun,
      awaitingRefill: facts.triage.awaitingRefill,
      refilledRotations: refilledOf(facts.restarts),
      step: facts.step,
      report: {
        conditions: [tokens, workloadsRestarted(facts)],
        findings: findingsOf(facts, tokens),
        requeueAfterMs: requeueAfter(facts),
        summary: { ...summaryOf(facts, lastRotationRequest(spec, observation, facts.triage, previous, seen)), ...(seen ? { rotationRequest: seen } : {}) },
      },
    },
    observation.rollouts,
  );
}
