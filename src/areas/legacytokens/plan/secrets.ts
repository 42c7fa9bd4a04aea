// What to do with each legacy token Secret: named rules in order, the first that claims a
// Secret decides (leave it to its deletion, to the cleaner, report it, rotate it, …).
import type { ResolvedSpec } from '../../../api/defaults.ts';
import type { LegacyTokensObservation, SecretFinding } from '../observe.ts';
import { pendingReissueRejected, reissuedStillInvalid, rotationId, triggersFor, unusedBeyondCleanup, warrantsRotation } from './triggers.ts';
import { id, ref, type LegacyTokensAction } from './types.ts';

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

/** A named check: `claims` says whether it decides this Secret; `apply` records the decision. */
export interface SecretRule {
  name: string;
  claims: (f: SecretFinding, c: SecretRuleContext) => boolean;
  apply: (f: SecretFinding, c: SecretRuleContext, t: Triage) => void;
}

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

function rotateOrReport(f: SecretFinding, c: SecretRuleContext, t: Triage): void {
  const s = f.secret;
  const triggers = triggersOf(f, c);
  if (c.observation.externalSigning) {
    t.notReissuable.push(`${id(s)} (${triggers.join(', ')})`);
    t.counts.invalid++;
    return;
  }
  const request = triggers.includes('Requested') ? c.spec.legacyTokens.rotationRequestedAt : undefined;
  t.actions.push({
    kind: 'rotate',
    secret: ref(s),
    rotation: rotationId(s, request),
    triggers,
    request,
    tokenHash: s.tokenHash,
    apiservers: c.observation.apiservers,
  });
  if (!c.spec.dryRun) t.rotatingNow.push(id(s));
}

export const SECRET_RULES: readonly SecretRule[] = [
  {
    // Being deleted is not being dead: nothing of it is rotated or restarted.
    name: 'being deleted',
    claims: (f) => f.terminating !== undefined,
    apply: (f, _c, t) => {
      t.terminating.push({
        secret: id(f.secret),
        what: f.terminating ?? '',
        since: f.terminating === 'Secret' ? f.secret.metadata.deletionTimestamp : undefined,
      });
    },
  },
  {
    // The legacy-token cleaner owns it: it deletes it a cleanup period later unless someone uses it.
    name: 'invalidated by the cleaner',
    claims: (f) => f.secret.invalidSince !== undefined,
    apply: (f, c, t) => {
      const s = f.secret;
      if (c.spec.legacyTokens.reviveInvalidated) t.actions.push({ kind: 'revive', secret: ref(s) });
      else t.invalidated.push({ secret: id(s), invalidSince: s.invalidSince ?? '', lastUsed: s.lastUsed });
    },
  },
  {
    name: 'orphaned',
    claims: (f) => f.serviceAccount !== 'ok',
    apply: (f, _c, t) => {
      const s = f.secret;
      t.counts.orphaned++;
      t.problems.push(
        `${id(s)}: ServiceAccount ${s.serviceAccountName || '(none)'} ${f.serviceAccount === 'missing' ? 'does not exist' : 'was recreated (UID mismatch)'}; orphans are never rotated — delete the Secret if nothing uses it`,
      );
    },
  },
  {
    name: 'unused beyond the cleanup period',
    claims: (f, c) => unusedBeyondCleanup(f.secret, c.observation.now),
    apply: (f, _c, t) => {
      t.unused.push({ secret: id(f.secret), lastUsed: f.secret.lastUsed, created: f.secret.metadata.creationTimestamp });
    },
  },
  {
    // Blanked for rotation (or just created): the tokens controller fills it.
    name: 'awaiting its token',
    claims: (f) => !f.secret.tokenHash,
    apply: (f, _c, t) => {
      t.counts.awaitingToken++;
      if (f.secret.rotationState !== 'pending') return;
      t.rotatingNow.push(id(f.secret));
      t.awaitingRefill.push({ namespace: f.secret.metadata.namespace, name: f.secret.metadata.name, rotatedAt: f.secret.rotatedAt });
    },
  },
  {
    name: 'undecided',
    claims: (f) => f.verdict.validity === 'undecided',
    apply: (f, _c, t) => {
      t.undecided.push({ secret: id(f.secret), detail: f.verdict.detail });
    },
  },
  {
    name: 're-issued and still rejected',
    claims: (f, c) => reissuedStillInvalid(f, c.observation.apiservers) || pendingReissueRejected(f, c.observation.apiservers),
    apply: (f, _c, t) => {
      t.counts.invalid++;
      t.problems.push(reissueProblem(f));
    },
  },
  { name: 'rotate', claims: (f, c) => warrantsRotation(f, triggersOf(f, c)), apply: rotateOrReport },
  {
    name: 'valid',
    claims: (f) => f.verdict.validity === 'valid' && f.staleCA !== true,
    apply: (_f, _c, t) => {
      t.counts.valid++;
    },
  },
  {
    name: 'needs a trigger rotateOn leaves out',
    claims: () => true,
    apply: (f, _c, t) => {
      t.counts.invalid++;
      const why = f.verdict.validity !== 'valid' ? `token ${f.verdict.detail}` : "ca.crt differs from the namespace's kube-root-ca.crt";
      t.problems.push(`${id(f.secret)}: ${why}; rotateOn does not include the trigger that would rotate it`);
    },
  },
];

/** The name of the rule that decides a Secret (for tests and debugging). */
export function decidingRule(f: SecretFinding, c: SecretRuleContext): string | undefined {
  return SECRET_RULES.find((r) => r.claims(f, c))?.name;
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
  for (const f of observation.secrets) SECRET_RULES.find((r) => r.claims(f, c))?.apply(f, c, t);
  return t;
}
