// Judging a rotation from the cluster (admin reads, not audited): every Secret holds
// a new token that authenticates, and every Deployment that mounts one rolled out
// exactly once (its deployment.kubernetes.io/revision rose by one) and completed.
import { Api, pool } from './kube.ts';
import { listDeployments, listSecrets, mountedSecrets, rolledOut, type DeploymentView } from './generate.ts';

const REVISION = 'deployment.kubernetes.io/revision';
/** the restart marks a pod template carries: the operator's, and `kubectl rollout restart`'s (the script, the floor) */
const RESTART_MARKS = ['authpolicy.io/restartedAt', 'kubectl.kubernetes.io/restartedAt'];

/**
 * A signing-key regeneration: when it began, the new kube-apiserver's pid, and how many seconds after kube-apiserver
 * served kube-scheduler and kwok ran a canary Pod (kube-controller-manager started only then; see ../neighbours.ts).
 */
export interface Regeneration {
  start: number;
  apiserverPid?: number;
  neighboursSeconds?: number;
}

/**
 * Where a rotation's clock starts: at the regeneration, less the wait for kube-scheduler and kwok (nothing a contender
 * does completes before it: kube-controller-manager, and with it the tokens controller, starts after it).
 */
export const clockStart = (start: number, neighboursSeconds: number | undefined): number => start + (neighboursSeconds ?? 0) * 1000;

export interface Baseline {
  tokens: Map<string, string>;
  revisions: Map<string, number>;
}

export interface RotationResult {
  finished: boolean;
  /** from the signing-key regeneration (less the neighbours' wait, see clockStart) to every dependent rolled out (and staying so for the settle time) */
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
  /** the restarts timed from their marks (absent for Reloader, whose restarts carry no time) */
  rollouts?: RolloutTiming;
}

/**
 * How long the restarts took, each from its pod-template mark (the operator's `authpolicy.io/restartedAt` or
 * `kubectl.kubernetes.io/restartedAt`, whichever is newer) to the Deployment's Progressing condition turning
 * NewReplicaSetAvailable (to the second), and how many ran at once on average (the sum of their durations over
 * the span from the first restart to the last completion). With the regeneration's time, also when the first and
 * last restart were marked and the last one completed: a late rollout is then the contender's (a late mark) or the
 * cluster's (a long rollout).
 */
export interface RolloutTiming {
  timed: number;
  medianSeconds: number;
  p90Seconds: number;
  /** restarts started per second, first to last */
  startedPerSecond: number;
  /** rollouts in flight on average, first start to last completion */
  meanInFlight: number;
  /** seconds from the rotation's start (see clockStart) to the first and the last restart mark, and to the last completion */
  firstStartSeconds?: number;
  lastStartSeconds?: number;
  lastCompletedSeconds?: number;
  /** the slowest restart: mark to completion, in seconds */
  maxSeconds?: number;
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
    const finished = doneSince !== undefined && now - doneSince >= settleMs;
    if (finished || now - startMs > timeoutMs) {
      const rollouts = rolloutTiming(dependents, startMs);
      const end = finished ? (doneSince ?? now) : now;
      return {
        finished,
        seconds: round((end - startMs) / 1000),
        tokensSeconds: tokensAt && round((tokensAt - startMs) / 1000),
        secretsAuthenticated: await authenticated(admin),
        ...result,
        ...(rollouts ? { rollouts } : {}),
      };
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** The newest restart mark on a Deployment's pod template, in ms since the epoch (NaN when it carries none). */
function restartMark(d: DeploymentView): number {
  const annotations = d.spec.template.metadata?.annotations ?? {};
  const marks = RESTART_MARKS.map((k) => Date.parse(annotations[k] ?? '')).filter(Number.isFinite);
  return marks.length ? Math.max(...marks) : Number.NaN;
}

/**
 * The restarts timed from the Deployments themselves (see RolloutTiming); undefined when none carries a mark.
 * `sinceMs` (the rotation's start) leaves out marks of earlier rotations (kubectl's mark is to the second) and gives
 * the first, last and completion times relative to it.
 */
export function rolloutTiming(deployments: readonly DeploymentView[], sinceMs?: number): RolloutTiming | undefined {
  const spans: [number, number][] = [];
  for (const d of deployments) {
    const started = restartMark(d);
    if (sinceMs !== undefined && !(started + 1000 > sinceMs)) continue;
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable');
    const completed = Date.parse(progressing?.lastUpdateTime ?? '');
    if (Number.isFinite(started) && Number.isFinite(completed) && completed + 1000 > started) spans.push([started, Math.max(started, completed)]);
  }
  if (spans.length === 0) return undefined;
  const durations = spans.map(([a, b]) => (b - a) / 1000).sort((a, b) => a - b);
  const at = (q: number): number => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0;
  const starts = spans.map(([a]) => a);
  const first = Math.min(...starts);
  const lastCompleted = Math.max(...spans.map(([, b]) => b));
  const span = lastCompleted - first;
  const startSpan = Math.max(...starts) - first;
  const since = (ms: number): number => round(Math.max(0, ms - (sinceMs ?? 0)) / 1000);
  return {
    timed: spans.length,
    medianSeconds: round(at(0.5)),
    p90Seconds: round(at(0.9)),
    startedPerSecond: startSpan > 0 ? Math.round(((spans.length - 1) / (startSpan / 1000)) * 100) / 100 : 0,
    meanInFlight: span > 0 ? round(durations.reduce((n, x) => n + x, 0) / (span / 1000)) : 0,
    ...(sinceMs === undefined
      ? {}
      : {
          firstStartSeconds: since(first),
          lastStartSeconds: since(Math.max(...starts)),
          lastCompletedSeconds: since(lastCompleted),
          maxSeconds: round(durations.at(-1) ?? 0),
        }),
  };
}

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
