// Does a legacy token still authenticate, as its own ServiceAccount? Asked with
// a TokenReview (what the API server itself will answer), reading the token
// with one GET just for the review and dropping it right after. Answers are
// cached by token fingerprint until the API-server instances change (signing
// keys only change when an API server restarts) or ten minutes pass.
import type { KubeClient } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import { collectionPath, objectPath, Resources } from '../../kube/paths.ts';
import type { TokenSecret } from './caches.ts';

export type Validity = 'valid' | 'invalid' | 'wrongIdentity';

export interface TokenVerdict {
  validity: Validity;
  /** the API server's reason (never the token) */
  detail: string;
}

const TTL_MS = 10 * 60_000;

export class TokenValidator {
  private readonly client: KubeClient;
  private readonly cache = new Map<string, { at: number; instances: string; verdict: TokenVerdict }>();
  reviews = 0;

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** Forget every verdict (e.g. before a one-shot check). */
  clear(): void {
    this.cache.clear();
  }

  async verdict(secret: TokenSecret, apiserverInstances: string): Promise<TokenVerdict | undefined> {
    if (!secret.tokenHash) return undefined;
    const key = `${secret.metadata.uid}/${secret.tokenHash}`;
    const hit = this.cache.get(key);
    if (hit && hit.instances === apiserverInstances && Date.now() - hit.at < TTL_MS) return hit.verdict;
    let token: string | undefined;
    try {
      const full = await this.client.get<{ data?: { token?: string } }>(objectPath(Resources.secrets, secret.metadata.name, secret.metadata.namespace));
      token = full.data?.token ? Buffer.from(full.data.token, 'base64').toString() : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (!token) return undefined;
    this.reviews++;
    const review = await this.client.create<{ status?: { authenticated?: boolean; user?: { username?: string }; error?: string } }>(collectionPath(Resources.tokenReviews), {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token },
    });
    const st = review.status ?? {};
    const expected = `system:serviceaccount:${secret.metadata.namespace}:${secret.serviceAccountName}`;
    const verdict: TokenVerdict = !st.authenticated
      ? { validity: 'invalid', detail: st.error ?? 'rejected by the API server' }
      : st.user?.username !== expected
        ? { validity: 'wrongIdentity', detail: `authenticates as ${st.user?.username ?? '?'}, not ${expected}` }
        : { validity: 'valid', detail: 'authenticated' };
    this.cache.set(key, { at: Date.now(), instances: apiserverInstances, verdict });
    if (this.cache.size > 50_000) this.cache.clear();
    return verdict;
  }
}
