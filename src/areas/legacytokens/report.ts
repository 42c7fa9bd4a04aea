// What `check` lists and status.legacyTokens holds: findings, the bounded summary, and when to look again.
import { Reason } from '../../api/reasons.ts';
import type { ConditionUpdate } from '../../api/conditions.ts';
import type { Finding } from '../area.ts';
import { deletedText, wouldLeaveToKubelet, wouldRestart, type PlanFacts } from './conditions.ts';
import { consumerView, id, restartCommand, workloadId, type RotationRestarts } from './types.ts';

/** One finding per thing an admin acts on: a Secret, a workload, a pod, kube-controller-manager. */
export function findingsOf(f: PlanFacts, tokens: ConditionUpdate): Finding[] {
  const verb = f.spec.dryRun ? 'would rotate' : 'rotating';
  return [
    ...f.triage.problems.map((p): Finding => ({ subject: `secret ${p.split(':')[0] ?? ''}`, health: 'action', message: p })),
    ...f.rotations.map((a): Finding => ({
      subject: `secret ${a.secret.namespace}/${a.secret.name}`,
      health: 'action',
      message: `${verb}: ${a.triggers.join(', ')}`,
    })),
    ...[...new Set(f.rotations.flatMap((a) => f.deps.usersOf(a.secret)))].map((w): Finding => ({
      subject: workloadId(w),
      health: 'action',
      message: w.optOut
        ? `mounts a token Secret that needs rotation; opted out (${w.optOut}): restart it yourself after it`
        : 'mounts a token Secret that needs rotation: restart after it',
    })),
    ...f.manual.map((m): Finding => ({
      subject: m.workload,
      health: 'action',
      message: `opted out (${m.optOut}) and uses ${m.secret}, rotated since it last restarted: ${m.note}`,
    })),
    ...f.deadHolders.map((c): Finding => ({
      subject: `pod ${c.namespace}/${c.pod}`,
      health: 'action',
      message: `still holds the replaced token of secret ${c.secret} (${c.how.join(', ')}); owner ${c.owner}: ${c.restartable ? `not restarted for that rotation, which closed before the operator could restart it: ${restartCommand(c.restartable, c.namespace)}` : 'the operator does not restart it'}${c.cronJob ? ` (CronJob ${c.cronJob}'s next Job reads the new token)` : ''}`,
    })),
    ...(f.observation.deletedInUse ?? []).flatMap((d) =>
      d.users.map((w): Finding => ({
        subject: w,
        health: 'action',
        message: `uses secret ${d.secret}, deleted${d.invalidSince ? ' by the legacy-token cleaner' : ''} at ${d.deletedAt}: its next Pod will not start; move it to a projected serviceAccountToken volume or create the Secret again`,
      })),
    ),
    ...f.triage.notReissuable.map((x): Finding => ({
      subject: `secret ${x.split(' ')[0] ?? ''}`,
      health: 'action',
      message: 'needs rotation, but legacy tokens cannot be re-issued in this cluster (external signing): move its users to projected tokens',
    })),
    ...(tokens.status === 'False' && tokens.reason === Reason.TokenControllerUnavailable
      ? [{ subject: 'kube-controller-manager', health: 'action' as const, message: tokens.message }]
      : []),
  ];
}

/** While re-reading the keys fails, how often to look again (the keys are retried every 30 s). */
const KEYS_RECHECK_MS = 15_000;

/** Reconcile again while rollouts run; held only by a closed window: wake when it opens, not every few seconds. */
export function requeueAfter(f: PlanFacts): number | undefined {
  const {
    rollouts: { inFlight },
    waiting,
    heldByWindow,
    window,
  } = f.restarts;
  const rotating = f.triage.rotatingNow.length;
  // Keys that fail to re-read are trusted a bounded time: look again before it runs out.
  const keysFailing = f.observation.keySource.error !== undefined && f.observation.keySource.stale === undefined ? KEYS_RECHECK_MS : undefined;
  if (f.spec.dryRun || (inFlight.length === 0 && waiting.size === 0 && rotating === 0)) return keysFailing;
  if (inFlight.length === 0 && rotating === 0 && heldByWindow.length === waiting.size && window.nextOpen !== undefined) {
    return Math.min(3600_000, Math.max(1000, window.nextOpen - f.observation.now + 500));
  }
  return 3000;
}

const keySource = (f: PlanFacts): string => {
  const k = f.observation.keySource;
  return k.kind === 'published'
    ? `/openid/v1/jwks (${k.keys} key(s)); no TokenReview`
    : k.kind === 'tokenReview'
      ? 'TokenReview (fallback: /openid/v1/jwks unusable; each review marks the Secret used)'
      : 'none';
};

/** Since when the verdicts' keys have been the published set (re-read every 10 minutes), and why they are no longer used (KEY_EVIDENCE_BOUND_MS). */
const keyEvidence = (f: PlanFacts): Record<string, string> => {
  const k = f.observation.keySource;
  return { ...(k.keysSince ? { keysSince: k.keysSince } : {}), ...(k.stale ? { keysUnusable: k.stale } : {}) };
};

/** What the Secrets are, and what is left to do about them, bounded (20 names per list). */
function secretsSummary(f: PlanFacts): Record<string, unknown> {
  const { counts, invalidated, unused, terminating, undecided, problems } = f.triage;
  return {
    secrets: counts.total,
    valid: counts.valid,
    invalid: counts.invalid,
    orphaned: counts.orphaned,
    rotated: counts.rotated,
    keySource: keySource(f),
    ...keyEvidence(f),
    ...(invalidated.length ? { invalidated: invalidated.slice(0, 20), invalidatedCount: invalidated.length } : {}),
    ...(unused.length ? { unused: unused.slice(0, 20), unusedCount: unused.length } : {}),
    ...(terminating.length ? { terminating: terminating.slice(0, 20), terminatingCount: terminating.length } : {}),
    ...(undecided.length ? { undecided: undecided.slice(0, 10).map((u) => `${u.secret}: ${u.detail}`), undecidedCount: undecided.length } : {}),
    ...(problems.length ? { attention: problems.slice(0, 10) } : {}),
  };
}

/** Records kept in status: the rotations under way, then the latest finished ones (from the last status). */
const MAX_ROTATION_RECORDS = 20;

/**
 * restartDependents NotRefreshable: per rotation, which dependents are restarted (and how they read the Secret, the
 * reason) and which are left to the kubelet's in-place refresh (and why); a finished rotation's record stays from
 * the last status, so the newest are there after the rotation is done.
 */
function rotationRestartsOf(f: PlanFacts): { rotationRestarts?: RotationRestarts[] } {
  const current = f.restarts.rollouts.pending.map((s): RotationRestarts => {
    const split = f.deps.splitOf(s.metadata);
    return {
      rotation: s.rotation ?? '',
      secret: id(s),
      restart: split.restart.map((d) => `${workloadId(d.w)} (${d.why})`),
      leftToKubelet: split.leftToKubelet.map((d) => `${workloadId(d.w)} (${d.why})`),
    };
  });
  const seen = new Set(current.map((r) => r.rotation));
  const kept = (Array.isArray(f.previous?.rotationRestarts) ? f.previous.rotationRestarts : []).filter((r) => !seen.has(r.rotation));
  const all = [...current, ...kept].slice(0, MAX_ROTATION_RECORDS);
  return all.length ? { rotationRestarts: all } : {};
}

/** The restarts: done, waiting, held, refused, in the key order status has always had. */
export function summaryOf(f: PlanFacts, lastRotationRequest: string | undefined): Record<string, unknown> {
  const { manual, deadHolders, wouldNotRestart, waitingNames, rotations } = f;
  const {
    rollouts: { inFlight, timedOut },
    heldByWindow,
    nextOpensAt,
    window,
  } = f.restarts;
  const optedOut = f.observation.workloads.filter((w) => w.optOut && w.secrets.some((name) => f.deps.secretsById.has(`${w.metadata.namespace}/${name}`)));
  const { attention, ...secrets } = secretsSummary(f);
  return {
    ...secrets,
    ...(deadHolders.length || manual.length
      ? { notRestarted: [...manual, ...deadHolders.map(consumerView)].slice(0, 20), notRestartedCount: manual.length + deadHolders.length }
      : {}),
    ...(optedOut.length
      ? { restartsOptedOut: optedOut.slice(0, 20).map((w) => `${workloadId(w)} (${w.optOut ?? ''})`), restartsOptedOutCount: optedOut.length }
      : {}),
    ...(wouldNotRestart.length ? { wouldNotRestart: wouldNotRestart.slice(0, 20).map(consumerView) } : {}),
    rotating: f.triage.rotatingNow.length,
    awaitingRestart: waitingNames.length,
    rolloutsInProgress: inFlight.length,
    ...(f.spec.legacyTokens.restartWindows.length
      ? {
          restartWindow: { open: window.open, ...(nextOpensAt ? { nextOpensAt } : {}), ...(heldByWindow.length ? { waiting: heldByWindow.slice(0, 20) } : {}) },
        }
      : {}),
    ...(attention ? { attention } : {}),
    ...(f.observation.deletedInUse?.length ? { deletedInUse: f.observation.deletedInUse.slice(0, 20).map(deletedText) } : {}),
    ...(rotations.length
      ? {
          [f.spec.dryRun ? 'wouldRotate' : 'rotatingNow']: rotations.slice(0, 20).map((a) => `${a.secret.namespace}/${a.secret.name}: ${a.triggers.join(',')}`),
        }
      : {}),
    ...(waitingNames.length || inFlight.length ? { waitingWorkloads: [...inFlight.map(workloadId), ...waitingNames].slice(0, 20) } : {}),
    ...(timedOut.length ? { rolloutsTimedOut: timedOut.length, timedOutWorkloads: timedOut.map(workloadId).slice(0, 20) } : {}),
    ...(f.spec.dryRun && rotations.length ? { wouldRestart: wouldRestart(f).slice(0, 20) } : {}),
    ...(f.spec.dryRun && wouldLeaveToKubelet(f).length ? { wouldLeaveToKubelet: wouldLeaveToKubelet(f).slice(0, 20) } : {}),
    ...(f.spec.legacyTokens.restartDependents === 'NotRefreshable' ? rotationRestartsOf(f) : {}),
    ...(lastRotationRequest ? { lastRotationRequest } : {}),
    ...(f.step.holds ? { tokenControllerUnavailable: f.step.gate.message } : {}),
  };
}
