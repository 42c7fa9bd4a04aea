// The legacy-token decision (the dead-legacy-token incident), pure: which Secrets to rotate in place
// and why, which workloads to restart for which rotations (paced), which
// rotations are finished, and the LegacyTokensReady / WorkloadsRestarted
// conditions. All state it needs is read back from the cluster (annotations on
// Secrets and pod templates), so a crash or a leader change loses nothing.
import { createHash } from 'node:crypto';
import type { ConditionUpdate } from '../../api/conditions.ts';
import type { ResolvedSpec } from '../../api/defaults.ts';
import { formatDuration } from '../../api/duration.ts';
import * as A from '../../api/annotations.ts';
import { ConditionType, Reason } from '../../api/reasons.ts';
import type { AreaReport, Finding } from '../area.ts';
import type { TokenSecret, Workload } from './caches.ts';
import { restartWindowState } from './restart-window.ts';
import type { LegacyTokensObservation, SecretFinding, TokenConsumer } from './observe.ts';

export type Trigger = 'InvalidToken' | 'StaleCA' | 'MaxAge' | 'Requested';

export interface SecretRef { namespace: string; name: string; resourceVersion: string | undefined }

export type LegacyTokensAction =
  | { kind: 'rotate'; secret: SecretRef; rotation: string; triggers: Trigger[]; request: string | undefined; tokenHash: string | undefined; apiservers: string }
  | { kind: 'revive'; secret: SecretRef }
  | { kind: 'restart'; workload: { kind: Workload['kind']; namespace: string; name: string }; rotations: string[] }
  | { kind: 'finish'; secret: SecretRef; rotation: string; restarted: string[]; notRestarted: string[]; restartsDisabled: boolean };

export interface LegacyTokensPlan {
  actions: LegacyTokensAction[];
  dryRun: boolean;
  tokenControllerTimeoutMs: number;
  report: AreaReport;
}

/** Prior state this area keeps in status (the one-shot trigger it already acted on). */
export interface LegacyTokensMemory {
  lastRotationRequest?: string;
  /** set by act when the tokens controller failed to fill a Secret in time */
  tokenControllerUnavailable?: string;
}

const ref = (s: TokenSecret): SecretRef => ({ namespace: s.metadata.namespace, name: s.metadata.name, resourceVersion: s.metadata.resourceVersion });
const id = (s: { metadata: { namespace: string; name: string } }): string => `${s.metadata.namespace}/${s.metadata.name}`;
const workloadId = (w: Workload): string => `${w.kind.toLowerCase()}/${w.metadata.namespace}/${w.metadata.name}`;
/** A workload opted out of restarts that holds a replaced token: listed in status.legacyTokens.notRestarted. */
export interface ManualRestart { workload: string; secret: string; optOut: string; note: string }
const consumerView = (c: TokenConsumer): Record<string, string> => ({
  pod: `${c.namespace}/${c.pod}`, owner: c.owner, secret: c.secret, reads: c.how.join(', '),
  ...(c.optOut ? { optOut: c.optOut } : {}),
  ...(c.cronJob ? { note: `CronJob ${c.cronJob} needs no restart: its next Job reads the re-issued token` } : {}),
});
const consumerId = (c: TokenConsumer): string => `pod ${c.namespace}/${c.pod} (${c.owner}; ${c.how.join(', ')} of ${c.secret})`;

/**
 * A rotation's identity: deterministic (the same Secret, token, request and previous
 * rotation give the same id, so a retried rotation is recognised) and chained to
 * the previous rotation, because a legacy token carries no time claims: re-issued
 * with the same signing key it is byte-for-byte the same token.
 */
export function rotationId(secret: TokenSecret, request: string | undefined): string {
  const basis = [secret.metadata.uid, secret.tokenHash ?? '', request ?? '', secret.rotation ?? ''].join('/');
  return `r-${createHash('sha256').update(basis).digest('hex').slice(0, 10)}`;
}

/**
 * The token was re-issued under the API servers running now and came back the very
 * same, still rejected: rotating again cannot help (the controller-manager signs with
 * a key the API server does not accept). After an API-server restart it may again.
 */
