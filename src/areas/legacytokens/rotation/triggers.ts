// Why a Secret is rotated: the triggers, each a named rule, and the two situations where
// rotating again cannot help (the tokens controller re-issued a token the same API
// servers still reject).
import { createHash } from 'node:crypto';
import type { ResolvedSpec } from '../../../api/defaults.ts';
import { LEGACY_TOKEN_CLEANUP_PERIOD_MS } from '../../../kube/token-secrets.ts';
import type { TokenSecret } from '../caches.ts';
import type { SecretFinding } from '../observe.ts';
import type { Trigger } from '../types.ts';

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
export function reissuedStillInvalid(f: SecretFinding, apiservers: string): boolean {
  const s = f.secret;
  return s.rotatedFrom !== undefined && s.rotatedFrom === s.tokenHash && s.rotatedUnder === apiservers && f.verdict.validity === 'invalid';
}

/**
 * A rotation still under way (its dependents restarting, or a rollout stuck past
 * rolloutTimeout) whose re-issued token the same API servers reject: the same
 * signing-key mismatch. Once the API servers restart (a new key, maybe), the
 * dead token is rotated again even though its rotation is still pending.
 */
export function pendingReissueRejected(f: SecretFinding, apiservers: string): boolean {
  return f.secret.rotationState === 'pending' && f.secret.rotatedUnder === apiservers && f.verdict.validity === 'invalid';
}

/** kube-controller-manager's default --legacy-service-account-token-clean-up-period (one year). */
export const CLEANUP_PERIOD_MS = LEGACY_TOKEN_CLEANUP_PERIOD_MS;

/**
 * The instant after which a Secret counts as unused beyond the cleaner's period, judged as the cleaner does
 * (legacy_serviceaccount_token_cleaner.go): created before the cutoff, and its last-used date (or, never used, its
 * creation) more than a day before it. Infinity: never (no readable creation or last-used date).
 */
function unusedAfter(s: TokenSecret, periodMs: number): number {
  const created = Date.parse(s.metadata.creationTimestamp);
  const used = s.lastUsed === undefined ? -Infinity : Date.parse(`${s.lastUsed}T00:00:00Z`) + 24 * 3600_000;
  return Number.isFinite(created) && !Number.isNaN(used) ? Math.max(created, used) + periodMs : Infinity;
}

/** The instant after which a Secret is older than maxAge, counted from its last rotation (Infinity: no maxAge). */
function maxAgeAfter(s: TokenSecret, maxAgeMs: number | undefined): number {
  const born = Date.parse(s.rotatedAt ?? s.metadata.creationTimestamp);
  return maxAgeMs !== undefined && Number.isFinite(born) ? born + maxAgeMs : Infinity;
}

/** Unused for longer than the cleaner's period (unusedAfter): the cleaner's to retire, not the operator's to rotate. */
export function unusedBeyondCleanup(s: TokenSecret, now: number, periodMs = CLEANUP_PERIOD_MS): boolean {
  return now > unusedAfter(s, periodMs);
}

/**
 * The next instant after `now` at which a time-judged rule may speak otherwise for this Secret, nothing else
 * changing: when it becomes unused beyond the cleanup period, or older than maxAge. Both only turn true as time
 * passes, so a verdict that holds now holds until then (Infinity: no such instant). Secret rules add any rule that
 * reads the clock here, or a verdict kept across reconciles (rotation/secrets.ts) would outlive it.
 */
export function nextTimeFlip(s: TokenSecret, spec: Pick<ResolvedSpec['legacyTokens'], 'maxAgeMs'>, now: number, periodMs = CLEANUP_PERIOD_MS): number {
  // Each turns true the first millisecond after its instant; one already true does not flip back.
  const pending = [unusedAfter(s, periodMs), maxAgeAfter(s, spec.maxAgeMs)].filter((t) => t >= now && t < Infinity);
  return Math.min(Infinity, ...pending.map((t) => t + 1));
}

export interface TriggerContext {
  spec: ResolvedSpec['legacyTokens'];
  now: number;
  apiservers: string;
  /** when this operator first saw spec.legacyTokens.rotationRequestedAt's current value (status.legacyTokens.rotationRequest) */
  requestSeenAtMs?: number | undefined;
}

/**
 * The Secret object was created after the operator first saw the rotation request: its token was
 * issued since (the tokens controller filled it) or is a copy of one that a rotation would give back
 * byte for byte (a legacy token has no time claims; a copy signed by a key no longer published is
 * caught by InvalidToken). So a Secret re-created under its name mid-rotation, as a GitOps tool or a
 * backup restore does, is not rotated (nor its dependents restarted) a second time for one request.
 */
export function createdSinceRequest(s: TokenSecret, requestSeenAtMs: number | undefined): boolean {
  const created = Date.parse(s.metadata.creationTimestamp);
  return requestSeenAtMs !== undefined && Number.isFinite(created) && created >= requestSeenAtMs;
}

/** One trigger: it fires for a Secret, or not. The one-shot request is not gated by rotateOn. */
export interface TriggerRule {
  trigger: Trigger;
  fires: (f: SecretFinding, c: TriggerContext) => boolean;
}

export const TRIGGER_RULES: readonly TriggerRule[] = [
  {
    trigger: 'InvalidToken',
    fires: (f, c) =>
      c.spec.rotateOn.includes('InvalidToken') &&
      f.verdict.validity === 'invalid' &&
      !pendingReissueRejected(f, c.apiservers) &&
      !reissuedStillInvalid(f, c.apiservers),
  },
  { trigger: 'StaleCA', fires: (f, c) => c.spec.rotateOn.includes('StaleCA') && f.staleCA === true },
  {
    trigger: 'MaxAge',
    fires: (f, c) => c.spec.rotateOn.includes('MaxAge') && c.now > maxAgeAfter(f.secret, c.spec.maxAgeMs),
  },
  {
    trigger: 'Requested',
    fires: (f, c) =>
      c.spec.rotationRequestedAt !== undefined &&
      f.secret.rotatedForRequest !== c.spec.rotationRequestedAt &&
      !createdSinceRequest(f.secret, c.requestSeenAtMs),
  },
];

/** Every trigger that fires for the Secret, in rule order. */
export function triggersFor(f: SecretFinding, c: TriggerContext): Trigger[] {
  return TRIGGER_RULES.filter((r) => r.fires(f, c)).map((r) => r.trigger);
}

/** Never blank a token that still works unless a trigger other than invalidity asks for it. */
export function warrantsRotation(f: SecretFinding, triggers: readonly Trigger[]): boolean {
  return triggers.length > 0 && !(f.verdict.validity === 'valid' && triggers.every((t) => t === 'InvalidToken'));
}
