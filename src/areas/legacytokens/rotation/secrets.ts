// What to do with each legacy token Secret: named rules in order, the first that speaks for a
// Secret decides (leave it to its deletion, to the cleaner, report it, rotate it, …).
import { firstVerdict, when, type Rule, type Verdict } from '../../../api/rules.ts';
import { SecretDecision } from '../../../api/reasons.ts';
import type { ResolvedSpec } from '../../../api/defaults.ts';
import type { LegacyTokensObservation, SecretFinding } from '../observe.ts';
import { nextTimeFlip, pendingReissueRejected, reissuedStillInvalid, rotationId, triggersFor, unusedBeyondCleanup, warrantsRotation } from './triggers.ts';
import { id, ref, type LegacyTokensAction } from '../types.ts';

/** Every Secret sorted into what happens to it; the counts and lists status reports. */
export interface Triage {
  /** revive and rotate, in Secret order */
  actions: LegacyTokensAction[];
  counts: { total: number; valid: number; invalid: number; orphaned: number; awaitingToken: number; rotated: number };
  problems: string[];
  /** Secrets blanked and awaiting their new token, and those this plan rotates (not in dry run) */
  rotatingNow: string[];
  /** blanked by a rotation, awaiting the tokens controller */
  awaitingRefill: { namespace: string; name: string; rotatedAt: string | undefined }[];
  terminating: { secret: string; what: string; since: string | undefined }[];
  invalidated: { secret: string; invalidSince: string; lastUsed: string | undefined }[];
  unused: { secret: string; lastUsed: string | undefined; created: string }[];
  /** Secrets whose token could not be judged, and why (the common cause is in the observation's keySource) */
  undecided: { secret: string; detail: string }[];
  notReissuable: string[];
}

export interface SecretRuleContext {
  spec: ResolvedSpec;
  observation: LegacyTokensObservation;
  /** when the current rotation request was first seen (see createdSinceRequest) */
  requestSeenAtMs?: number | undefined;
}

/** What a Secret rule is asked about: one Secret, in its context. */
export interface SecretCase {
  f: SecretFinding;
  c: SecretRuleContext;
}

/**
 * A Secret rule in the one shape every area uses (src/api/rules.ts): the first that speaks decides the
 * Secret. Its status says whether the Secret is fine as it is (True), needs something (False) or could
 * not be judged (Unknown); its reason (SecretDecision) says which list of the triage it joins; its
 * actions are the writes it calls for (rotate, revive).
 */
export type SecretRule = Rule<SecretCase, LegacyTokensAction>;

const triggersOf = (f: SecretFinding, c: SecretRuleContext) =>
  triggersFor(f, { spec: c.spec.legacyTokens, now: c.observation.now, apiservers: c.observation.apiservers, requestSeenAtMs: c.requestSeenAtMs });

function reissueProblem(f: SecretFinding): string {
  const s = f.secret;
  // Blame the signing key only with evidence: the re-issued token's signature fails against the published keys.
  const keyMismatch = f.verdict.reason === 'SignatureInvalid' || f.verdict.reason === 'KeyNotPublished';
  return keyMismatch
    ? `${id(s)}: the tokens controller re-issued ${s.rotatedFrom === s.tokenHash ? 'the same token' : 'a token'} whose signature verifies against none of the keys the API server publishes: kube-controller-manager signs with a key the API server does not accept — make --service-account-private-key-file (kube-controller-manager) match --service-account-key-file (kube-apiserver)`
    : `${id(s)}: the re-issued token is still rejected: ${f.verdict.detail}`;
}

/** Rotate in place, or (external signing) report that it cannot be re-issued. */
function rotateOrReport({ f, c }: SecretCase): Verdict<LegacyTokensAction> {
  const s = f.secret;
  const triggers = triggersOf(f, c);
  if (c.observation.externalSigning) return { status: 'False', reason: SecretDecision.NotReissuable, message: `${id(s)} (${triggers.join(', ')})` };
  const request = triggers.includes('Requested') ? c.spec.legacyTokens.rotationRequestedAt : undefined;
  const action: LegacyTokensAction = {
    kind: 'rotate',
    secret: ref(s),
    rotation: rotationId(s, request),
    triggers,
    request,
    tokenHash: s.tokenHash,
    apiservers: c.observation.apiservers,
  };
  return { status: 'False', reason: SecretDecision.Rotate, message: `${id(s)}: rotate (${triggers.join(', ')})`, actions: [action] };
}