function reissuedStillInvalid(f: SecretFinding, apiservers: string): boolean {
  const s = f.secret;
  return s.rotatedFrom !== undefined && s.rotatedFrom === s.tokenHash && s.rotatedUnder === apiservers && f.verdict.validity === 'invalid';
}

/**
 * A rotation still under way (its dependents restarting, or a rollout stuck past
 * rolloutTimeout) whose re-issued token the same API servers reject: the same
 * signing-key mismatch. Once the API servers restart (a new key, maybe), the
 * dead token is rotated again even though its rotation is still pending.
 */
function pendingReissueRejected(f: SecretFinding, apiservers: string): boolean {
  return f.secret.rotationState === 'pending' && f.secret.rotatedUnder === apiservers && f.verdict.validity === 'invalid';
}

/** kube-controller-manager's default --legacy-service-account-token-clean-up-period (one year). */
export const CLEANUP_PERIOD_MS = 365 * 24 * 3600_000;

/**
 * Unused for longer than the cleaner's period, judged as the cleaner does
 * (legacy_serviceaccount_token_cleaner.go): created before the cutoff, and its
 * last-used date (or, never used, its creation) before it. Such a token is the
 * cleaner's to retire, not the operator's to rotate.
 */
export function unusedBeyondCleanup(s: TokenSecret, now: number, periodMs = CLEANUP_PERIOD_MS): boolean {
  const cutoff = now - periodMs;
  const created = Date.parse(s.metadata.creationTimestamp);
  if (!Number.isFinite(created) || created >= cutoff) return false;
  if (s.lastUsed === undefined) return true;
  const used = Date.parse(`${s.lastUsed}T00:00:00Z`);
  return Number.isFinite(used) && used < cutoff - 24 * 3600_000;
}

function triggersFor(f: SecretFinding, spec: ResolvedSpec['legacyTokens'], now: number, apiservers: string): Trigger[] {
  const t: Trigger[] = [];
  if (spec.rotateOn.includes('InvalidToken') && f.verdict.validity === 'invalid' && !pendingReissueRejected(f, apiservers) && !reissuedStillInvalid(f, apiservers)) t.push('InvalidToken');
  if (spec.rotateOn.includes('StaleCA') && f.staleCA === true) t.push('StaleCA');
  const born = Date.parse(f.secret.rotatedAt ?? f.secret.metadata.creationTimestamp);
  if (spec.rotateOn.includes('MaxAge') && spec.maxAgeMs !== undefined && Number.isFinite(born) && now - born > spec.maxAgeMs) t.push('MaxAge');
  if (spec.rotationRequestedAt !== undefined && f.secret.rotatedForRequest !== spec.rotationRequestedAt) t.push('Requested');
  return t;
}

