// The canary Secret that proves kube-controller-manager's tokens controller fills new token
// Secrets before any live one is blanked. Named so observe can leave it out of the count.
import * as annotations from '../../../api/annotations.ts';

export const CANARY_PREFIX = 'authpolicy-canary-';

export const isCanary = (name: string): boolean => name.startsWith(CANARY_PREFIX);

/** A token Secret of the namespace's default ServiceAccount, for the tokens controller to fill. */
export function canarySecret(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'authpolicy-operator' }, annotations: { [annotations.SA_NAME]: 'default' } },
  };
}
