// The raw floor: the fewest requests that rotate every legacy token in place and
// restart each dependent once. One LIST of token Secrets, one LIST of Deployments,
// one merge PATCH per Secret blanking its token (kube-controller-manager's tokens
// controller re-issues an empty token under the same name), one WATCH of Secrets
// for the refills, and one strategic-merge PATCH per dependent as soon as all of its
// Secrets hold new tokens. `--blank-only` stops after the blanking (Reloader's
// blank-refill trigger); `--recreate-only` instead deletes each Secret and creates it
// again under the same name (the seeds' procedure, as the kubectl script does it: the
// tokens controller fills the new one), and stops (Reloader's delete/recreate trigger).
// Usage: node bench/contenders/floor.ts --kubeconfig F --parallelism N [--blank-only | --recreate-only]
import { parseArgs } from 'node:util';
import { Api, pool } from '../kube.ts';
import { NS_PREFIX, TOKEN_TYPE, mountedSecrets, type DeploymentView, type SecretView } from '../generate.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    parallelism: { type: 'string', default: '4' },
    'blank-only': { type: 'boolean', default: false },
    'recreate-only': { type: 'boolean', default: false },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const parallelism = Number(values.parallelism);
const api = new Api(values.kubeconfig, 'bench-floor/1');
const key = (m: { namespace: string; name: string }): string => `${m.namespace}/${m.name}`;
const SA_NAME = 'kubernetes.io/service-account.name';

const secretsPath = `/api/v1/secrets?fieldSelector=type%3D${encodeURIComponent(TOKEN_TYPE)}`;
const list = await api.request<{ metadata: { resourceVersion: string }; items: SecretView[] }>('GET', secretsPath);
const secrets = list.items.filter((s) => s.metadata.namespace.startsWith(NS_PREFIX));
const oldTokens = new Map(secrets.map((s) => [key(s.metadata), s.data?.token ?? '']));

if (values['recreate-only']) {
  // Per Secret: DELETE, then POST the same name, type and ServiceAccount annotation (no data: the tokens
  // controller fills it, and that fill is the change Reloader acts on; it ignores creates and deletes by default).
  await pool(secrets, parallelism, async (s) => {
    const path = `/api/v1/namespaces/${s.metadata.namespace}/secrets`;
    await api.request('DELETE', `${path}/${s.metadata.name}`);
    await api.request('POST', path, {
      apiVersion: 'v1',
      kind: 'Secret',
      type: TOKEN_TYPE,
      metadata: { name: s.metadata.name, namespace: s.metadata.namespace, annotations: { [SA_NAME]: s.metadata.annotations?.[SA_NAME] ?? '' } },
    });
  });
  console.log(`deleted and recreated ${secrets.length} token Secrets`);
  await api.close();
  process.exit(0);
}

const dependents: { d: DeploymentView; waitingFor: Set<string> }[] = [];
if (!values['blank-only']) {
  const deployments = await api.request<{ items: DeploymentView[] }>('GET', '/apis/apps/v1/deployments');
  for (const d of deployments.items) {
    const uses = mountedSecrets(d)
      .map((n) => `${d.metadata.namespace}/${n}`)
      .filter((k) => oldTokens.has(k));
    if (uses.length) dependents.push({ d, waitingFor: new Set(uses) });
  }
}

await pool(secrets, parallelism, async (s) => {
  await api.request(
    'PATCH',
    `/api/v1/namespaces/${s.metadata.namespace}/secrets/${s.metadata.name}`,
    { data: { token: null } },
    'application/merge-patch+json',
  );
});
console.log(`blanked ${secrets.length} token Secrets`);

if (!values['blank-only']) {
  const ready: DeploymentView[] = [];
  let restarting = 0;
  let restarted = 0;
  let wake: (() => void) | undefined;
  const restartOne = async (d: DeploymentView): Promise<void> => {
    // marked with the time of this restart (as `kubectl rollout restart` does), so the bench times each rollout
    await api.request(
      'PATCH',
      `/apis/apps/v1/namespaces/${d.metadata.namespace}/deployments/${d.metadata.name}`,
      { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } } } },
      'application/strategic-merge-patch+json',
    );
    restarted++;
  };
  const pump = (): void => {
    while (restarting < parallelism && ready.length) {
      const d = ready.shift() as DeploymentView;
      restarting++;
      void restartOne(d).finally(() => {
        restarting--;
        pump();
        wake?.();
      });
    }
  };
  const refilled = new Set<string>();
  const controller = new AbortController();
  await api.watch<SecretView>(
    secretsPath,
    list.metadata.resourceVersion,
    (type, s) => {
      if (type !== 'ADDED' && type !== 'MODIFIED') return false;
      const k = key(s.metadata);
      if (!oldTokens.has(k) || refilled.has(k) || !s.data?.token || s.data.token === oldTokens.get(k)) return false;
      refilled.add(k);
      for (const dep of dependents) {
        if (dep.waitingFor.delete(k) && dep.waitingFor.size === 0) ready.push(dep.d);
      }
      pump();
      return refilled.size === oldTokens.size;
    },
    controller.signal,
  );
  while (restarted < dependents.length)
    await new Promise<void>((r) => {
      wake = r;
      pump();
    });
  console.log(`refilled ${refilled.size} Secrets, restarted ${restarted} Deployments`);
}
await api.close();
