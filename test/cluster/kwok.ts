// kwok (sigs.k8s.io/kwok, built with the control plane) simulating worker
// nodes and the pods scheduled onto them, so rollouts really finish. It only
// manages Nodes labelled `type=kwok`: the harness's other nodes keep their
// (simulated, forbidden-or-not) kubelets.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mustKubectl, type Cluster } from './harness.ts';
import { startProcess, type ManagedProcess } from './processes.ts';

export const KWOK_NODE_LABEL = { type: 'kwok' } as const;
const STAGES = fileURLToPath(new URL('kwok-stages.yaml', import.meta.url));

/** Starts kwok against the cluster (admin credentials); stop() ends it. `extraArgs`, e.g. `--node-lease-duration-seconds=40`. */
export function startKwok(cluster: Cluster, extraArgs: string[] = []): ManagedProcess {
  return startProcess(
    'kwok',
    join(cluster.binDir, 'kwok'),
    [`--kubeconfig=${cluster.adminKubeconfig}`, `--config=${STAGES}`, '--manage-nodes-with-label-selector=type=kwok', '--cidr=10.244.0.0/16', ...extraArgs],
    join(cluster.dir, 'logs', 'kwok.log'),
  );
}

/**
 * Registers a worker Node kwok will run pods on. The TaintNodesByCondition
 * admission plugin gives every new Node the not-ready taint; the harness runs
 * no node-lifecycle controller to lift it, so this does what that controller
 * would once kwok reports Ready.
 */
export async function addKwokNode(cluster: Cluster, name: string): Promise<void> {
  // The well-known labels a kubelet sets on its Node (config/manager's pods require os and arch).
  const labels = { ...KWOK_NODE_LABEL, 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' };
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } };
  await mustKubectl(cluster, ['apply', '-f', '-'], { input: JSON.stringify(node) });
  await mustKubectl(cluster, ['wait', '--for=condition=Ready', `node/${name}`, '--timeout=60s']);
  await mustKubectl(cluster, ['taint', 'node', name, 'node.kubernetes.io/not-ready:NoSchedule-']);
}
