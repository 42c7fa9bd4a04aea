// Observe legacy token Secrets in the selected namespaces: their ServiceAccount,
// whether the token still authenticates (TokenReview), whether ca.crt matches the
// namespace's kube-root-ca.crt, age and the legacy-token cleaner's labels; and
// the workloads whose pod templates use them.
import { createHash } from 'node:crypto';
import { apiserverIdentityCache, apiserverInstances, type ApiserverIdentityLease } from '../../kube/apiserver-identity.ts';
import { matchesSelector } from '../../kube/selector.ts';
import type { AreaContext } from '../area.ts';
import {
  daemonSetCache, deploymentCache, namespaceCache, rootCACache, secretCache, serviceAccountCache, statefulSetCache,
  type CachedNamespace, type CachedServiceAccount, type RootCA, type TokenSecret, type Workload,
} from './caches.ts';
import { restartKey, type RecentRestarts } from './act.ts';
import type { TokenValidator, TokenVerdict } from './validate.ts';

export interface SecretFinding {
  secret: TokenSecret;
  serviceAccount: 'ok' | 'missing' | 'uidMismatch';
  /** undefined: no token in the Secret (yet) */
  verdict: TokenVerdict | undefined;
  /** undefined: the namespace has no kube-root-ca.crt to compare with */
  staleCA: boolean | undefined;
}

export interface LegacyTokensObservation {
  secrets: SecretFinding[];
  workloads: Workload[];
  /** fingerprint of the running API-server instances */
  apiservers: string;
  now: number;
}

export function createObserver(validator: TokenValidator, recent: RecentRestarts): (ctx: AreaContext) => Promise<LegacyTokensObservation> {
  return async (ctx) => {
    const spec = ctx.spec.legacyTokens;
    const namespaces = new Map(ctx.cache<CachedNamespace>(namespaceCache.name).list().map((n) => [n.metadata.name, n.metadata.labels]));
    const selected = (ns: string): boolean => matchesSelector(spec.namespaceSelector, namespaces.get(ns) ?? {});
    const accounts = ctx.cache<CachedServiceAccount>(serviceAccountCache.name);
    const roots = ctx.cache<RootCA>(rootCACache.name);
    const instances = apiserverInstances(ctx.cache<ApiserverIdentityLease>(apiserverIdentityCache.name).list());
    if (ctx.mode === 'check') validator.clear();
    const tokenSecrets = ctx.cache<TokenSecret>(secretCache.name).list().filter((s) => selected(s.metadata.namespace))
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
    const secrets: SecretFinding[] = [];
    for (const secret of tokenSecrets) {
      const sa = accounts.get(secret.serviceAccountName, secret.metadata.namespace);
      const serviceAccount = !sa ? 'missing' : secret.serviceAccountUid && sa.metadata.uid !== secret.serviceAccountUid ? 'uidMismatch' : 'ok';
      const root = roots.get('kube-root-ca.crt', secret.metadata.namespace);
      secrets.push({
        secret, serviceAccount,
        verdict: await validator.verdict(secret, instances),
        staleCA: root?.caHash === undefined || secret.caHash === undefined ? undefined : root.caHash !== secret.caHash,
      });
    }
    const kinds = new Set(spec.workloadKinds);
    const workloads = [deploymentCache, statefulSetCache, daemonSetCache]
      .flatMap((c) => ctx.cache<Workload>(c.name).list())
      .filter((w) => kinds.has(w.kind) && selected(w.metadata.namespace) && w.secrets.length > 0)
      .map((w) => {
        const key = restartKey(w.kind, w.metadata.namespace, w.metadata.name);
        const mine = recent.get(key);
        if (!mine) return w;
        if (w.metadata.generation >= mine.generation) { recent.delete(key); return w; }
        return { ...w, restartedAt: mine.restartedAt, restartedFor: mine.rotations, templateIsOurs: true, rolloutComplete: false };
      });
    return { secrets, workloads, apiservers: createHash('sha256').update(instances).digest('hex').slice(0, 12), now: ctx.now().getTime() };
  };
}