export const SECRET_RULES: readonly SecretRule[] = [
  // Being deleted is not being dead: nothing of it is rotated or restarted.
  when(
    'being deleted',
    ({ f }) => f.terminating !== undefined,
    ({ f }) => ({
      status: 'True',
      reason: SecretDecision.Terminating,
      message: `${id(f.secret)}: its ${f.terminating ?? ''} is being deleted; left alone`,
    }),
  ),
  // The legacy-token cleaner owns it: it deletes it a cleanup period later unless someone uses it.
  when(
    'invalidated by the cleaner',
    ({ f }) => f.secret.invalidSince !== undefined,
    ({ f, c }) =>
      c.spec.legacyTokens.reviveInvalidated
        ? {
            status: 'False',
            reason: SecretDecision.Revive,
            message: `${id(f.secret)}: revive (spec.legacyTokens.reviveInvalidated)`,
            actions: [{ kind: 'revive', secret: ref(f.secret) }],
          }
        : {
            status: 'True',
            reason: SecretDecision.Invalidated,
            message: `${id(f.secret)}: invalidated by the legacy-token cleaner on ${f.secret.invalidSince ?? ''}`,
          },
  ),
  when(
    'orphaned',
    ({ f }) => f.serviceAccount !== 'ok',
    ({ f }) => ({
      status: 'False',
      reason: SecretDecision.Orphaned,
      message: `${id(f.secret)}: ServiceAccount ${f.secret.serviceAccountName || '(none)'} ${f.serviceAccount === 'missing' ? 'does not exist' : 'was recreated (UID mismatch)'}; orphans are never rotated — delete the Secret if nothing uses it`,
    }),
  ),
  when(
    'unused beyond the cleanup period',
    ({ f, c }) => unusedBeyondCleanup(f.secret, c.observation.now),
    ({ f }) => ({
      status: 'True',
      reason: SecretDecision.Unused,
      message: `${id(f.secret)}: unused beyond the legacy-token cleaner's period`,
    }),
  ),
  // Blanked for rotation (or just created): the tokens controller fills it.
  when(
    'awaiting its token',
    ({ f }) => !f.secret.tokenHash,
    ({ f }) => ({
      status: 'Unknown',
      reason: SecretDecision.AwaitingToken,
      message: `${id(f.secret)}: awaiting its token from the tokens controller`,
    }),
  ),
  when(
    'undecided',
    ({ f }) => f.verdict.validity === 'undecided',
    ({ f }) => ({ status: 'Unknown', reason: SecretDecision.Undecided, message: f.verdict.detail }),
  ),
  when(
    're-issued and still rejected',
    ({ f, c }) => reissuedStillInvalid(f, c.observation.apiservers) || pendingReissueRejected(f, c.observation.apiservers),
    ({ f }) => ({ status: 'False', reason: SecretDecision.ReissuedRejected, message: reissueProblem(f) }),
  ),
  when('rotate', ({ f, c }) => warrantsRotation(f, triggersOf(f, c)), rotateOrReport),
  when(
    'valid',
    ({ f }) => f.verdict.validity === 'valid' && f.staleCA !== true,
    ({ f }) => ({ status: 'True', reason: SecretDecision.Valid, message: `${id(f.secret)}: valid` }),
  ),
  when(
    'needs a trigger rotateOn leaves out',
    () => true,
    ({ f }) => {
      const why = f.verdict.validity !== 'valid' ? `token ${f.verdict.detail}` : "ca.crt differs from the namespace's kube-root-ca.crt";
      return {
        status: 'False',
        reason: SecretDecision.TriggerExcluded,
        message: `${id(f.secret)}: ${why}; rotateOn does not include the trigger that would rotate it`,
      };
    },
  ),
];

/** The name of the rule that decides a Secret (for tests and debugging). */
export function decidingRule(f: SecretFinding, c: SecretRuleContext): string {
  return firstVerdict(SECRET_RULES, { f, c }).rule;
}

