// The generated cluster: kwok Nodes (kwok renews their Leases every 10 s, as kubelets
// do), namespaces with a few ServiceAccounts, legacy token Secrets, one-replica
// Deployments mounting one or two of them (volume, env or projected source), and
// bare Pods up to the size's Pod count, spread over the Nodes. Growing from one size
// to the next creates only what is missing; names are stable (index-based).
import { Api, ApiError, pool } from './kube.ts';
import type { Size } from './presets.ts';

export const NS_PREFIX = 'bench-';
export const TOKEN_TYPE = 'kubernetes.io/service-account-token';
const SERVICE_ACCOUNTS = 5;
export const TOLERATE_NOT_READY = [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' }];

export const nsName = (size: Size, i: number): string => `${NS_PREFIX}${String(i % size.namespaces).padStart(3, '0')}`;

async function createAll(api: Api, items: { path: string; body: unknown }[], parallelism: number): Promise<void> {
  await pool(items, parallelism, async ({ path, body }) => {
    try {
      await api.request('POST', path, body);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409)) throw err;
    }
  });
}

function deployment(size: Size, j: number): { path: string; body: unknown } {
  const ns = nsName(size, j);
  const first = `tok-${j}`;
  const second = j % 2 === 1 && j + size.namespaces < size.secrets ? `tok-${j + size.namespaces}` : undefined;
  const volumes: unknown[] = [];
  const env: unknown[] = [];
  if (j % 3 === 0) volumes.push({ name: 'token', secret: { secretName: first } });
  else if (j % 3 === 1) env.push({ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: first, key: 'token' } } });
  else volumes.push({ name: 'token', projected: { sources: [{ secret: { name: first, items: [{ key: 'token', path: 'token' }] } }] } });
  if (second) volumes.push({ name: 'token2', secret: { secretName: second } });
  const labels = { app: `app-${j}` };
  return {
    path: `/apis/apps/v1/namespaces/${ns}/deployments`,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `app-${j}`, namespace: ns, annotations: { 'reloader.stakater.com/auto': 'true' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: `sa-${j % SERVICE_ACCOUNTS}`,
            tolerations: TOLERATE_NOT_READY,
            volumes,
            containers: [
              {
                name: 'app',
                image: 'registry.invalid/app:1',
                env,
                volumeMounts: volumes.map((v) => ({ name: (v as { name: string }).name, mountPath: `/var/run/${(v as { name: string }).name}` })),
              },
            ],
          },
        },
      },
    },
  };
}

/** Creates what `to` has and `from` had not; waits for nothing (see waitSettled). */
export async function generate(admin: Api, from: Size | undefined, to: Size, parallelism = 8, log: (m: string) => void = console.log): Promise<void> {
  const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
  if (from && from.namespaces !== to.namespaces) throw new Error('sizes on one cluster must share the namespace count (names are index-based)');
  log(`nodes ${from?.nodes ?? 0} → ${to.nodes}`);
  await createAll(
    admin,
    range(from?.nodes ?? 0, to.nodes).map((i) => ({
      path: '/api/v1/nodes',
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: `kwok-node-${i}`, labels: { type: 'kwok', 'kubernetes.io/hostname': `kwok-node-${i}` } } },
    })),
    parallelism,
  );
  await createAll(
    admin,
    range(0, to.namespaces).map((i) => ({
      path: '/api/v1/namespaces',
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsName(to, i) } },
    })),
    parallelism,
  );
  await createAll(
    admin,
    range(0, to.namespaces).flatMap((i) =>
      range(0, SERVICE_ACCOUNTS).map((k) => ({
        path: `/api/v1/namespaces/${nsName(to, i)}/serviceaccounts`,
        body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `sa-${k}`, namespace: nsName(to, i) } },
      })),
    ),
    parallelism,
  );
  log(`secrets ${from?.secrets ?? 0} → ${to.secrets}`);
  await createAll(
    admin,
    range(from?.secrets ?? 0, to.secrets).map((i) => ({
      path: `/api/v1/namespaces/${nsName(to, i)}/secrets`,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: TOKEN_TYPE,
        metadata: { name: `tok-${i}`, namespace: nsName(to, i), annotations: { 'kubernetes.io/service-account.name': `sa-${i % SERVICE_ACCOUNTS}` } },
      },
    })),
    parallelism,
  );
  log(`deployments ${from?.deployments ?? 0} → ${to.deployments}`);
  await createAll(
    admin,
    range(from?.deployments ?? 0, to.deployments).map((j) => deployment(to, j)),
    parallelism,
  );
  const bare = (s: Size | undefined): number => (s ? Math.max(0, s.pods - s.deployments) : 0);
  log(`bare pods ${bare(from)} → ${bare(to)}`);
  await createAll(
    admin,
    range(bare(from), bare(to)).map((p) => ({
      path: `/api/v1/namespaces/${nsName(to, p)}/pods`,
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `pod-${p}`, namespace: nsName(to, p), labels: { role: 'other' } },
        spec: {
          nodeName: `kwok-node-${p % to.nodes}`,
          serviceAccountName: `sa-${p % SERVICE_ACCOUNTS}`,
          containers: [{ name: 'c', image: 'registry.invalid/other:1' }],
        },
      },
    })),
    parallelism,
  );
}