export function planLegacyTokens(spec: ResolvedSpec, obs: LegacyTokensObservation, previous: LegacyTokensMemory | undefined): LegacyTokensPlan {
  const lt = spec.legacyTokens;
  const actions: LegacyTokensAction[] = [];
  const counts = { total: obs.secrets.length, valid: 0, invalid: 0, orphaned: 0, awaitingToken: 0, rotated: obs.secrets.filter((f) => f.secret.rotation !== undefined).length };
  const problems: string[] = [];
  const rotatingNow: string[] = [];
  const terminating: { secret: string; what: string; since: string | undefined }[] = [];
  const invalidated: { secret: string; invalidSince: string; lastUsed: string | undefined }[] = [];
  const unused: { secret: string; lastUsed: string | undefined; created: string }[] = [];
  const undecided: string[] = [];
  const notReissuable: string[] = [];

  for (const f of obs.secrets) {
    const s = f.secret;
    if (f.terminating) {
      // Being deleted is not being dead: nothing of it is rotated or restarted.
      terminating.push({ secret: id(s), what: f.terminating, since: f.terminating === 'Secret' ? s.metadata.deletionTimestamp : undefined });
      continue;
    }
    if (s.invalidSince !== undefined) {
      // The legacy-token cleaner owns it: it deletes it a cleanup period later unless someone uses it.
      if (lt.reviveInvalidated) actions.push({ kind: 'revive', secret: ref(s) });
      else invalidated.push({ secret: id(s), invalidSince: s.invalidSince, lastUsed: s.lastUsed });
      continue;
    }
    if (f.serviceAccount !== 'ok') {
      counts.orphaned++;
      problems.push(`${id(s)}: ServiceAccount ${s.serviceAccountName || '(none)'} ${f.serviceAccount === 'missing' ? 'does not exist' : 'was recreated (UID mismatch)'}; orphans are never rotated — delete the Secret if nothing uses it`);
      continue;
    }
    const unusedFor = unusedBeyondCleanup(s, obs.now);
    if (unusedFor) {
      unused.push({ secret: id(s), lastUsed: s.lastUsed, created: s.metadata.creationTimestamp });
      continue;
    }
    if (!s.tokenHash) {
      // Blanked for rotation (or just created): the tokens controller fills it.
      counts.awaitingToken++;
      if (s.rotationState === 'pending') rotatingNow.push(id(s));
      continue;
    }
    if (f.verdict.validity === 'undecided') {
      undecided.push(`${id(s)}: ${f.verdict.detail}`);
      continue;
    }
    if (reissuedStillInvalid(f, obs.apiservers) || pendingReissueRejected(f, obs.apiservers)) {
      counts.invalid++;
      // Blame the signing key only with evidence: the re-issued token's signature fails against the published keys.
      const keyMismatch = f.verdict.reason === 'SignatureInvalid' || f.verdict.reason === 'KeyNotPublished';
      problems.push(keyMismatch
        ? `${id(s)}: the tokens controller re-issued ${s.rotatedFrom === s.tokenHash ? 'the same token' : 'a token'} whose signature verifies against none of the keys the API server publishes: kube-controller-manager signs with a key the API server does not accept — make --service-account-private-key-file (kube-controller-manager) match --service-account-key-file (kube-apiserver)`
        : `${id(s)}: the re-issued token is still rejected: ${f.verdict.detail}`);
      continue;
    }
    const triggers = triggersFor(f, lt, obs.now, obs.apiservers);
    // Never blank a token that still works unless a trigger other than invalidity asks for it.
    if (triggers.length > 0 && !(f.verdict.validity === 'valid' && triggers.every((t) => t === 'InvalidToken'))) {
      if (obs.externalSigning) {
        notReissuable.push(`${id(s)} (${triggers.join(', ')})`);
        counts.invalid++;
        continue;
      }
      const request = triggers.includes('Requested') ? lt.rotationRequestedAt : undefined;
      actions.push({ kind: 'rotate', secret: ref(s), rotation: rotationId(s, request), triggers, request, tokenHash: s.tokenHash, apiservers: obs.apiservers });
      if (!spec.dryRun) rotatingNow.push(id(s));
      continue;
    }
    if (f.verdict.validity === 'valid' && f.staleCA !== true) counts.valid++;
    else {
      counts.invalid++;
      const why = f.verdict.validity !== 'valid' ? `token ${f.verdict.detail}` : 'ca.crt differs from the namespace\'s kube-root-ca.crt';
      problems.push(`${id(s)}: ${why}; rotateOn does not include the trigger that would rotate it`);
    }
  }

  // Restarts: for every rotation whose Secret has its new token, restart each dependent once.
  const usersOf = (s: { namespace: string; name: string }): Workload[] => obs.workloads.filter((w) => w.metadata.namespace === s.namespace && w.secrets.includes(s.name));
  // Opted out (authpolicy.io/restart: "false"): its Secrets rotate, it waits for a manual restart.
  const dependentsOf = (s: TokenSecret): Workload[] => usersOf(s.metadata).filter((w) => !w.optOut);
  const optedOutOf = (s: TokenSecret): Workload[] => usersOf(s.metadata).filter((w) => w.optOut);
  // Running pods that read a Secret whose token was replaced since they started: they hold a token that no longer works.
  const secretsById = new Map(obs.secrets.map((f) => [id(f.secret), f.secret]));
  const holdsDeadToken = (c: TokenConsumer): boolean => {
    const s = secretsById.get(`${c.namespace}/${c.secret}`);
    return s?.rotatedAt !== undefined && s.tokenHash !== s.rotatedFrom && Date.parse(c.createdAt) < Date.parse(s.rotatedAt);
  };
  // An opted-out workload whose Secret's token was replaced after its last restart (or creation): restart it by hand.
  const manualView = (w: Workload, secrets: string[]): ManualRestart => ({
    workload: workloadId(w), secret: secrets.join(', '), optOut: w.optOut ?? '', note: `restart it yourself: kubectl rollout restart ${w.kind.toLowerCase()}/${w.metadata.name} -n ${w.metadata.namespace}`,
  });
  const manual: ManualRestart[] = obs.workloads.flatMap((w) => {
    if (!w.optOut) return [];
    const since = Math.max(Date.parse(w.lastRestartAt ?? '') || 0, Date.parse(w.metadata.creationTimestamp ?? '') || 0);
    const replaced = w.secrets.filter((name) => {
      const s = secretsById.get(`${w.metadata.namespace}/${name}`);
      return s?.rotatedAt !== undefined && s.tokenHash !== s.rotatedFrom && Date.parse(s.rotatedAt) > since;
    });
    return replaced.length ? [manualView(w, replaced)] : [];
  });
  const deadHoldersOf = (s: TokenSecret): TokenConsumer[] => obs.consumers.filter((c) => c.namespace === s.metadata.namespace && c.secret === s.metadata.name && holdsDeadToken(c));
  const pendingRotations = obs.secrets.filter((f) => !f.terminating).map((f) => f.secret).filter((s) => s.rotation && s.rotationState === 'pending');
  const pendingIds = new Set(pendingRotations.map((s) => s.rotation ?? ''));
  const rotatingSecrets = new Set(actions.flatMap((a) => (a.kind === 'rotate' ? [`${a.secret.namespace}/${a.secret.name}`] : [])));
  // Only restarts done for a rotation still under way count, and only while the pod template is the one
  // our restart produced: a user's own later rollout is not ours to time.
  const ours = (w: Workload): boolean => w.restartedAt !== undefined && !w.rolloutComplete && w.restartedFor.some((r) => pendingIds.has(r)) && w.templateIsOurs !== false;
  const inFlight = obs.workloads.filter((w) => ours(w) && obs.now - Date.parse(w.restartedAt ?? '') < lt.rolloutTimeoutMs);
  const timedOut = obs.workloads.filter((w) => ours(w) && obs.now - Date.parse(w.restartedAt ?? '') >= lt.rolloutTimeoutMs);
  const waiting = new Map<string, { w: Workload; rotations: Set<string>; blocked: boolean; urgent: boolean }>();
  // Outside every restart window restarts wait (rotations do not); an emergency trigger overrides:
  // a rotation made up to restartNow, or the one rotationRequestedAt asked for, restarts at once.
  const window = restartWindowState(lt.restartWindows, obs.now);
  const restartNow = lt.restartNow === undefined ? undefined : Date.parse(lt.restartNow);
  const urgent = (s: TokenSecret): boolean => (restartNow !== undefined && s.rotatedAt !== undefined && Date.parse(s.rotatedAt) <= restartNow)
    || (lt.rotationRequestedAt !== undefined && s.rotatedForRequest === lt.rotationRequestedAt);
  for (const s of pendingRotations) {
    const rotation = s.rotation ?? '';
    const ready = s.tokenHash !== undefined; // refilled by the tokens controller
    if (rotatingSecrets.has(id(s))) continue; // rotated again in this plan: its new rotation takes over
    if (!lt.restartWorkloads) {
      if (ready) actions.push({ kind: 'finish', secret: ref(s), rotation, restarted: [], notRestarted: deadHoldersOf(s).map(consumerId), restartsDisabled: true });
      continue;
    }
    const deps = dependentsOf(s);
    const notYet = deps.filter((w) => !w.restartedFor.includes(rotation));
    for (const w of notYet) {
      const entry = waiting.get(workloadId(w)) ?? { w, rotations: new Set<string>(), blocked: false, urgent: false };
      entry.rotations.add(rotation);
      if (urgent(s)) entry.urgent = true;
      if (!ready) entry.blocked = true;
      waiting.set(workloadId(w), entry);
    }
    // A timed-out rollout keeps its rotation pending, so RolloutTimedOut stays until that rollout finishes
    // (it frees its restart slot meanwhile): pods of a stuck rollout still mount the old token.
    const settled = deps.every((w) => w.restartedFor.includes(rotation) && w.rolloutComplete);
    if (ready && notYet.length === 0 && settled) {
      const notRestarted = [...optedOutOf(s).map((w) => `${workloadId(w)} (${w.optOut ?? ''})`), ...deadHoldersOf(s).filter((c) => !c.restartable).map(consumerId)];
      actions.push({ kind: 'finish', secret: ref(s), rotation, restarted: deps.map(workloadId), notRestarted, restartsDisabled: false });
    }
  }
  // A workload waits while any Secret it uses still needs rotating or is being refilled,
  // then restarts once for all of them (also when a crash split the rotations across reconciles).
  const unsettled = new Set(rotatingNow);
  for (const entry of waiting.values()) {
    if (entry.w.secrets.some((name) => unsettled.has(`${entry.w.metadata.namespace}/${name}`))) entry.blocked = true;
  }
  const ready = [...waiting.values()].filter((e) => !e.blocked && !inFlight.includes(e.w) && (window.open || e.urgent)).sort((a, b) => workloadId(a.w).localeCompare(workloadId(b.w)));
  const heldByWindow = [...waiting.values()].filter((e) => !e.blocked && !window.open && !e.urgent).map((e) => workloadId(e.w));
  const nextOpensAt = window.nextOpen === undefined ? undefined : new Date(window.nextOpen).toISOString();
  const windowNote = heldByWindow.length ? `; outside the restart windows, ${heldByWindow.length} wait for the next one${nextOpensAt ? `, opening at ${nextOpensAt}` : ''} (set spec.legacyTokens.restartNow to restart at once)` : '';
  const slots = Math.max(0, lt.maxConcurrentRestarts - inFlight.length);
  for (const e of ready.slice(0, slots)) {
    // Keep the rotations this workload already restarted for that are still under way, so none is undone.
    const rotations = new Set([...e.rotations, ...e.w.restartedFor.filter((r) => pendingIds.has(r))]);
    actions.push({ kind: 'restart', workload: { kind: e.w.kind, namespace: e.w.metadata.namespace, name: e.w.metadata.name }, rotations: [...rotations].sort() });
  }

  // The one-shot trigger is recorded once every Secret it covers carries it.
  const request = lt.rotationRequestedAt;
  const skipped = new Set([...terminating.map((t) => t.secret), ...unused.map((u) => u.secret)]);
  const requestDone = request !== undefined && obs.secrets.filter((f) => f.serviceAccount === 'ok' && f.secret.invalidSince === undefined && !skipped.has(id(f.secret))).every((f) => f.secret.rotatedForRequest === request);
  const lastRotationRequest = requestDone ? request : previous?.lastRotationRequest;

  // Conditions.
  const dryRun = spec.dryRun;
  const rotations = actions.filter((a) => a.kind === 'rotate');
  const restarts = actions.filter((a) => a.kind === 'restart');
  const list = (xs: string[]): string => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
  const cond = (type: string, status: ConditionUpdate['status'], reason: string, message: string): ConditionUpdate => ({ type, status, reason, message });
  const retiring = [
    ...invalidated.map((x) => `${x.secret} (invalid since ${x.invalidSince}, last used ${x.lastUsed ?? 'never'})`),
    ...unused.map((x) => `${x.secret} (last used ${x.lastUsed ?? 'never'}, created ${x.created.slice(0, 10)})`),
  ];
  const keyNote = obs.keySource.kind === 'tokenReview'
    ? `; judged by TokenReview because /openid/v1/jwks cannot be read (${obs.keySource.error ?? 'no keys'}): each review marks the Secret as used (kubernetes.io/legacy-token-last-used)`
    : '';
  let tokens: ConditionUpdate;
  if (previous?.tokenControllerUnavailable && rotations.length + rotatingNow.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'False', Reason.TokenControllerUnavailable, previous.tokenControllerUnavailable);
  } else if (notReissuable.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'False', Reason.LegacyTokensNotReissuable, `legacy tokens cannot be re-issued in this cluster: kube-apiserver signs through an external signer (--service-account-signing-endpoint=${obs.externalSigning ?? ''}, KEP-740), so kube-controller-manager's tokens controller cannot sign new ones; move the users of ${list(notReissuable)} to projected serviceAccountToken volumes (TokenRequest)`);
  } else if (dryRun && rotations.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'False', Reason.TokensInvalid, `dry run: would rotate ${rotations.length} token Secret(s) in place: ${list(rotations.map((a) => `${a.secret.namespace}/${a.secret.name} (${a.triggers.join(', ')})`))}`);
  } else if (rotatingNow.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'False', Reason.Rotating, `rotating ${rotatingNow.length} token Secret(s) in place (same names; kube-controller-manager's tokens controller issues the new tokens): ${list(rotatingNow)}`);
  } else if (problems.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'False', Reason.TokensInvalid, `${problems.length} token Secret(s) need attention: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`);
  } else if (undecided.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'Unknown', Reason.ObserveFailed, `${undecided.length} token Secret(s) could not be judged: ${list(undecided)}${obs.keySource.error ? `; reading /openid/v1/jwks failed: ${obs.keySource.error}` : ''}`);
  } else if (retiring.length > 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'True', Reason.CleanerOwned, `${counts.valid} legacy token Secret(s) valid; ${retiring.length} belong to kube-controller-manager's legacy-token cleaner, never rotated: ${list(retiring)}; delete them, or move their users to TokenRequest (projected serviceAccountToken volumes)${keyNote}`);
  } else if (counts.total === 0) {
    tokens = cond(ConditionType.LegacyTokensReady, 'True', Reason.NoLegacyTokens, 'no kubernetes.io/service-account-token Secrets in the selected namespaces');
  } else {
    tokens = cond(ConditionType.LegacyTokensReady, 'True', Reason.TokensValid, `${counts.valid} legacy token Secret(s) valid (checked offline against the published signing keys) and carry the cluster CA${terminating.length ? `; ${terminating.length} being deleted, left alone` : ''}${keyNote}`);
  }

  const deadAll = obs.consumers.filter(holdsDeadToken);
  const deadHolders = lt.restartWorkloads ? deadAll.filter((c) => !c.restartable) : deadAll;
  const wouldNotRestart = dryRun ? obs.consumers.filter((c) => !c.restartable && rotations.some((a) => a.secret.namespace === c.namespace && a.secret.name === c.secret)) : [];
  const cronNote = (cs: TokenConsumer[]): string => {
    const crons = [...new Set(cs.flatMap((c) => (c.cronJob ? [`${c.namespace}/${c.cronJob}`] : [])))];
    return crons.length ? `; CronJob ${crons.join(', ')} needs no restart: its next Job reads the re-issued token` : '';
  };
  const waitingNames = [...waiting.values()].map((e) => workloadId(e.w));
  const optedOut = obs.workloads.filter((w) => w.optOut && w.secrets.some((name) => secretsById.has(`${w.metadata.namespace}/${name}`)));
  let workloads: ConditionUpdate;
  if (!lt.restartWorkloads) {
    workloads = deadAll.length > 0
      ? cond(ConditionType.WorkloadsRestarted, 'False', Reason.RestartsDisabled, `spec.legacyTokens.restartWorkloads is false and ${deadAll.length} running pod(s) still hold a replaced token: ${list(deadAll.map(consumerId))}; restart them`)
      : cond(ConditionType.WorkloadsRestarted, 'True', Reason.RestartsDisabled, 'spec.legacyTokens.restartWorkloads is false; no running pod holds a replaced token');
  } else if (dryRun && (restarts.length > 0 || rotations.length > 0)) {
    const wouldRestart = [...new Set(rotations.flatMap((a) => usersOf(a.secret).filter((w) => !w.optOut).map(workloadId)))];
    workloads = cond(ConditionType.WorkloadsRestarted, 'False', Reason.RestartsPending, `dry run: would restart ${wouldRestart.length} workload(s) after rotating: ${list(wouldRestart)}${wouldNotRestart.length ? `; could not restart ${wouldNotRestart.length} pod(s): ${list(wouldNotRestart.map(consumerId))}` : ''}`);
  } else if (timedOut.length > 0) {
    workloads = cond(ConditionType.WorkloadsRestarted, 'False', Reason.RolloutTimedOut, `rollouts did not finish within ${formatDuration(lt.rolloutTimeoutMs)}: ${list(timedOut.map(workloadId))}; check them with kubectl rollout status`);
  } else if (waiting.size > 0 || inFlight.length > 0 || rotatingNow.length > 0) {
    workloads = cond(ConditionType.WorkloadsRestarted, 'False', Reason.RestartsPending, `${inFlight.length} rollout(s) in progress (at most ${lt.maxConcurrentRestarts} at a time), ${waitingNames.length} waiting: ${list([...inFlight.map(workloadId), ...waitingNames])}${windowNote}`);
  } else if (manual.length > 0) {
    workloads = cond(ConditionType.WorkloadsRestarted, 'False', Reason.ManualRestartRequired, `${manual.length} workload(s) opted out of restarts (${A.RESTART}: "false") use a token Secret rotated since they last restarted: ${list(manual.map((m) => `${m.workload} (${m.optOut})`))}; restart them (kubectl rollout restart)${deadHolders.length ? `; and ${deadHolders.length} running pod(s) the operator does not restart still hold a replaced token` : ''}`);
  } else if (deadHolders.length > 0) {
    workloads = cond(ConditionType.WorkloadsRestarted, 'False', Reason.ConsumersNotRestarted, `${deadHolders.length} running pod(s) still hold a replaced token and have no owner the operator restarts: ${list(deadHolders.map(consumerId))}; delete or recreate them${cronNote(deadHolders)}`);
  } else if (obs.workloads.some((w) => w.restartedAt)) {
    workloads = cond(ConditionType.WorkloadsRestarted, 'True', Reason.AllRestarted, 'every Deployment, StatefulSet and DaemonSet that uses a rotated token Secret has been restarted and rolled out, and no other running pod holds a replaced token');
  } else {
    workloads = cond(ConditionType.WorkloadsRestarted, 'True', Reason.NothingToRestart, 'no workload needed a restart');
  }

  const findings: Finding[] = [
    ...problems.map((p): Finding => ({ subject: `secret ${p.split(':')[0] ?? ''}`, health: 'action', message: p })),
    ...rotations.map((a): Finding => ({ subject: `secret ${a.secret.namespace}/${a.secret.name}`, health: 'action', message: `${dryRun ? 'would rotate' : 'rotating'}: ${a.triggers.join(', ')}` })),
    ...[...new Set(rotations.flatMap((a) => usersOf(a.secret)))]
      .map((w): Finding => ({ subject: workloadId(w), health: 'action', message: w.optOut ? `mounts a token Secret that needs rotation; opted out (${w.optOut}): restart it yourself after it` : 'mounts a token Secret that needs rotation: restart after it' })),
    ...manual.map((m): Finding => ({ subject: m.workload, health: 'action', message: `opted out (${m.optOut}) and uses ${m.secret}, rotated since it last restarted: ${m.note}` })),
    ...deadHolders.map((c): Finding => ({ subject: `pod ${c.namespace}/${c.pod}`, health: 'action', message: `still holds the replaced token of secret ${c.secret} (${c.how.join(', ')}); owner ${c.owner}: the operator does not restart it${c.cronJob ? ` (CronJob ${c.cronJob}'s next Job reads the new token)` : ''}` })),
    ...notReissuable.map((x): Finding => ({ subject: `secret ${x.split(' ')[0] ?? ''}`, health: 'action', message: 'needs rotation, but legacy tokens cannot be re-issued in this cluster (external signing): move its users to projected tokens' })),
    ...(tokens.status === 'False' && tokens.reason === Reason.TokenControllerUnavailable ? [{ subject: 'kube-controller-manager', health: 'action' as const, message: tokens.message }] : []),
  ];

  return {
    actions,
    dryRun,
    tokenControllerTimeoutMs: lt.tokenControllerTimeoutMs,
    report: {
      conditions: [tokens, workloads],
      findings,
      // Held only by a closed window: wake when it opens, not every few seconds.
      requeueAfterMs: dryRun || (inFlight.length === 0 && waiting.size === 0 && rotatingNow.length === 0) ? undefined
        : inFlight.length === 0 && rotatingNow.length === 0 && heldByWindow.length === waiting.size && window.nextOpen !== undefined
          ? Math.min(3600_000, Math.max(1000, window.nextOpen - obs.now + 500)) : 3000,
      summary: {
        secrets: counts.total, valid: counts.valid, invalid: counts.invalid, orphaned: counts.orphaned, rotated: counts.rotated,
        keySource: obs.keySource.kind === 'published' ? `/openid/v1/jwks (${obs.keySource.keys} key(s)); no TokenReview` : obs.keySource.kind === 'tokenReview' ? 'TokenReview (fallback: /openid/v1/jwks unreadable; each review marks the Secret used)' : 'none',
        ...(invalidated.length ? { invalidated: invalidated.slice(0, 20), invalidatedCount: invalidated.length } : {}),
        ...(unused.length ? { unused: unused.slice(0, 20), unusedCount: unused.length } : {}),
        ...(terminating.length ? { terminating: terminating.slice(0, 20), terminatingCount: terminating.length } : {}),
        ...(undecided.length ? { undecided: undecided.slice(0, 10) } : {}),
        ...(deadHolders.length || manual.length ? { notRestarted: [...manual, ...deadHolders.map(consumerView)].slice(0, 20), notRestartedCount: manual.length + deadHolders.length } : {}),
        ...(optedOut.length ? { restartsOptedOut: optedOut.slice(0, 20).map((w) => `${workloadId(w)} (${w.optOut ?? ''})`), restartsOptedOutCount: optedOut.length } : {}),
        ...(wouldNotRestart.length ? { wouldNotRestart: wouldNotRestart.slice(0, 20).map(consumerView) } : {}),
        rotating: rotatingNow.length, awaitingRestart: waitingNames.length, rolloutsInProgress: inFlight.length,
        ...(lt.restartWindows.length ? { restartWindow: { open: window.open, ...(nextOpensAt ? { nextOpensAt } : {}), ...(heldByWindow.length ? { waiting: heldByWindow.slice(0, 20) } : {}) } } : {}),
        ...(problems.length ? { attention: problems.slice(0, 10) } : {}),
        ...(rotations.length ? { [dryRun ? 'wouldRotate' : 'rotatingNow']: rotations.slice(0, 20).map((a) => `${a.secret.namespace}/${a.secret.name}: ${a.triggers.join(',')}`) } : {}),
        ...(waitingNames.length || inFlight.length ? { waitingWorkloads: [...inFlight.map(workloadId), ...waitingNames].slice(0, 20) } : {}),
        ...(timedOut.length ? { rolloutsTimedOut: timedOut.length, timedOutWorkloads: timedOut.map(workloadId).slice(0, 20) } : {}),
        ...(dryRun && rotations.length ? { wouldRestart: [...new Set(rotations.flatMap((a) => usersOf(a.secret).filter((w) => !w.optOut).map(workloadId)))].slice(0, 20) } : {}),
        ...(lastRotationRequest ? { lastRotationRequest } : {}),
      },
    },
  };
}
