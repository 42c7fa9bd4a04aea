// The API servers' identity Leases in kube-system (label
// apiserver.kubernetes.io/identity=kube-apiserver), renewed every 10 s by each
// instance. Their holderIdentity changes when an instance restarts, which is
// when its flags (authorization mode, signing keys) may have changed; the clock
// area also reads their renewals. Shared by the areas that need them.
import { defineCache, type CacheSpec } from './cache-spec.ts';
import { collectionPath, Resources } from './paths.ts';

export interface ApiserverIdentityLease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  holderIdentity: string;
  renewTime: string | undefined;
}

/** Renewals every 10 s are not news; a new holder (an API server restarted) is. */
export const apiserverIdentityRelevant = (type: 'add' | 'update' | 'delete', obj: ApiserverIdentityLease, old: ApiserverIdentityLease | undefined): boolean =>
  type !== 'update' || obj.holderIdentity !== old?.holderIdentity;

export const apiserverIdentitySpec: CacheSpec<ApiserverIdentityLease> = {
  name: 'apiserver-identity-leases',
  path: collectionPath(Resources.leases, 'kube-system'),
  labelSelector: 'apiserver.kubernetes.io/identity=kube-apiserver',
  transform: (raw) => {
    const lease = raw as { metadata: { name: string; namespace: string; resourceVersion?: string }; spec?: { holderIdentity?: string; renewTime?: string } };
    return {
      metadata: { name: lease.metadata.name, namespace: lease.metadata.namespace, resourceVersion: lease.metadata.resourceVersion },
      holderIdentity: lease.spec?.holderIdentity ?? '',
      renewTime: lease.spec?.renewTime,
    };
  },
  relevant: apiserverIdentityRelevant,
};

export const apiserverIdentityCache = defineCache(apiserverIdentitySpec);

/** A fingerprint of the running API-server instances: changes when any restarts. */
export function apiserverInstances(leases: readonly ApiserverIdentityLease[]): string {
  return leases
    .map((lease) => lease.holderIdentity)
    .sort()
    .join(',');
}
