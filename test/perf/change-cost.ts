// What changes nobody acts on, and idling, cost the operator: reconciles and API requests counted from its own
// /metrics on a real control plane. Run: node test/perf/change-cost.ts [secrets=300] [idleSeconds=60]
// (about 4 minutes; prints one JSON line). Used for docs/performance.md's "what was cut": the same script run on
// the commit before and after a change.
//   1. a burst of last-used stamps: the API server's kubernetes.io/legacy-token-last-used label, written on
//      every token Secret at once (as it does, once a day, on each Secret whose token is used);
//   2. a rotation of every token (spec.legacyTokens.rotationRequestedAt), until each is filled again and the
//      operator is quiet;
//   3. idle: leader election, polls, periodic reconciles, for idleSeconds.
import { mustKubectl, startCluster } from '../cluster/harness.ts';
import { installOperatorPrereqs, operatorKubeconfig, startOperator } from '../cluster/operator.ts';
import { apply, waitForCondition } from '../cluster/requests.ts';
import { waitFor } from '../cluster/wait.ts';

const secrets = Number(process.argv[2] ?? 300);
const idleSeconds = Number(process.argv[3] ?? 60);
const NS = 'perf';

/** Sums of a counter's series by the given labels, e.g. {"PUT leases": 30}. */
function counter(text: string, name: string, labels: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const pairs = new Map([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1] ?? '', p[2] ?? '']));
    const key = labels.map((l) => pairs.get(l) ?? '').join(' ');
    out[key] = (out[key] ?? 0) + Number(m[2]);
  }
  return out;
}
const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(a)
      .map(([k, v]) => [k, v - (b[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
const total = (r: Record<string, number>): number => Object.values(r).reduce((s, v) => s + v, 0);

const cluster = await startCluster({ scheduler: false });
try {
  await installOperatorPrereqs(cluster);
  await mustKubectl(cluster, ['create', 'namespace', NS]);
  const items = Array.from({ length: secrets }, (_, i) => [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: `sa-${i}`, namespace: NS } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: `sa-${i}-token`, namespace: NS, annotations: { 'kubernetes.io/service-account.name': `sa-${i}` } },
    },
  ]).flat();
  await mustKubectl(cluster, ['apply', '--server-side', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  await waitFor(
    'the tokens controller to fill every Secret',
    async () => {
      const out = await mustKubectl(cluster, ['get', 'secrets', '-n', NS, '-o', 'jsonpath={range .items[*]}{.data.token}{"\\n"}{end}']);
      return out.split('\n').filter((l) => l.length > 0).length >= secrets;
    },
    { timeoutMs: 180_000, intervalMs: 1000 },
  );
  await apply(cluster, { apiVersion: 'authpolicy.io/v1alpha1', kind: 'AuthPolicy', metadata: { name: 'cluster' }, spec: {} });
  const op = startOperator({ kubeconfig: await operatorKubeconfig(cluster), args: ['--leader-elect', '--log-level=info'] });
  try {
    await waitForCondition(cluster, 'cluster', 'Ready', () => true, 180_000);
    const settle = async (): Promise<string> => {
      // Quiet: no reconcile for 5 s (each change's reconciles are done).
      let last = '';
      let since = Date.now();
      return await waitFor(
        'the operator to settle',
        async () => {
          const m = await op.metrics();
          const now = JSON.stringify(counter(m, 'controller_runtime_reconcile_total', []));
          if (now !== last) [last, since] = [now, Date.now()];
          return Date.now() - since >= 5000 ? m : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    };
    const m0 = await settle();
    const stamped = Date.now();
    await mustKubectl(cluster, [
      'label',
      'secrets',
      '--all',
      '-n',
      NS,
      '--overwrite',
      `kubernetes.io/legacy-token-last-used=${new Date().toISOString().slice(0, 10)}`,
    ]);
    const stampSeconds = (Date.now() - stamped) / 1000;
    const m1 = await settle();
    const rotationFrom = Date.now();
    const request = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await mustKubectl(cluster, [
      'patch',
      'authpolicy',
      'cluster',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { legacyTokens: { rotationRequestedAt: request } } }),
    ]);
    await waitFor(
      'every token Secret rotated for the request and filled again',
      async () => {
        const out = await mustKubectl(cluster, [
          'get',
          'secrets',
          '-n',
          NS,
          '-o',
          'jsonpath={range .items[*]}{.metadata.annotations.authpolicy\\.io/rotated-for-request}={.data.token}{"\\n"}{end}',
        ]);
        return out.split('\n').filter((l) => l.startsWith(`${request}=`) && l.length > request.length + 1).length >= secrets;
      },
      { timeoutMs: 600_000, intervalMs: 1000 },
    );
    const rotationSeconds = (Date.now() - rotationFrom) / 1000;
    const m1r = await settle();
    const idleFrom = Date.now();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000)); // the measurement period itself
    const m2 = await op.metrics();
    const reconciles = (a: string, b: string): number =>
      total(diff(counter(a, 'controller_runtime_reconcile_total', []), counter(b, 'controller_runtime_reconcile_total', [])));
    const requests = (a: string, b: string): Record<string, number> =>
      diff(counter(a, 'authpolicy_api_requests_total', ['verb', 'resource']), counter(b, 'authpolicy_api_requests_total', ['verb', 'resource']));
    console.log(
      JSON.stringify({
        secrets,
        lastUsedBurst: { stamps: secrets, seconds: stampSeconds, reconciles: reconciles(m1, m0), requests: requests(m1, m0) },
        rotation: { seconds: rotationSeconds, reconciles: reconciles(m1r, m1), requests: requests(m1r, m1) },
        idle: { seconds: Math.round((Date.now() - idleFrom) / 1000), reconciles: reconciles(m2, m1r), requests: requests(m2, m1r) },
      }),
    );
  } finally {
    await op.stop();
  }
} finally {
  await cluster.stop();
}
