// Would kube-apiserver accept this legacy token? Decided offline, in the order
// its authenticator checks (kubernetes/kubernetes pkg/serviceaccount/jwt.go,
// then legacy.go's legacyValidator.Validate): signature against the published
// keys and the legacy issuer, the claims, the Secret (exists, not being deleted,
// still holds this token), the ServiceAccount (exists, not being deleted, same
// UID), then the legacy-token cleaner's invalid-since label. Nothing here
// authenticates, so nothing stamps legacy-token-last-used.
import { LEGACY_ISSUER, type KeySet, type TokenFacts } from '../../../kube/service-account-keys.ts';
import type { TokenSecret } from '../caches.ts';

export type VerdictReason =
  | 'Valid'
  | 'NoToken'
  | 'Malformed'
  | 'ForeignIssuer'
  | 'KeyNotPublished'
  | 'SignatureInvalid'
  | 'ClaimsInvalid'
  | 'OtherSecret'
  | 'SecretTerminating'
  | 'ServiceAccountMissing'
  | 'ServiceAccountTerminating'
  | 'ServiceAccountUidMismatch'
  | 'Invalidated'
  | 'Undecided';

export interface TokenVerdict {
  /** valid/invalid: what the API server would answer; noToken: nothing to judge yet; undecided: needs the token again */
  validity: 'valid' | 'invalid' | 'noToken' | 'undecided';
  reason: VerdictReason;
  /** for status and Events (never the token) */
  detail: string;
  /** how it was decided */
  source: 'offline' | 'tokenReview';
}

export interface AccountFacts {
  uid: string;
  deletionTimestamp?: string | undefined;
}

const v = (validity: TokenVerdict['validity'], reason: VerdictReason, detail: string): TokenVerdict => ({ validity, reason, detail, source: 'offline' });

/**
 * The offline verdict. `facts` defaults to what the cache decided when it saw the
 * Secret; `account` is the ServiceAccount the claims name (undefined: it does not exist).
 */
export function offlineVerdict(
  secret: TokenSecret,
  account: AccountFacts | undefined,
  keys: KeySet | undefined,
  facts: TokenFacts | undefined = secret.token,
  assumeSigned = false,
): TokenVerdict {
  if (!secret.tokenHash || !facts) return v('noToken', 'NoToken', 'the Secret holds no token (yet)');
  if (facts.malformed) return v('invalid', 'Malformed', `the token is not a service-account JWT: ${facts.malformed}`);
  if (facts.issuer !== LEGACY_ISSUER)
    return v('invalid', 'ForeignIssuer', `the token's issuer is ${JSON.stringify(facts.issuer ?? '')}, not the legacy issuer ${LEGACY_ISSUER}`);
  if (assumeSigned) {
    // every check but the signature (to tell which Secrets a TokenReview would have to decide)
  } else if (!keys) {
    return v('undecided', 'Undecided', 'the published signing keys are not known');
  } else if (facts.signedBy !== undefined) {
    if (!keys.keys.some((k) => k.thumbprint === facts.signedBy))
      return v('invalid', 'KeyNotPublished', `signed by a key the API server no longer publishes (kid ${facts.kid ?? 'none'})`);
  } else if (facts.checkedAgainst === keys.version) {
    return v(
      'invalid',
      'SignatureInvalid',
      `its signature verifies against none of the ${keys.keys.length} key(s) the API server publishes (kid ${facts.kid ?? 'none'})`,
    );
  } else {
    return v('undecided', 'Undecided', 'the published keys changed since the token was checked');
  }
  const { namespace, secretName, serviceAccountName, serviceAccountUid } = facts;
  if (!namespace || !secretName || !serviceAccountName || !serviceAccountUid || facts.subject !== `system:serviceaccount:${namespace}:${serviceAccountName}`) {
    return v('invalid', 'ClaimsInvalid', 'its claims lack the legacy namespace, secret, service-account name or UID, or its subject does not match them');
  }
  if (namespace !== secret.metadata.namespace || secretName !== secret.metadata.name)
    return v('invalid', 'OtherSecret', `its claims name secret ${namespace}/${secretName}, not this one`);
  if (secret.metadata.deletionTimestamp) return v('invalid', 'SecretTerminating', `the Secret is being deleted (since ${secret.metadata.deletionTimestamp})`);
  if (!account) return v('invalid', 'ServiceAccountMissing', `ServiceAccount ${namespace}/${serviceAccountName} does not exist`);
  if (account.deletionTimestamp)
    return v('invalid', 'ServiceAccountTerminating', `ServiceAccount ${namespace}/${serviceAccountName} is being deleted (since ${account.deletionTimestamp})`);
  if (account.uid !== serviceAccountUid)
    return v(
      'invalid',
      'ServiceAccountUidMismatch',
      `ServiceAccount ${namespace}/${serviceAccountName} has UID ${account.uid}, the token claims ${serviceAccountUid} (it was recreated)`,
    );
  if (secret.invalidSince !== undefined) return v('invalid', 'Invalidated', `the legacy-token cleaner invalidated it on ${secret.invalidSince}`);
  return v('valid', 'Valid', 'the API server would accept it');
}
