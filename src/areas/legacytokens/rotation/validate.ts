// The two ways a legacy token is looked at again after the cache has dropped it,
// both rare: re-reading one Secret when the published keys changed under a token
// the cache could not verify (one list narrowed to its name; the token is judged
// at once and dropped), and, only where /openid/v1/jwks cannot be read, a
// TokenReview. A TokenReview authenticates the token: kube-apiserver stamps
// kubernetes.io/legacy-token-last-used on the Secret and counts a use, which
// keeps the legacy-token cleaner from retiring it; status says when it is used.
import type { KubeClient } from '../../../kube/client.ts';
import { isForbidden } from '../../../kube/errors.ts';
import { collectionPath, Resources } from '../../../kube/paths.ts';
import type { PublishedKeys, TokenFacts } from '../../../kube/service-account-keys.ts';
import { toTokenSecret, type TokenSecret } from '../../../kube/token-secrets.ts';
import type { TokenVerdict } from './verdict.ts';

const TTL_MS = 10 * 60_000;
const MAX_ENTRIES = 50_000;
/** How long a refused TokenReview (403) is remembered: no Secret read or review meanwhile; granted, it works again within this. */
export const REVIEW_REFUSAL_MEMORY_MS = 60_000;

/** Re-reads Secrets whose token the cache could not decide, once per token and key set. */
export class SecretRereader {
  private readonly client: KubeClient;
  private readonly keys: PublishedKeys | undefined;
  private readonly cache = new Map<string, TokenFacts | undefined>();
  rereads = 0;

  /** keys: the process's published keys, which the re-read token is checked against */
  constructor(client: KubeClient, keys: PublishedKeys | undefined) {
    this.client = client;
    this.keys = keys;
  }

  async facts(secret: TokenSecret, keyVersion: string): Promise<TokenFacts | undefined> {
    const key = `${secret.metadata.uid}/${secret.tokenHash ?? ''}/${keyVersion}`;
    if (this.cache.has(key)) return this.cache.get(key);
    this.rereads++;
    const list = await this.client.list<{ items?: unknown[] }>(collectionPath(Resources.secrets, secret.metadata.namespace), {
      fieldSelector: `metadata.name=${secret.metadata.name}`,
    });
    const fresh = list.items?.[0] ? toTokenSecret(list.items[0], this.keys) : undefined;
    const facts = fresh?.tokenHash === secret.tokenHash ? fresh?.token : undefined;
    if (this.cache.size > MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, facts);
    return facts;
  }
}

/** TokenReview, only for Secrets that must be decided while the published keys cannot be read. */
export class TokenReviewer {
  private readonly client: KubeClient;
  private readonly cache = new Map<string, { at: number; instances: string; verdict: TokenVerdict }>();
  /** the last 403, when and under which API servers: every review is refused alike, so none is tried until REVIEW_REFUSAL_MEMORY_MS passed or the servers changed */
  private refusal: { at: number; instances: string; error: unknown } | undefined;
  reviews = 0;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** nowMs: the reconcile's time (ctx.now()), which a cached review is aged by */
  async verdict(secret: TokenSecret, apiserverInstances: string, expectedUser: string, nowMs: number): Promise<TokenVerdict | undefined> {
    if (!secret.tokenHash) return undefined;
    const key = `${secret.metadata.uid}/${secret.tokenHash}`;
    const hit = this.cache.get(key);
    if (hit && hit.instances === apiserverInstances && nowMs - hit.at < TTL_MS) return hit.verdict;
    const refused = this.refusal;
    if (refused && refused.instances === apiserverInstances && nowMs - refused.at < REVIEW_REFUSAL_MEMORY_MS) throw refused.error;
    this.refusal = undefined;
    try {
      return await this.review(secret, apiserverInstances, expectedUser, nowMs, key);
    } catch (err) {
      if (isForbidden(err)) this.refusal = { at: nowMs, instances: apiserverInstances, error: err };
      throw err;
    }
  }

  private async review(secret: TokenSecret, apiserverInstances: string, expectedUser: string, nowMs: number, key: string): Promise<TokenVerdict | undefined> {
    const list = await this.client.list<{ items?: { data?: { token?: string } }[] }>(collectionPath(Resources.secrets, secret.metadata.namespace), {
      fieldSelector: `metadata.name=${secret.metadata.name}`,
    });
    const data = list.items?.[0]?.data?.token;
    if (!data) return undefined;
    this.reviews++;
    const review = await this.client.create<{ status?: { authenticated?: boolean; user?: { username?: string }; error?: string } }>(
      collectionPath(Resources.tokenReviews),
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token: Buffer.from(data, 'base64').toString() },
      },
    );
    const st = review.status ?? {};
    const verdict: TokenVerdict = !st.authenticated
      ? { validity: 'invalid', reason: 'SignatureInvalid', detail: `TokenReview: ${st.error ?? 'rejected by the API server'}`, source: 'tokenReview' }
      : st.user?.username !== expectedUser
        ? {
            validity: 'invalid',
            reason: 'OtherSecret',
            detail: `TokenReview: authenticates as ${st.user?.username ?? '?'}, not ${expectedUser}`,
            source: 'tokenReview',
          }
        : { validity: 'valid', reason: 'Valid', detail: 'TokenReview: authenticated', source: 'tokenReview' };
    this.cache.set(key, { at: nowMs, instances: apiserverInstances, verdict });
    if (this.cache.size > MAX_ENTRIES) this.cache.clear();
    return verdict;
  }
}
