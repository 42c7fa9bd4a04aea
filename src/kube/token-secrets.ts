// Legacy token Secrets (type kubernetes.io/service-account-token), cached
// cluster-wide as fingerprints of their token and CA (never the values), what
// the token says about itself and whether its signature verified against the
// published keys (decided here, at watch time, so the token is dropped at once),
// with the marks rotation leaves on them. Shared by the areas that need them.
import { createHash } from 'node:crypto';
import {
  LEGACY_TOKEN_INVALID_SINCE,
  LEGACY_TOKEN_LAST_USED,
  ROTATED_AT,
  ROTATED_FOR_REQUEST,
  ROTATED_FROM,
  ROTATED_UNDER,
  ROTATION,
  ROTATION_STATE,
  SA_NAME,
  SA_UID,
} from '../api/annotations.ts';
import { defineCache, type CacheHandle } from './cache-spec.ts';
import { collectionPath, Resources } from './paths.ts';
import { tokenFacts, type PublishedKeys, type TokenFacts } from './service-account-keys.ts';

export const fingerprint = (base64: string | undefined): string | undefined =>
  base64 ? createHash('sha256').update(base64).digest('hex').slice(0, 16) : undefined;

export interface Meta {
  name: string;
  namespace: string;
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface TokenSecret {
  metadata: { name: string; namespace: string; resourceVersion?: string; uid: string; creationTimestamp: string; deletionTimestamp?: string | undefined };
  serviceAccountName: string;
  serviceAccountUid: string;
  /** sha256 prefix of the token: tells a new token from an old one without holding either */
  tokenHash: string | undefined;
  /** header, claims and signature check of the token (undefined: no token) */
  token: TokenFacts | undefined;
  caHash: string | undefined;
  lastUsed: string | undefined;
  invalidSince: string | undefined;
  rotation: string | undefined;
  rotationState: string | undefined;
  rotatedAt: string | undefined;
  rotatedFrom: string | undefined;
  rotatedUnder: string | undefined;
  rotatedForRequest: string | undefined;
}

/** What a token Secret's `data.token` (base64) tells, checked against the keys known now (undefined: none known yet). */
export function judgeTokenData(base64: string | undefined, keys: PublishedKeys | undefined): TokenFacts | undefined {
  if (!base64) return undefined;
  const known = keys?.current;
  const facts = tokenFacts(Buffer.from(base64, 'base64').toString('utf8'), known);
  if (facts.kid !== undefined && known && !known.keys.some((k) => k.kid === facts.kid)) keys.noteUnknownKid();
  return facts;
}

/** The cached form of a token Secret (also used when one Secret is re-read). */
export function toTokenSecret(raw: unknown, keys: PublishedKeys | undefined): TokenSecret {
  const secret = raw as { metadata: Meta; data?: Record<string, string> };
  const annotations = secret.metadata.annotations ?? {};
  const labels = secret.metadata.labels ?? {};
  return {
    metadata: {
      name: secret.metadata.name,
      namespace: secret.metadata.namespace,
      resourceVersion: secret.metadata.resourceVersion,
      uid: secret.metadata.uid ?? '',
      creationTimestamp: secret.metadata.creationTimestamp ?? '',
      ...(secret.metadata.deletionTimestamp ? { deletionTimestamp: secret.metadata.deletionTimestamp } : {}),
    },
    serviceAccountName: annotations[SA_NAME] ?? '',
    serviceAccountUid: annotations[SA_UID] ?? '',
    tokenHash: fingerprint(secret.data?.token),
    token: judgeTokenData(secret.data?.token, keys),
    caHash: fingerprint(secret.data?.['ca.crt']),
    lastUsed: labels[LEGACY_TOKEN_LAST_USED],
    invalidSince: labels[LEGACY_TOKEN_INVALID_SINCE],
    rotation: annotations[ROTATION],
    rotationState: annotations[ROTATION_STATE],
    rotatedAt: annotations[ROTATED_AT],
    rotatedFrom: annotations[ROTATED_FROM],
    rotatedUnder: annotations[ROTATED_UNDER],
    rotatedForRequest: annotations[ROTATED_FOR_REQUEST],
  };
}

/**
 * kube-controller-manager's default --legacy-service-account-token-clean-up-period (one year): the
 * legacy-token cleaner invalidates a token Secret unused that long. The one constant for every rule that
 * counts toward it (which changes wake a reconcile here; which Secrets the cleaner owns in the legacy-token plan).
 */
export const LEGACY_TOKEN_CLEANUP_PERIOD_MS = 365 * 24 * 3600_000;

/** A day short of the clean-up period: the last-used stamp is a date, so a day's margin. */
const NEARLY_THE_CLEANUP_PERIOD_MS = LEGACY_TOKEN_CLEANUP_PERIOD_MS - 24 * 3600_000;

/**
 * Does a token Secret's update need a reconcile now? Not when all that changed is the last-used date the
 * API server stamps once a day on every Secret whose token is used (thousands right after a rotation),
 * unless the old date (or its creation, never used) is nearly a year back, so that the stamp can end its
 * being unused beyond the legacy-token cleaner's period. Otherwise the periodic resync reports the new date.
 */
export function tokenSecretChangeMatters(type: 'add' | 'update' | 'delete', obj: TokenSecret, old: TokenSecret | undefined, now: number): boolean {
  if (type !== 'update' || !old || obj.lastUsed === old.lastUsed) return true;
  const rest = (s: TokenSecret): string => JSON.stringify({ ...s, lastUsed: undefined, metadata: { ...s.metadata, resourceVersion: undefined } });
  if (rest(obj) !== rest(old)) return true;
  const since = Date.parse(old.lastUsed !== undefined ? `${old.lastUsed}T00:00:00Z` : old.metadata.creationTimestamp);
  return !Number.isFinite(since) || now - since > NEARLY_THE_CLEANUP_PERIOD_MS;
}

/** The name the token-Secret informer is shared by. */
export const TOKEN_SECRETS_CACHE = 'legacy-token-secrets';

/**
 * The token-Secret cache, checking each token's signature against `keys` as it lists and watches: made once
 * at wiring time (src/policy/areas.ts) with the process's one PublishedKeys and clock, and handed to every
 * area that reads token Secrets, so the keys and the time are dependencies, not module state.
 */
export function tokenSecretCache(keys: PublishedKeys, now: () => number = Date.now): CacheHandle<TokenSecret> {
  return defineCache<TokenSecret>({
    name: TOKEN_SECRETS_CACHE,
    path: collectionPath(Resources.secrets),
    fieldSelector: 'type=kubernetes.io/service-account-token',
    transform: (raw) => toTokenSecret(raw, keys),
    relevant: (type, obj, old) => tokenSecretChangeMatters(type, obj, old, now()),
  });
}
