// After a signing-key regeneration, whether the cluster's own neighbours (kube-scheduler, and kwok playing the
// kubelets) work again: a canary Pod scheduled onto a kwok Node and run by it. Their watches failed while
// kube-apiserver restarted, and client-go's reflector retries after 0.8 s doubling to 30 s (jitter up to as much
// again), a backoff reset only after two minutes without a failure: with regenerations a minute apart kwok has
// watched Pods again only 40-55 s after one, and whichever contender's rollouts fell there waited with it.
import { waitFor } from '../test/cluster/wait.ts';
import { Api, ApiError } from './kube.ts';
import { TOLERATE_NOT_READY } from './generate.ts';

const NAMESPACE = 'default';

/**
 * Creates a canary Pod (no token mounted, any kwok Node) and waits until kwok reports it Running, then deletes it.
 * Resolves with the seconds it took, or undefined when it did not run within `timeoutMs` (said in the log).
 */
export async function neighboursWork(admin: Api, name: string, timeoutMs: number, log: (m: string) => void): Promise<number | undefined> {
  const began = Date.now();
  const path = `/api/v1/namespaces/${NAMESPACE}/pods`;
  await admin.request('POST', path, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { 'bench.authpolicy.io/canary': 'true' } },
    spec: {
      nodeSelector: { type: 'kwok' },
      tolerations: TOLERATE_NOT_READY,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'canary', image: 'registry.invalid/canary:1' }],
    },
  });
  try {
    await waitFor(
      'canary Pod Running',
      async () => (await admin.request<{ status?: { phase?: string } }>('GET', `${path}/${name}`)).status?.phase === 'Running',
      {
        timeoutMs,
        intervalMs: 250,
      },
    );
    return Math.round((Date.now() - began) / 100) / 10;
  } catch {
    log(`canary Pod ${NAMESPACE}/${name} not Running ${timeoutMs / 1000} s after kube-apiserver served again; going on`);
    return undefined;
  } finally {
    await admin.request('DELETE', `${path}/${name}`).catch((err: unknown) => {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    });
  }
}
