// Which workloads to restart for which rotations, paced (at most maxConcurrentRestarts rollouts,
// restart windows, emergencies first), and which rotations are finished.
import type { ResolvedSpec } from '../../../api/defaults.ts';
import type { TokenSecret, Workload } from '../caches.ts';
import type { LegacyTokensObservation } from '../observe.ts';
import { restartWindowState, type WindowState } from './window.ts';
import type { Dependents } from './dependents.ts';
import { consumerId, id, ref, refId, workloadId, type LegacyTokensAction } from '../types.ts';
import { sortedBy } from '../../../kube/order.ts';

type Spec = ResolvedSpec['legacyTokens'];
export interface Waiting {
  w: Workload;
  rotations: Set<string>;
  blocked: boolean;
  urgent: boolean;
}

/** Rollouts of rotations still under way: the Secrets, and the restarts in flight or timed out. */
export interface Rollouts {
  pending: TokenSecret[];
  pendingIds: Set<string>;
  inFlight: Workload[];
  timedOut: Workload[];
}

/** What the restart plan writes: restarts and done marks. */
export type RestartAction = Extract<LegacyTokensAction, { kind: 'restart' | 'finish' }>;

export interface RestartPlan {
  actions: RestartAction[];
  rollouts: Rollouts;
  waiting: Map<string, Waiting>;
  window: WindowState;
  /** waiting only for a restart window to open */
  heldByWindow: string[];
  nextOpensAt: string | undefined;
}

export function rolloutsUnderWay(legacy: Spec, observation: LegacyTokensObservation): Rollouts {
  const pending = observation.secrets
    .filter((f) => !f.terminating)
    .map((f) => f.secret)
    .filter((s) => s.rotation && s.rotationState === 'pending');
  const pendingIds = new Set(pending.map((s) => s.rotation ?? ''));
  // Only restarts done for a rotation still under way count, and only while the pod template is the one
  // our restart produced: a user's own later rollout is not ours to time.
  const ours = (w: Workload): boolean =>
    w.restartedAt !== undefined && !w.rolloutComplete && w.restartedFor.some((r) => pendingIds.has(r)) && w.templateIsOurs !== false;
  const age = (w: Workload): number => observation.now - Date.parse(w.restartedAt ?? '');
  return {
    pending,
    pendingIds,
    inFlight: observation.workloads.filter((w) => ours(w) && age(w) < legacy.rolloutTimeoutMs),
    timedOut: observation.workloads.filter((w) => ours(w) && age(w) >= legacy.rolloutTimeoutMs),
  };
}

/**
 * An emergency overrides the restart windows: a rotation made up to restartNow, or the one
 * rotationRequestedAt asked for, restarts at once.
 */
export function isUrgent(legacy: Spec, s: TokenSecret): boolean {
  const restartNow = legacy.restartNow === undefined ? undefined : Date.parse(legacy.restartNow);
  return (
    (restartNow !== undefined && s.rotatedAt !== undefined && Date.parse(s.rotatedAt) <= restartNow) ||
    (legacy.rotationRequestedAt !== undefined && s.rotatedForRequest === legacy.rotationRequestedAt)
  );
}

