// The service-account signing keys the API server publishes at /openid/v1/jwks
// (readable by every ServiceAccount through the default
// system:service-account-issuer-discovery binding), and an offline check of a
// legacy token against them: what kube-apiserver's JWT authenticator does
// before its legacy validator looks the Secret and ServiceAccount up
// (kubernetes/kubernetes pkg/serviceaccount/jwt.go, legacy.go). Checking a
// token here authenticates nothing, so the API server neither stamps
// kubernetes.io/legacy-token-last-used nor counts a use.
import { createHash, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { KubeClient } from './client.ts';

/** The issuer of legacy (Secret-based) tokens: serviceaccount.LegacyIssuer. */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
export const JWKS_PATH = '/openid/v1/jwks';

interface PublishedKey {
  kid: string | undefined;
  thumbprint: string;
  key: KeyObject;
}

/** One fetched key set; `version` changes exactly when the set of keys does (when it was read: PublishedKeys). */
export interface KeySet {
  version: string;
  keys: PublishedKey[];
}

/** RFC 7638-style thumbprint of a public JWK: names a key whatever its kid. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url').slice(0, 22);
}

/** Parses a JWKS document into a key set (keys that cannot be read are skipped). */
export function keySetFrom(doc: { keys?: JsonWebKey[] }): KeySet {
  const keys: PublishedKey[] = [];
  for (const jwk of doc.keys ?? []) {
    try {
      keys.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, thumbprint: jwkThumbprint(jwk), key: createPublicKey({ key: jwk, format: 'jwk' }) });
    } catch {
      // an unsupported key type: it cannot have signed a token we can check
    }
  }
  const version = createHash('sha256')
    .update(
      keys
        .map((k) => k.thumbprint)
        .sort()
        .join(','),
    )
    .digest('hex')
    .slice(0, 12);
  return { version, keys };
}

const HASH: Record<string, string> = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' };

/** What a legacy token says about itself, decided when the Secret is seen; the token itself is never kept. */
export interface TokenFacts {
  /** why it is not a legacy service-account JWT (undefined: it parsed) */
  malformed?: string;
  issuer?: string;
  kid?: string;
  alg?: string;
  subject?: string;
  namespace?: string;
  secretName?: string;
  serviceAccountName?: string;
  serviceAccountUid?: string;
  /** thumbprint of the published key its signature verified against (undefined: none did) */
  signedBy?: string;
  /** the key-set version the signature was checked against ('' if no key set was known yet) */
  checkedAgainst: string;
}

const decode = (part: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Reads a token's header and claims and checks its signature against `keys` (synchronously, for a cache transform). */
export function tokenFacts(token: string, keys: KeySet | undefined): TokenFacts {
  const checkedAgainst = keys?.version ?? '';
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[0] || !parts[1] || !parts[2]) return { malformed: 'not a JWT (three dot-separated parts)', checkedAgainst };
  const header = decode(parts[0]);
  const claims = decode(parts[1]);
  if (!header || !claims) return { malformed: 'its header or claims are not base64url JSON', checkedAgainst };
  const facts: TokenFacts = {
    issuer: str(claims.iss),
    kid: str(header.kid),
    alg: str(header.alg),
    subject: str(claims.sub),
    namespace: str(claims['kubernetes.io/serviceaccount/namespace']),
    secretName: str(claims['kubernetes.io/serviceaccount/secret.name']),
    serviceAccountName: str(claims['kubernetes.io/serviceaccount/service-account.name']),
    serviceAccountUid: str(claims['kubernetes.io/serviceaccount/service-account.uid']),
    checkedAgainst,
  };
  const hash = facts.alg ? HASH[facts.alg] : undefined;
  if (!hash) return { ...facts, malformed: `unsupported signing algorithm ${facts.alg ?? '(none)'}` };
  if (!keys) return facts;
  // As the static key getter does: the keys named by the kid hint, else every key.
  const hinted = keys.keys.filter((k) => facts.kid !== undefined && k.kid === facts.kid);
  const candidates = hinted.length > 0 ? hinted : keys.keys;
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  for (const k of candidates) {
    try {
      const ec = k.key.asymmetricKeyType === 'ec';
      if ((ec && !facts.alg?.startsWith('ES')) || (!ec && !facts.alg?.startsWith('RS'))) continue;
      if (verify(hash, data, ec ? { key: k.key, dsaEncoding: 'ieee-p1363' } : k.key, signature)) return { ...facts, signedBy: k.thumbprint };
    } catch {
      // a key of another shape: not this one
    }
  }
  return facts;
}

/**
 * How long a key set may still be trusted after re-reading it started failing, under the same
 * API-server instances. Past it (or at once when the API servers restarted since it was read: a
 * signing-key regeneration restarts them) the set is no proof of anything and every verdict that
 * rests on it turns Undecided, as in a process that never read the keys.
 */
export const KEY_EVIDENCE_BOUND_MS = 60_000;

/** What the keys in hand prove now: the set (undefined: it proves nothing), when it was last confirmed, and why it may not be used. */
export interface KeyEvidence {
  keys: KeySet | undefined;
  /** when the set in hand was last read successfully (ms; undefined: never) */
  confirmedAtMs: number | undefined;
  /** since when the published set has been this one, as read (ms): what status shows, so a re-read that finds it unchanged writes nothing */
  sinceMs?: number | undefined;
  /** why the set in hand is not used (undefined: it is, or there is none) */
  stale?: string | undefined;
  /** the last read's failure, if it failed */
  error?: string | undefined;
}

