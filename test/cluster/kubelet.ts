// A simulated kubelet: what a real one does every few seconds with its own
// client certificate (CN=system:node:<name>, O=system:nodes) — read its Node,
// post a Ready heartbeat to nodes/<name>/status, renew its Lease in
// kube-node-lease — so authorization problems show up exactly where the seeds
// saw them. Its clock can be set off by a number of seconds (the clock-skew incident).
import { KubeClient } from '../../src/kube/client.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import type { Cluster } from './harness.ts';

export interface SimulatedKubelet {
  node: string;
  /** the last heartbeat went through (Node read, status posted, Lease renewed) */
  healthy(): boolean;
  /** when the last heartbeat that went through had started (ms since epoch; 0 if none did) */
  lastSuccessAt(): number;
  /** the last error, as the API server worded it (e.g. `nodes "node-1" is forbidden: …`) */
  lastError(): string | undefined;
  setClockSkew(seconds: number): void;
  stop(): void;
}

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
const micro = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

/** Starts heartbeats every `intervalMs` (default 1 s) for an existing Node. */
export async function startKubelet(cluster: Cluster, node: string, opts: { skewSeconds?: number; intervalMs?: number } = {}): Promise<SimulatedKubelet> {
  const client = KubeClient.fromOptions({ kubeconfig: await cluster.nodeKubeconfig(node) });
  let skewMs = (opts.skewSeconds ?? 0) * 1000;
  let ok = false;
  let error: string | undefined;
  let busy = false;
  const now = (): number => Date.now() + skewMs;

  const heartbeat = async (): Promise<void> => {
    await client.request('GET', `/api/v1/nodes/${node}`);
    const ts = new Date(now()).toISOString().replace(/\.\d+Z$/, 'Z');
    await client.mergePatch(
      `/api/v1/nodes/${node}/status`,
      {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'simulated kubelet is posting ready status',
              lastHeartbeatTime: ts,
              lastTransitionTime: ts,
            },
          ],
        },
      },
      { fieldManager: 'kubelet' },
    );
    const spec = { holderIdentity: node, leaseDurationSeconds: 40, renewTime: micro(now()) };
    try {
      await client.mergePatch(`${LEASES}/${node}`, { spec }, { fieldManager: 'kubelet' });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      await client.create(
        LEASES,
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node, namespace: 'kube-node-lease' }, spec },
        { fieldManager: 'kubelet' },
      );
    }
  };
  let successAt = 0;
  const tick = (): void => {
    if (busy) return;
    busy = true;
    const started = Date.now();
    heartbeat()
      .then(
        () => {
          ok = true;
          error = undefined;
          successAt = started;
        },
        (err: unknown) => {
          ok = false;
          // The API server's own words, without the method and path.
          error = (err instanceof Error ? err.message : String(err)).replace(/^[A-Z]+ \S+: (\d+ \w+: )?/, '');
        },
      )
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, opts.intervalMs ?? 1000);
  return {
    node,
    healthy: () => ok,
    lastSuccessAt: () => successAt,
    lastError: () => error,
    setClockSkew: (seconds) => {
      skewMs = seconds * 1000;
    },
    stop: () => {
      clearInterval(timer);
    },
  };
}
