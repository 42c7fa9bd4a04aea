// The README's main command (`make demo`): starts a local control plane on
// loopback, installs the operator's CRD and RBAC from config/, runs the
// operator from source under its own ServiceAccount, applies the sample
// AuthPolicy and shows what a cluster admin would see. Leaves nothing running
// (pass --keep to keep the cluster up until Ctrl-C and explore it with kubectl).
import { startCluster, mustKubectl, type Cluster } from '../test/cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, ROOT, startOperator, type OperatorProcess } from '../test/cluster/operator.ts';
import { waitFor } from '../test/cluster/wait.ts';

const keep = process.argv.includes('--keep');
const step = (text: string): void => { console.log(`\n==> ${text}`); };

let cluster: Cluster | undefined;
let operator: OperatorProcess | undefined;
try {
  step('Starting a local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) on loopback');
  cluster = await startCluster();
  console.log(`ready in ${(cluster.startupMs / 1000).toFixed(1)} s; kubeconfig: ${cluster.adminKubeconfig}`);
  console.log(`kubectl: ${cluster.binDir}/kubectl --kubeconfig ${cluster.adminKubeconfig}`);
  console.log(await mustKubectl(cluster, ['get', 'nodes,namespaces']));

  step('Installing the AuthPolicy CRD and the operator\'s RBAC from config/');
  await installOperatorPrereqs(cluster);

  step('Running the operator from source under its ServiceAccount');
  operator = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--log-level=info'] });
  await operator.waitForLog('leadership', (l) => l.message === 'became leader', 60_000);

  step('Applying config/samples/authpolicy_v1alpha1_authpolicy.yaml');
  await mustKubectl(cluster, ['apply', '-f', `${ROOT}/config/samples/authpolicy_v1alpha1_authpolicy.yaml`]);
  const c = cluster;
  await waitFor('the operator to report status', async () => /\d/.test(await mustKubectl(c, ['get', 'authpolicy', 'cluster', '-o', 'jsonpath={.status.observedGeneration}'])));
  console.log(await mustKubectl(cluster, ['get', 'authpolicy', '-o', 'wide']));
  step('kubectl wait --for=condition=Ready authpolicy/cluster (the clock area needs one API-server Lease renewal, ~10 s)');
  console.log(await mustKubectl(cluster, ['wait', '--for=condition=Ready', 'authpolicy/cluster', '--timeout=90s']));
  console.log(await mustKubectl(cluster, ['get', 'authpolicy', '-o', 'wide']));
  console.log(await mustKubectl(cluster, ['get', 'authpolicy', 'cluster', '-o', 'jsonpath={range .status.conditions[*]}{.type}{"\\t"}{.status}{"\\t"}{.reason}{"\\t"}{.message}{"\\n"}{end}']));

  if (keep) {
    step('Cluster kept running; press Ctrl-C to stop it');
    await new Promise<void>((resolve) => process.once('SIGINT', () => { resolve(); }));
  }
  step('Done: stopping the operator and the control plane');
} finally {
  await operator?.stop();
  await cluster?.stop();
}