/** Records one Secret's verdict in the triage: the list it joins, its counts, its actions. */
function record(t: Triage, { f, c }: SecretCase, v: Verdict<LegacyTokensAction>): void {
  const s = f.secret;
  t.actions.push(...(v.actions ?? []));
  switch (v.reason) {
    case SecretDecision.Terminating:
      t.terminating.push({ secret: id(s), what: f.terminating ?? '', since: f.terminating === 'Secret' ? s.metadata.deletionTimestamp : undefined });
      return;
    case SecretDecision.Invalidated:
      t.invalidated.push({ secret: id(s), invalidSince: s.invalidSince ?? '', lastUsed: s.lastUsed });
      return;
    case SecretDecision.Orphaned:
      t.counts.orphaned++;
      t.problems.push(v.message);
      return;
    case SecretDecision.Unused:
      t.unused.push({ secret: id(s), lastUsed: s.lastUsed, created: s.metadata.creationTimestamp });
      return;
    case SecretDecision.AwaitingToken:
      t.counts.awaitingToken++;
      if (s.rotationState !== 'pending') return;
      t.rotatingNow.push(id(s));
      t.awaitingRefill.push({ namespace: s.metadata.namespace, name: s.metadata.name, rotatedAt: s.rotatedAt });
      return;
    case SecretDecision.Undecided:
      t.undecided.push({ secret: id(s), detail: v.message });
      return;
    case SecretDecision.NotReissuable:
      t.notReissuable.push(v.message);
      t.counts.invalid++;
      return;
    case SecretDecision.Rotate:
      if (!c.spec.dryRun) t.rotatingNow.push(id(s));
      return;
    case SecretDecision.Valid:
      t.counts.valid++;
      return;
    case SecretDecision.ReissuedRejected:
    case SecretDecision.TriggerExcluded:
      t.counts.invalid++;
      t.problems.push(v.message);
      return;
    default:
  }
}

/** Everything a Secret rule reads besides the finding and the clock. */
const basisOf = (c: SecretRuleContext): string =>
  JSON.stringify([c.spec.legacyTokens, c.spec.dryRun, c.observation.apiservers, c.observation.externalSigning ?? null, c.requestSeenAtMs ?? null]);

/**
 * The deciding verdict for a Secret, kept from an earlier triage while it still holds (observation.judged): observe
 * hands back the same finding while its Secret, ServiceAccount, root CA, namespace and the keys are unchanged, so a
 * rotation's reconcile judges again only the Secrets that changed. A verdict is kept while what the rules read
 * besides the finding is the same (`basis`) and until the next instant a time-judged rule may flip (nextTimeFlip).
 * The triage stays a function of its arguments: what is kept only spares recomputing it.
 */
function verdictFor(f: SecretFinding, c: SecretRuleContext, basis: string): Verdict<LegacyTokensAction> {
  const now = c.observation.now;
  const verdicts = c.observation.judged?.verdicts;
  const kept = verdicts?.get(f);
  // A clock set back may undo a time-judged verdict: it holds from when it was judged until its next flip.
  if (kept && kept.basis === basis && kept.from <= now && now < kept.until) return kept.verdict;
  const verdict = firstVerdict(SECRET_RULES, { f, c });
  verdicts?.set(f, { basis, from: now, until: nextTimeFlip(f.secret, c.spec.legacyTokens, now), verdict });
  return verdict;
}

/** Runs every Secret through the rules; the first rule that claims it decides. */
export function triageSecrets(spec: ResolvedSpec, observation: LegacyTokensObservation, requestSeenAtMs?: number): Triage {
  const t: Triage = {
    actions: [],
    problems: [],
    rotatingNow: [],
    awaitingRefill: [],
    terminating: [],
    invalidated: [],
    unused: [],
    undecided: [],
    notReissuable: [],
    counts: {
      total: observation.secrets.length,
      valid: 0,
      invalid: 0,
      orphaned: 0,
      awaitingToken: 0,
      rotated: observation.secrets.filter((f) => f.secret.rotation !== undefined).length,
    },
  };
  const c = { spec, observation, requestSeenAtMs };
  const basis = basisOf(c);
  for (const f of observation.secrets) record(t, { f, c }, verdictFor(f, c, basis));
  return t;
}
