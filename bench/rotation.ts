// Judging a rotation from the cluster (admin reads, not audited): every Secret holds
// a new token that authenticates, and every Deployment that mounts one rolled out
// exactly once (its deployment.kubernetes.io/revision rose by one) and completed.
import { Api, pool } from './kube.ts';
import { listDeployments, listSecrets, mountedSecrets, rolledOut } from './generate.ts';

const REVISION = 'deployment.kubernetes.io/revision';

export interface Baseline {
  tokens: Map<string, string>;
  revisions: Map<string, number>;
}

export interface RotationResult {
  finished: boolean;
  /** from the signing-key regeneration to every dependent rolled out (and staying so for the settle time) */
  seconds: number;
  /** when the last Secret held its new token */
  tokensSeconds?: number;
  secrets: number;
  secretsReissued: number;
  secretsAuthenticated: number;
  dependents: number;
  restartedOnce: number;
  restartedMoreThanOnce: number;
  notRestarted: number;
  /** extra restarts over one per dependent */
  extraRollouts: number;
}

const revision = (d: { metadata: { annotations?: Record<string, string> } }): number => Number(d.metadata.annotations?.[REVISION] ?? 0);

export async function baseline(admin: Api): Promise<Baseline> {
  const tokens = new Map((await listSecrets(admin)).map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s.data?.token ?? '']));
  const revisions = new Map((await listDeployments(admin)).map((d) => [`${d.metadata.namespace}/${d.metadata.name}`, revision(d)]));
  return { tokens, revisions };
}

/**
 * Polls until the rotation is complete and has stayed complete for `settleMs` (a second
 * rollout, as Reloader's after the refill, restarts the settle clock), or the deadline.
 */
export async function waitRotation(
  admin: Api,
  base: Baseline,
  startMs: number,
  timeoutMs: number,
  settleMs: number,
  log: (m: string) => void,
): Promise<RotationResult> {
  const intervalMs = Math.max(1000, Math.min(5000, base.tokens.size / 4));
  let doneSince: number | undefined;
  let doneKey = '';
  let tokensAt: number | undefined;
  let lastLine = '';
  let result: Omit<RotationResult, 'finished' | 'seconds' | 'secretsAuthenticated' | 'tokensSeconds'> | undefined;
  for (;;) {
    const now = Date.now();
    const secrets = await listSecrets(admin);
    const deployments = await listDeployments(admin);
    const rotated = new Set<string>();
    let reissued = 0;
    for (const s of secrets) {
      const key = `${s.metadata.namespace}/${s.metadata.name}`;
      const token = s.data?.token;
      if (token && token !== base.tokens.get(key)) {
        reissued++;
        rotated.add(key);
      }
    }
    if (reissued === base.tokens.size && tokensAt === undefined) tokensAt = now;
    let once = 0,
      more = 0,
      none = 0,
      extra = 0,
      complete = 0;
    const dependents = deployments.filter((d) => mountedSecrets(d).length > 0);
    for (const d of dependents) {
      const delta = revision(d) - (base.revisions.get(`${d.metadata.namespace}/${d.metadata.name}`) ?? 0);
      if (delta <= 0) none++;
      else if (delta === 1) once++;
      else {
        more++;
        extra += delta - 1;
      }
      if (delta > 0 && rolledOut(d)) complete++;
    }
    result = {
      secrets: base.tokens.size,
      secretsReissued: reissued,
      dependents: dependents.length,
      restartedOnce: once,
      restartedMoreThanOnce: more,
      notRestarted: none,
      extraRollouts: extra,
    };
    const line = `tokens re-issued ${reissued}/${base.tokens.size}, dependents rolled out ${complete}/${dependents.length} (more than once: ${more})`;
    if (line !== lastLine) {
      log(line);
      lastLine = line;
    }
    const done = reissued === base.tokens.size && complete === dependents.length;
    const key = deployments.map((d) => `${d.metadata.name}:${revision(d)}`).join(',');
    if (done && (doneSince === undefined || key !== doneKey)) {
      doneSince = now;
      doneKey = key;
    }
    if (!done) doneSince = undefined;
    if (doneSince !== undefined && now - doneSince >= settleMs) {
      return {
        finished: true,
        seconds: round((doneSince - startMs) / 1000),
        tokensSeconds: tokensAt && round((tokensAt - startMs) / 1000),
        secretsAuthenticated: await authenticated(admin),
        ...result,
      };
    }
    if (now - startMs > timeoutMs) {
      return {
        finished: false,
        seconds: round((now - startMs) / 1000),
        tokensSeconds: tokensAt && round((tokensAt - startMs) / 1000),
        secretsAuthenticated: await authenticated(admin),
        ...result,
      };
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** How many of the bench's token Secrets hold a token the API server accepts (a TokenReview each, as admin). */
async function authenticated(admin: Api): Promise<number> {
  let ok = 0;
  await pool(await listSecrets(admin), 8, async (s) => {
    if (!s.data?.token) return;
    const review = await admin.request<{ status?: { authenticated?: boolean } }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: Buffer.from(s.data.token, 'base64').toString() },
    });
    if (review.status?.authenticated) ok++;
  });
  return ok;
}