export interface SecretView {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; annotations?: Record<string, string> };
  data?: { token?: string };
}
export interface DeploymentView {
  metadata: { name: string; namespace: string; generation: number; annotations?: Record<string, string> };
  spec: {
    replicas?: number;
    template: {
      metadata?: { annotations?: Record<string, string> };
      spec: {
        volumes?: { secret?: { secretName?: string }; projected?: { sources?: { secret?: { name?: string } }[] } }[];
        containers: { env?: { valueFrom?: { secretKeyRef?: { name?: string } } }[]; envFrom?: { secretRef?: { name?: string } }[] }[];
      };
    };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: { type: string; reason?: string; lastUpdateTime?: string }[];
  };
}

/** The Secret names a Deployment's pod template uses. */
export function mountedSecrets(d: DeploymentView): string[] {
  const out = new Set<string>();
  for (const v of d.spec.template.spec.volumes ?? []) {
    if (v.secret?.secretName) out.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) out.add(s.secret.name);
  }
  for (const c of d.spec.template.spec.containers) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) out.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) out.add(e.secretRef.name);
  }
  return [...out];
}

export const rolledOut = (d: DeploymentView): boolean => {
  const want = d.spec.replicas ?? 1;
  const s = d.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= d.metadata.generation &&
    s.updatedReplicas === want &&
    s.availableReplicas === want &&
    (s.replicas ?? 0) === want &&
    !s.unavailableReplicas
  );
};

export async function listSecrets(admin: Api): Promise<SecretView[]> {
  const l = await admin.request<{ items: SecretView[] }>('GET', `/api/v1/secrets?fieldSelector=type%3D${encodeURIComponent(TOKEN_TYPE)}`);
  return l.items.filter((s) => s.metadata.namespace.startsWith(NS_PREFIX));
}

export async function listDeployments(admin: Api): Promise<DeploymentView[]> {
  const l = await admin.request<{ items: DeploymentView[] }>('GET', '/apis/apps/v1/deployments');
  return l.items.filter((d) => d.metadata.namespace.startsWith(NS_PREFIX));
}

/** Waits until every Secret has a token, every Deployment has rolled out and every Pod runs. */
export async function waitSettled(admin: Api, size: Size, timeoutMs: number, log: (m: string) => void = console.log): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const secrets = await listSecrets(admin);
    const deployments = await listDeployments(admin);
    const pods = (await admin.request<{ items: { metadata: { namespace: string }; status?: { phase?: string } }[] }>('GET', '/api/v1/pods')).items.filter((p) =>
      p.metadata.namespace.startsWith(NS_PREFIX),
    );
    const filled = secrets.filter((s) => s.data?.token).length;
    const rolled = deployments.filter(rolledOut).length;
    const running = pods.filter((p) => p.status?.phase === 'Running').length;
    const now = `secrets with a token ${filled}/${size.secrets}, deployments rolled out ${rolled}/${size.deployments}, pods running ${running}/${size.pods}`;
    if (now !== last) {
      log(now);
      last = now;
    }
    if (filled === size.secrets && rolled === size.deployments && running >= size.pods) return;
    if (Date.now() > deadline) throw new Error(`the generated cluster did not settle within ${timeoutMs / 1000} s: ${now}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
