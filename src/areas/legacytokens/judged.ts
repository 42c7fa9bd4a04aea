// What the legacy-token area keeps across reconciles so that a rotation's reconcile (about one a second over
// 5,000 Secrets) judges again only what changed: each Secret's finding, with what it was judged from (observe),
// and the Secret rules' verdict on each finding, with what besides the finding it rests on and until when
// (rotation/secrets.ts). Made once at wiring time (index.ts); weakly held, so a Secret gone from the cache is
// dropped with its entries. Dropping it all changes nothing but the cost: every entry is checked before use.
import type { Verdict } from '../../api/rules.ts';
import type { TokenSecret } from './caches.ts';
import type { SecretFinding } from './observe.ts';
import type { LegacyTokensAction } from './types.ts';

/** What a Secret's finding is judged from besides the Secret: cached objects by identity, the rest by value. */
export interface FindingInputs {
  sa: object | undefined;
  claimed: object | undefined;
  root: object | undefined;
  keysVersion: string | undefined;
  namespaceDeleted: string | undefined;
}

export const sameInputs = (a: FindingInputs, b: FindingInputs): boolean =>
  a.sa === b.sa && a.claimed === b.claimed && a.root === b.root && a.keysVersion === b.keysVersion && a.namespaceDeleted === b.namespaceDeleted;

/** A Secret rule's verdict on a finding: valid while `basis` is unchanged, from `from` until `until` (ms). */
export interface KeptVerdict {
  basis: string;
  from: number;
  until: number;
  verdict: Verdict<LegacyTokensAction>;
}

export class JudgedSecrets {
  /** the informer replaces a Secret's object when it changes: keyed by that object */
  readonly findings = new WeakMap<TokenSecret, { inputs: FindingInputs; finding: SecretFinding }>();
  /** observe hands back the same finding while nothing it rests on changed: keyed by that finding */
  readonly verdicts = new WeakMap<SecretFinding, KeptVerdict>();
}
