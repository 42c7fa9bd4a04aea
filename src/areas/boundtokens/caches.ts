// What the bound-token area caches: the one pod informer shared with the
// legacy-token area (the Secrets each running pod reads and how, never whole
// Pods) and the legacy token Secrets (fingerprints, never a token; the cache is
// made at wiring time, src/policy/areas.ts, and handed in).
export { podReadersCache, type PodSecretReader } from '../../kube/pod-secret-readers.ts';
export type { TokenSecret } from '../../kube/token-secrets.ts';
export { apiserverIdentityCache } from '../../kube/apiserver-identity.ts';
