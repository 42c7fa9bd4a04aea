// The incidents' broken cluster, on the harness: "RBAC"-only authorization with
// kubelets that are forbidden to read their Node or renew their Lease (seed
// 002), and an app namespace whose workloads mount legacy service-account
// token Secrets (the dead-legacy-token incident). kwok runs the workloads' pods on two simulated
// workers, so their rollouts really finish.
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { startKubelet, type SimulatedKubelet } from '../cluster/kubelet.ts';
import { addKwokNode, startKwok, KWOK_NODE_LABEL } from '../cluster/kwok.ts';
import type { ManagedProcess } from '../cluster/processes.ts';
import { apply, getJson } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

export const APP_NAMESPACE = 'shop';
export const KUBELET_NODES = ['node-1', 'node-2', 'node-3'];
export const KWOK_NODES = ['kwok-worker-1', 'kwok-worker-2'];
export const TOKEN_SECRETS = ['billing-token', 'inventory-token'];
/** Workloads that mount a legacy token Secret (restarted after a rotation), and one that does not. */
export const DEPENDENTS = ['deployment/billing', 'deployment/inventory', 'statefulset/ledger', 'daemonset/log-shipper'];
export const UNRELATED = 'deployment/storefront';

export interface BrokenCluster {
  kubelets: SimulatedKubelet[];
  kwok: ManagedProcess;
  stop(): Promise<void>;
}

type PodSpec = Record<string, unknown>;
function workload(kind: 'Deployment' | 'StatefulSet' | 'DaemonSet', name: string, spec: PodSpec): unknown {
  const template = {
    metadata: { labels: { app: name } },
    spec: { nodeSelector: KWOK_NODE_LABEL, containers: [{ name: 'main', image: 'registry.example/shop/app:1.0' }], ...spec },
  };
  const base = { selector: { matchLabels: { app: name } }, template };
  const extra = kind === 'DaemonSet' ? {} : kind === 'StatefulSet' ? { replicas: 2, serviceName: name } : { replicas: 2 };
  return { apiVersion: 'apps/v1', kind, metadata: { name, namespace: APP_NAMESPACE }, spec: { ...base, ...extra } };
}

/** The shop's workloads, mounting legacy token Secrets (volume, env, projected source) or their ServiceAccount's projected token. */
function workloads(tokens: 'legacy' | 'projected'): unknown[] {
  const legacy = tokens === 'legacy';
  const sa = (name: string): PodSpec => ({ serviceAccountName: name, automountServiceAccountToken: true });
  return [
    workload('Deployment', 'billing', legacy ? { volumes: [{ name: 'token', secret: { secretName: 'billing-token' } }] } : sa('billing')),
    workload(
      'Deployment',
      'inventory',
      legacy
        ? {
            containers: [
              {
                name: 'main',
                image: 'registry.example/shop/app:1.0',
                env: [{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'inventory-token', key: 'token' } } }],
              },
            ],
          }
        : sa('inventory'),
    ),
    workload('StatefulSet', 'ledger', legacy ? { volumes: [{ name: 'token', secret: { secretName: 'billing-token' } }] } : sa('billing')),
    workload(
      'DaemonSet',
      'log-shipper',
      legacy ? { volumes: [{ name: 'token', projected: { sources: [{ secret: { name: 'inventory-token' } }] } }] } : sa('inventory'),
    ),
    workload('Deployment', 'storefront', {}),
  ];
}

/** The lasting fix for seeds 001 and 003: every workload uses its ServiceAccount's projected, expiring token. */
export async function migrateToProjectedTokens(cluster: Cluster): Promise<void> {
  for (const w of workloads('projected')) await apply(cluster, w);
  for (const w of [...DEPENDENTS, UNRELATED]) await waitForRollout(cluster, w);
}

/** `kubectl rollout status` succeeds, within 90 s. */
export async function waitForRollout(cluster: Cluster, w: string, namespace = APP_NAMESPACE): Promise<void> {
  await waitFor(
    `${w} to roll out on the kwok workers`,
    async () => (await cluster.kubectl(['rollout', 'status', w, '-n', namespace, '--timeout=2s'])).code === 0,
    { timeoutMs: 90_000 },
  );
}

/** Builds the broken state and waits until it is really there (tokens issued, rollouts done, kubelets refused). */
export async function breakCluster(cluster: Cluster): Promise<BrokenCluster> {
  const kwok = startKwok(cluster);
  const kubelets: SimulatedKubelet[] = [];
  const stop = async (): Promise<void> => {
    for (const k of kubelets) k.stop();
    await kwok.stop();
  };
  try {
    for (const n of KWOK_NODES) await addKwokNode(cluster, n);
    for (const n of KUBELET_NODES) {
      // Registered earlier; the node-lifecycle controller has since marked them as a kubelet that stopped reporting.
      await apply(cluster, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
      const status = {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
            },
          ],
        },
      };
      await mustKubectl(cluster, ['patch', 'node', n, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
      kubelets.push(await startKubelet(cluster, n));
    }

    await mustKubectl(cluster, ['create', 'namespace', APP_NAMESPACE]);
    for (const sa of ['billing', 'inventory']) {
      await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: APP_NAMESPACE } });
      await apply(cluster, {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: `${sa}-token`, namespace: APP_NAMESPACE, annotations: { 'kubernetes.io/service-account.name': sa } },
      });
    }
    for (const w of workloads('legacy')) await apply(cluster, w);

    for (const s of TOKEN_SECRETS) {
      await waitFor(`the tokens controller to fill secret ${APP_NAMESPACE}/${s}`, async () =>
        Boolean((await getJson<{ data?: { token?: string } }>(cluster, ['secret', s, '-n', APP_NAMESPACE]))?.data?.token),
      );
    }
    for (const w of [...DEPENDENTS, UNRELATED]) await waitForRollout(cluster, w);
    for (const k of kubelets) await waitFor(`the kubelet of ${k.node} to be refused`, () => /forbidden/.test(k.lastError() ?? ''));
  } catch (err) {
    await stop();
    throw err;
  }
  return { kubelets, kwok, stop };
}
