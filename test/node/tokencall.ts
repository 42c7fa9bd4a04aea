// Deployments of `tokencall` on a real node, and the calls their containers log. tokencall (build/images)
// GETs /api with the token its Pod mounted every INTERVAL and prints "<time> status=<code>"; the four ways
// a Pod can hold a legacy token Secret are the four mounting styles here.
import { apply, getJson } from '../cluster/requests.ts';
import { mustKubectl, type Cluster } from '../cluster/harness.ts';
import { waitFor } from '../cluster/wait.ts';
import { TOKENCALL_IMAGE } from './node-config.ts';
import type { RealNode } from './real-node.ts';

/** The caller's legacy token as its Secret holds it now (base64; '' until the tokens controller fills it). */
export async function callerToken(cluster: Cluster, namespace: string, secret: string): Promise<string> {
  const s = await getJson<{ data?: { token?: string } }>(cluster, ['secret', secret, '-n', namespace]);
  return s?.data?.token ?? '';
}

/**
 * A namespace with ServiceAccount `caller` and its legacy token Secret, filled by the tokens controller, bound to
 * system:discovery: the API server answers GET /api with 200 for a live token and 401 for a dead one.
 */
export async function createCaller(cluster: Cluster, namespace: string, secret: string): Promise<void> {
  await mustKubectl(cluster, ['create', 'namespace', namespace]);
  await apply(cluster, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'caller', namespace } });
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: secret, namespace, annotations: { 'kubernetes.io/service-account.name': 'caller' } },
  });
  await waitFor(`secret ${namespace}/${secret} to get a token`, async () => (await callerToken(cluster, namespace, secret)) !== '');
  await mustKubectl(cluster, ['create', 'clusterrolebinding', 'caller-discovery', '--clusterrole=system:discovery', `--serviceaccount=${namespace}:caller`]);
}

export const STYLES = ['volume', 'projected', 'env', 'subpath'] as const;
export type Style = (typeof STYLES)[number];

/** How each style hands the token (and the CA) to the container. */
function mounting(style: Style, secret: string): { env: unknown[]; volumes: unknown[]; volumeMounts: unknown[] } {
  const fromFiles = [
    { name: 'TOKEN_FILE', value: '/var/run/tok/token' },
    { name: 'CA_FILE', value: '/var/run/tok/ca.crt' },
  ];
  switch (style) {
    case 'volume':
      return { env: fromFiles, volumes: [{ name: 't', secret: { secretName: secret } }], volumeMounts: [{ name: 't', mountPath: '/var/run/tok' }] };
    case 'projected':
      return {
        env: fromFiles,
        volumes: [{ name: 't', projected: { sources: [{ secret: { name: secret } }] } }],
        volumeMounts: [{ name: 't', mountPath: '/var/run/tok' }],
      };
    case 'subpath':
      return {
        env: fromFiles,
        volumes: [{ name: 't', secret: { secretName: secret } }],
        volumeMounts: [
          { name: 't', mountPath: '/var/run/tok/token', subPath: 'token' },
          { name: 't', mountPath: '/var/run/tok/ca.crt', subPath: 'ca.crt' },
        ],
      };
    case 'env':
      return {
        env: [
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: secret, key: 'token' } } },
          { name: 'CA', valueFrom: { secretKeyRef: { name: secret, key: 'ca.crt' } } },
        ],
        volumes: [],
        volumeMounts: [],
      };
  }
}

export interface TokencallDeployment {
  name: string;
  namespace: string;
  secret: string;
  style: Style;
  /** authpolicy.io/restart: "false" on the Deployment */
  optOut?: boolean;
}

/** A Deployment of one tokencall Pod on the real node (host network: the API server is on loopback). */
export function tokencallDeployment(cluster: Cluster, node: RealNode, d: TokencallDeployment): unknown {
  const m = mounting(d.style, d.secret);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: d.name, namespace: d.namespace, ...(d.optOut ? { annotations: { 'authpolicy.io/restart': 'false' } } : {}) },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: d.name } },
      template: {
        metadata: { labels: { app: d.name } },
        spec: {
          nodeName: node.name,
          hostNetwork: true,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 1,
          volumes: m.volumes,
          containers: [
            {
              name: 'call',
              image: TOKENCALL_IMAGE,
              imagePullPolicy: 'Never',
              env: [{ name: 'API_URL', value: cluster.server }, { name: 'INTERVAL', value: '2s' }, ...m.env],
              volumeMounts: m.volumeMounts,
            },
          ],
        },
      },
    },
  };
}

/** One call a container logged: its own timestamp and the HTTP status (0 when no answer came). */
export interface Call {
  pod: string;
  at: number;
  status: number;
}

interface PodView {
  metadata: { name: string; labels?: Record<string, string> };
}

/**
 * Every call every tokencall container in a namespace logged, kept as Pods come and go (the kubelet removes
 * a deleted Pod's log files, so they are read every second until stop()).
 */
export class CallRecorder {
  private readonly calls = new Map<string, Call[]>(); // by Pod name
  private readonly pods = new Map<string, string[]>(); // by app label
  private readonly timer: NodeJS.Timeout;

  private readonly cluster: Cluster;
  private readonly node: RealNode;
  private readonly namespace: string;

  constructor(cluster: Cluster, node: RealNode, namespace: string) {
    this.cluster = cluster;
    this.node = node;
    this.namespace = namespace;
    this.timer = setInterval(() => void this.record().catch(() => undefined), 1000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async record(): Promise<void> {
    const list = await getJson<{ items: PodView[] }>(this.cluster, ['pods', '-n', this.namespace]);
    for (const p of list?.items ?? []) {
      const app = p.metadata.labels?.app ?? '';
      const known = this.pods.get(app) ?? [];
      if (!known.includes(p.metadata.name)) this.pods.set(app, [...known, p.metadata.name]);
      const lines = await this.node.containerLog(this.namespace, p.metadata.name, 'call');
      if (lines.length < (this.calls.get(p.metadata.name)?.length ?? 0)) continue;
      this.calls.set(
        p.metadata.name,
        lines.flatMap((l) => {
          const m = /^(\S+) (?:status=(\d+)|error=)/.exec(l.text);
          return m ? [{ pod: p.metadata.name, at: Date.parse(m[1] ?? ''), status: Number(m[2] ?? 0) }] : [];
        }),
      );
    }
  }

  /** The Pods of a Deployment seen so far, oldest first. */
  podsOf(app: string): string[] {
    return this.pods.get(app) ?? [];
  }

  /** Every call the Deployment's Pods logged, in time order. */
  callsOf(app: string): Call[] {
    return this.podsOf(app)
      .flatMap((p) => this.calls.get(p) ?? [])
      .sort((a, b) => a.at - b.at);
  }

  /** The first call of `app` at or after `since` with `status` (from one of `pods`, when given), waiting for it. */
  async firstCall(app: string, status: number, since: number, timeoutMs: number, pods?: string[]): Promise<Call> {
    return await waitFor(
      `a call logged by deployment ${app}${pods ? ` (pods ${pods.join(',')})` : ''} with status ${status} after ${new Date(since).toISOString()}`,
      () => this.callsOf(app).find((c) => c.at >= since && c.status === status && (!pods || pods.includes(c.pod))),
      { timeoutMs, intervalMs: 1000 },
    );
  }
}