/** For every pending rotation: finish it when settled, else enter its dependents not yet restarted as waiting. */
function finishOrWait(legacy: Spec, r: Rollouts, deps: Dependents, rotating: Set<string>): { finished: RestartAction[]; waiting: Map<string, Waiting> } {
  const finished: RestartAction[] = [];
  const waiting = new Map<string, Waiting>();
  for (const s of r.pending) {
    const rotation = s.rotation ?? '';
    const ready = s.tokenHash !== undefined; // refilled by the tokens controller
    if (rotating.has(id(s))) continue; // rotated again in this plan: its new rotation takes over
    if (!legacy.restartWorkloads) {
      if (ready)
        finished.push({ kind: 'finish', secret: ref(s), rotation, restarted: [], notRestarted: deps.deadHoldersOf(s).map(consumerId), restartsDisabled: true });
      continue;
    }
    // restartDependents NotRefreshable: those the kubelet refreshes in place are neither waited for nor restarted.
    const split = deps.splitOf(s.metadata);
    const dependents = split.restart.map((d) => d.w);
    for (const w of dependents.filter((x) => !x.restartedFor.includes(rotation))) {
      const entry = waiting.get(workloadId(w)) ?? { w, rotations: new Set<string>(), blocked: false, urgent: false };
      entry.rotations.add(rotation);
      if (isUrgent(legacy, s)) entry.urgent = true;
      if (!ready) entry.blocked = true;
      waiting.set(workloadId(w), entry);
    }
    // A timed-out rollout keeps its rotation pending, so RolloutTimedOut stays until that rollout finishes
    // (it frees its restart slot meanwhile): pods of a stuck rollout still mount the old token.
    // A Rollout that could not be read is no dependent yet: while its pods hold the replaced token the rotation
    // stays open, so it is restarted once Rollouts can be read (closed, its pods would then count as restarted).
    const settled = dependents.every((w) => w.restartedFor.includes(rotation) && w.rolloutComplete) && !deps.deadHoldersOf(s).some((c) => c.rolloutUnread);
    if (ready && settled) {
      const notRestarted = [
        ...deps.optedOutOf(s.metadata).map((w) => `${workloadId(w)} (${w.optOut ?? ''})`),
        ...deps
          .deadHoldersOf(s)
          .filter((c) => !c.restartable)
          .map(consumerId),
      ];
      finished.push({
        kind: 'finish',
        secret: ref(s),
        rotation,
        restarted: dependents.map(workloadId),
        notRestarted,
        restartsDisabled: false,
        ...(split.leftToKubelet.length ? { leftToKubelet: split.leftToKubelet.map((d) => workloadId(d.w)) } : {}),
      });
    }
  }
  return { finished, waiting };
}

/**
 * The restarts to start now: a workload waits while any Secret it uses still needs rotating or is
 * being refilled, then restarts once for all of them (also when a crash split the rotations across
 * reconciles); outside every restart window only urgent ones go; at most maxConcurrentRestarts at once.
 */
export function planRestarts(
  legacy: Spec,
  observation: LegacyTokensObservation,
  deps: Dependents,
  rotatingNow: string[],
  rotations: { secret: { namespace: string; name: string } }[],
): RestartPlan {
  const rollouts = rolloutsUnderWay(legacy, observation);
  const { finished, waiting } = finishOrWait(legacy, rollouts, deps, new Set(rotations.map((a) => refId(a.secret))));
  const unsettled = new Set(rotatingNow);
  for (const entry of waiting.values()) {
    if (entry.w.secrets.some((name) => unsettled.has(`${entry.w.metadata.namespace}/${name}`))) entry.blocked = true;
  }
  const window = restartWindowState(legacy.restartWindows, observation.now);
  const ready = sortedBy(
    [...waiting.values()].filter((e) => !e.blocked && !rollouts.inFlight.includes(e.w) && (window.open || e.urgent)),
    (e) => workloadId(e.w),
  );
  const heldByWindow = [...waiting.values()].filter((e) => !e.blocked && !window.open && !e.urgent).map((e) => workloadId(e.w));
  const slots = Math.max(0, legacy.maxConcurrentRestarts - rollouts.inFlight.length);
  const restarts = ready.slice(0, slots).map((e): RestartAction => {
    // Keep the rotations this workload already restarted for that are still under way, so none is undone.
    const all = new Set([...e.rotations, ...e.w.restartedFor.filter((r) => rollouts.pendingIds.has(r))]);
    const workload = { kind: e.w.kind, namespace: e.w.metadata.namespace, name: e.w.metadata.name, ...(e.w.template ? { template: e.w.template } : {}) };
    return { kind: 'restart', workload, rotations: [...all].sort() };
  });
  const nextOpensAt = window.nextOpen === undefined ? undefined : new Date(window.nextOpen).toISOString();
  return { actions: [...finished, ...restarts], rollouts, waiting, window, heldByWindow, nextOpensAt };
}