/** The state of a PublishedKeys, as keyEvidence judges it. */
export interface KeyReadState {
  current: KeySet | undefined;
  error: string | undefined;
  confirmedAtMs: number | undefined;
  /** the API-server instances the set was last read under */
  confirmedUnder: string;
  /** since when reads have failed (undefined: the last one worked) */
  failingSinceMs: number | undefined;
  /** since when the keys read have been the same set (a re-read that finds them unchanged keeps it) */
  currentSinceMs?: number | undefined;
}

const at = (ms: number): string => new Date(ms).toISOString();

/** The longest wait between reads of the published keys after a failure or an unknown kid. */
export const KEY_RETRY_MAX_MS = 30_000;

/** Pure: how long after the `failures`-th failed read in a row the keys are read again: 1 s, doubling, at most 30 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(KEY_RETRY_MAX_MS, 1_000 * 2 ** Math.max(0, Math.min(failures - 1, 10)));
}

/** Pure: whether the keys in hand may still judge tokens now, under `apiservers`. Messages name instants, not ages, so they stay the same while nothing changes. */
export function keyEvidence(s: KeyReadState, nowMs: number, apiservers: string, boundMs = KEY_EVIDENCE_BOUND_MS): KeyEvidence {
  const base = { confirmedAtMs: s.confirmedAtMs, sinceMs: s.currentSinceMs, error: s.error };
  if (!s.current) return { ...base, keys: undefined };
  if (s.error === undefined) return { ...base, keys: s.current };
  const read = s.confirmedAtMs === undefined ? 'never' : `at ${at(s.confirmedAtMs)}`;
  if (s.confirmedUnder !== apiservers)
    return {
      ...base,
      keys: undefined,
      stale: `the API servers restarted since the signing keys were last read (${read}), and reading them again failed (${s.error}): the keys may have changed`,
    };
  const failingSince = s.failingSinceMs ?? nowMs;
  if (nowMs - failingSince >= boundMs)
    return {
      ...base,
      keys: undefined,
      stale: `the signing keys could not be re-read since ${at(failingSince)} (last read ${read}), longer than ${Math.round(boundMs / 1000)}s: ${s.error}`,
    };
  return { ...base, keys: s.current };
}

/**
 * The key set the token-Secret cache checks signatures against: one per process,
 * made at wiring time (src/policy/areas.ts) and shared by the cache's transform and
 * the legacy-token area that refreshes it. Refreshed when the API servers change, when
 * a token names an unknown kid, and at least every `maxAgeMs`; a set that could not
 * be re-read is trusted only as keyEvidence allows.
 */
export class PublishedKeys implements KeyReadState {
  current: KeySet | undefined;
  /** why the last fetch failed (undefined: it worked) */
  error: string | undefined;
  confirmedAtMs: number | undefined;
  confirmedUnder = '';
  failingSinceMs: number | undefined;
  currentSinceMs: number | undefined;
  private inflight: Promise<KeySet | undefined> | undefined;
  private fetchedUnder = '';
  private lastAttempt = 0;
  private unknownKidSeen = false;
  /** reads failed in a row (0: the last one worked): the next is tried after retryDelayMs(failures) */
  private failures = 0;
  private readonly clock: () => number;
  fetches = 0;

  /** now: the process's clock, made at wiring time (src/policy/areas.ts); a call may pass its own (ctx.now()). */
  constructor(now: () => number = Date.now) {
    this.clock = now;
  }

  /** Fetches now (one GET), unless a fetch is already under way. */
  refresh(client: KubeClient, apiservers = this.fetchedUnder, now: () => number = this.clock): Promise<KeySet | undefined> {
    this.inflight ??= (async () => {
      this.lastAttempt = now();
      this.fetchedUnder = apiservers;
      this.fetches++;
      try {
        const doc = await client.get<{ keys?: JsonWebKey[] }>(JWKS_PATH, { accept: 'application/jwk-set+json' });
        const read = keySetFrom(doc);
        if (read.version !== this.current?.version) this.currentSinceMs = now();
        this.current = read;
        this.error = undefined;
        this.confirmedAtMs = now();
        this.confirmedUnder = apiservers;
        this.failingSinceMs = undefined;
        this.unknownKidSeen = false;
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.error = err instanceof Error ? err.message : String(err);
        this.failingSinceMs ??= now();
      } finally {
        this.inflight = undefined;
      }
      return this.current;
    })();
    return this.inflight;
  }

  /** A token named a kid the set does not hold: a new key may be published. */
  noteUnknownKid(): void {
    this.unknownKidSeen = true;
  }

  /**
   * Refreshes when the API-server instances changed, a kid was unknown (at most every 30 s), the last read failed
   * (after 1 s, doubling to 30 s: a restarted API server serves the keys again within seconds, and until then tokens
   * are judged without them), or the set is older than maxAgeMs.
   */
  async ensureFresh(client: KubeClient, apiservers: string, maxAgeMs = 10 * 60_000, now: () => number = this.clock): Promise<KeySet | undefined> {
    const age = now() - this.lastAttempt;
    const stale =
      this.lastAttempt === 0 ||
      apiservers !== this.fetchedUnder ||
      age >= maxAgeMs ||
      (this.failures > 0 && age >= retryDelayMs(this.failures)) ||
      (this.unknownKidSeen && age > KEY_RETRY_MAX_MS);
    if (stale) await this.refresh(client, apiservers, now);
    return this.current;
  }

  /** Refreshes as ensureFresh does, then says what the keys in hand prove (keyEvidence). */
  async evidence(client: KubeClient, apiservers: string, now: () => number = this.clock): Promise<KeyEvidence> {
    await this.ensureFresh(client, apiservers, undefined, now);
    return keyEvidence(this, now(), apiservers);
  }
}
