// Small kubectl-backed requests the e2e tests share.
import { mustKubectl, type Cluster } from './harness.ts';
import { waitFor } from './wait.ts';

export interface TokenReviewResult {
  authenticated: boolean;
  username?: string;
  error?: string;
}

/** Asks the API server (as admin) whether a bearer token authenticates, as the seed did with curl. */
export async function tokenReview(cluster: Cluster, token: string): Promise<TokenReviewResult> {
  const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } };
  const out = await mustKubectl(cluster, ['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(review) });
  const status = (JSON.parse(out) as { status?: { authenticated?: boolean; user?: { username?: string }; error?: string } }).status ?? {};
  return { authenticated: status.authenticated === true, username: status.user?.username, error: status.error };
}

/** `kubectl apply` of a JSON/YAML document as admin. */
export async function apply(cluster: Cluster, manifest: unknown): Promise<string> {
  const input = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
  return await mustKubectl(cluster, ['apply', '-f', '-'], { input });
}

/** Reads one object as JSON (admin), or undefined when it does not exist. */
export async function getJson<T = Record<string, unknown>>(cluster: Cluster, args: string[]): Promise<T | undefined> {
  const r = await cluster.kubectl(['get', ...args, '-o', 'json']);
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout) as T;
}

/** The HTTP status class kubectl reports for a raw GET made with the given kubeconfig. */
export async function rawGetStatus(cluster: Cluster, kubeconfig: string, path: string): Promise<string> {
  const r = await cluster.kubectl(['get', '--raw', path], { kubeconfig });
  if (r.code === 0) return 'OK';
  const m = /\((Forbidden|Unauthorized|NotFound)\)/.exec(r.stderr) ?? /error: You must be logged in|Unauthorized/.exec(r.stderr);
  if (m) return m[1] ?? 'Unauthorized';
  return r.stderr.trim();
}

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

/** Waits until an AuthPolicy's condition satisfies `ok`, saying what it last saw on timeout. */
export async function waitForCondition(
  cluster: Cluster,
  policy: string,
  type: string,
  ok: (c: ConditionView) => boolean,
  timeoutMs = 60_000,
): Promise<ConditionView> {
  let last: ConditionView | undefined;
  try {
    return await waitFor(
      `authpolicy/${policy} condition ${type}`,
      async () => {
        const p = await getJson<{ metadata: { generation: number }; status?: { conditions?: ConditionView[] } }>(cluster, ['authpolicy', policy]);
        last = p?.status?.conditions?.find((c) => c.type === type);
        return last && last.observedGeneration === p?.metadata.generation && ok(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 300 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last ${type}: ${JSON.stringify(last)}`, { cause: err });
  }
}

/** Reads status.<area> of an AuthPolicy. */
export async function areaStatus<T = Record<string, unknown>>(cluster: Cluster, policy: string, area: string): Promise<T | undefined> {
  const p = await getJson<{ status?: Record<string, unknown> }>(cluster, ['authpolicy', policy]);
  return p?.status?.[area] as T | undefined;
}
