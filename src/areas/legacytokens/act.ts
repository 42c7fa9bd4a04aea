// Rotating legacy tokens in place, safely. kube-controller-manager's tokens
// controller re-issues a Secret's token when its `token` key is empty, keeping
// the Secret's name (upstream pkg/controller/serviceaccount/tokens_controller.go,
// `needsToken := len(tokenData) == 0`); the e2e tests confirm it on a real
// control plane. Before blanking any live Secret the operator proves the tokens
// controller works with a throwaway canary Secret; then it rotates one Secret
// alone, and the rest a few at a time (more at once where the old tokens are
// already refused, as after a signing-key regeneration). It never waits inside a reconcile: it
// blanks and returns, the refill's informer event wakes the next reconcile, and
// the Secret's rotation-state annotation (pending) carries the step across
// reconciles and restarts.
import { randomBytes } from 'node:crypto';
import { describeError, isConflict } from '../../kube/errors.ts';
import { tokenSecretCache, type TokenSecret } from '../../kube/token-secrets.ts';
import { PublishedKeys } from '../../kube/service-account-keys.ts';
import type { CacheHandle } from '../../kube/cache-spec.ts';
import { collectionPath, objectPath, Resources } from '../../kube/paths.ts';
import { settleBounded } from '../../runtime/bounded.ts';
import type { AreaContext, AreaReport } from '../area.ts';
import * as annotations from '../../api/annotations.ts';
import { ConditionType, EventReason, Reason } from '../../api/reasons.ts';
import { CANARY_PREFIX, canarySecret, isCanary } from './canary.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from './plan.ts';
import { list, refId, rotationText, type RotateAction as Rotate, type SecretRef } from './plan/types.ts';
import type { RecentRestarts } from './restart-record.ts';
import { restart } from './restart.ts';
import { RotationRunEvents } from './rotation-events.ts';

/**
 * Secrets blanked and not yet refilled at once, once the first one came back, before a token that still
 * authenticates is blanked: a stuck tokens controller takes at most this many working tokens away.
 */
const ROTATION_CONCURRENCY = 4;
/**
 * The same before a token the API server already refuses (InvalidToken: a regenerated signing key) is
 * blanked: blanking it takes nothing away, so more Secrets wait on the tokens controller at once and a
 * rotation of thousands goes at the controller's pace (about 10 a second at its default client QPS)
 * rather than at four per round trip. A stuck controller still pauses the rotation (overdue).
 */
const DEAD_TOKEN_CONCURRENCY = 16;
/** Writes in flight at once (blanks, then restarts and done marks): a burst never floods the API server. */
const WRITES_IN_FLIGHT = 4;

export interface CanaryState {
  verifiedAt: number;
  failedAt: number;
  failure: string | undefined;
  /** the canary created and not yet judged: the next reconcile (woken by its refill) looks at it */
  pending?: { name: string; namespace: string; createdAt: number } | undefined;
  /** when this process last saw a live Secret it blanked refilled: proof enough to blank a few at once */
  liveRefilledAt?: number | undefined;
}

const CANARY_VALID_MS = 10 * 60_000;
const CANARY_RETRY_MS = 30_000;
/** How soon to look again while a canary or a blanked Secret awaits its token (the informer event of the refill usually comes first). */
const REFILL_RECHECK_MS = 1000;

const canaryFailure = (namespace: string, name: string, timeoutMs: number): string =>
  `kube-controller-manager's tokens controller did not fill the canary Secret ${namespace}/${name} within ${Math.round(timeoutMs / 1000)}s, so no live token Secret was touched: legacy tokens cannot be re-issued in this cluster now. kube-controller-manager needs --service-account-private-key-file and its serviceaccount-token-controller; where tokens are signed externally (--service-account-signing-endpoint, KEP-740) it has neither, and the users of legacy tokens must move to projected serviceAccountToken volumes (TokenRequest)`;

/**
 * Proves the tokens controller fills a new token Secret, with a canary for the operator namespace's default
 * ServiceAccount, without waiting inside the reconcile: the first call creates the canary ('pending'), a later
 * one (woken by the refill's informer event, or the recheck) finds it filled ('verified') or past the timeout
 * (failure: why, in words). A canary left by an earlier process is deleted.
 */
async function verifyTokensController(
  ctx: AreaContext,
  secretCache: CacheHandle<TokenSecret>,
  state: CanaryState,
  timeoutMs: number,
  namespace: string,
): Promise<{ verified: boolean; failure?: string }> {
  const now = ctx.now().getTime();
  if (now - state.verifiedAt < CANARY_VALID_MS) return { verified: true };
  if (state.failure && now - state.failedAt < CANARY_RETRY_MS) return { verified: false, failure: state.failure };
  const cache = ctx.cache(secretCache);
  const remove = (name: string): Promise<unknown> => ctx.client.delete(objectPath(Resources.secrets, name, namespace)).catch(() => undefined);
  const pending = state.pending;
  if (pending) {
    if (cache.get(pending.name, pending.namespace)?.tokenHash) {
      Object.assign(state, { verifiedAt: now, failure: undefined, pending: undefined });
      await remove(pending.name);
      return { verified: true };
    }
    if (now - pending.createdAt < timeoutMs) return { verified: false };
    Object.assign(state, { pending: undefined, failedAt: now, failure: canaryFailure(namespace, pending.name, timeoutMs) });
    await remove(pending.name);
    ctx.log.warn('tokens controller unavailable', { canary: `${namespace}/${pending.name}` });
    return { verified: false, failure: state.failure ?? '' };
  }
  for (const left of cache.list(namespace).filter((s) => isCanary(s.metadata.name))) await remove(left.metadata.name);
  const name = `${CANARY_PREFIX}${randomBytes(4).toString('hex')}`;
  await ctx.client.create(collectionPath(Resources.secrets, namespace), canarySecret(name, namespace));
  state.pending = { name, namespace, createdAt: now };
  return { verified: false };
}

async function rotate(ctx: AreaContext, a: Rotate): Promise<void> {
  const path = objectPath(Resources.secrets, a.secret.name, a.secret.namespace);
  // One merge patch blanks the token and records the rotation; the resourceVersion
  // makes it a no-op (409) if the Secret changed since it was judged.
  await ctx.client.mergePatch(path, {
    metadata: {
      resourceVersion: a.secret.resourceVersion,
      annotations: {
        [annotations.ROTATION]: a.rotation,
        [annotations.ROTATION_STATE]: 'pending',
        [annotations.ROTATED_AT]: ctx.now().toISOString(),
        [annotations.ROTATED_FROM]: a.tokenHash ?? null,
        [annotations.ROTATED_UNDER]: a.apiservers,
        ...(a.request ? { [annotations.ROTATED_FOR_REQUEST]: a.request } : {}),
      },
    },
    data: { token: null },
  });
  // Both outcomes exist from the first blank in a namespace: the first failure is an increase the alert sees.
  for (const result of ['succeeded', 'failed']) ctx.metrics?.tokenRotations.inc({ namespace: a.secret.namespace, result }, 0);
  ctx.log.info('rotating token secret', { secret: `${a.secret.namespace}/${a.secret.name}`, rotation: a.rotation, triggers: a.triggers });
}

/**
 * Blanked Secrets this process awaits, by namespace/name, with the resourceVersion the blank was planned
 * from: counted once as succeeded (refilled) or failed (timed out).
 */
type Awaited = Map<string, SecretRef>;

/**
 * Whether the cache still shows a Secret as it was before this process wrote it. A reconcile woken by
 * another change may plan from a cache that has not seen the operator's own write yet: it must neither
 * repeat the write (a 409, a failed reconcile and a retry) nor take the Secret for refilled.
 */
function unseen(ctx: AreaContext, secretCache: CacheHandle<TokenSecret>, written: SecretRef): boolean {
  return ctx.cache(secretCache).get(written.name, written.namespace)?.metadata.resourceVersion === written.resourceVersion;
}

/** Secrets blanked longer than tokenControllerTimeout ago (from their rotated-at annotation, so it holds across restarts). */
function overdue(plan: LegacyTokensPlan, now: number): string[] {
  return plan.awaitingRefill.filter((s) => now - (Date.parse(s.rotatedAt ?? '') || 0) >= plan.tokenControllerTimeoutMs).map((s) => `${s.namespace}/${s.name}`);
}

function countRefills(
  ctx: AreaContext,
  secretCache: CacheHandle<TokenSecret>,
  plan: LegacyTokensPlan,
  canary: CanaryState,
  awaited: Awaited,
  stuck: string[],
): void {
  const still = new Set(plan.awaitingRefill.map((s) => `${s.namespace}/${s.name}`));
  for (const [secret, blanked] of awaited) {
    const failed = stuck.includes(secret);
    if ((still.has(secret) || unseen(ctx, secretCache, blanked)) && !failed) continue;
    if (!failed) canary.liveRefilledAt = ctx.now().getTime();
    ctx.metrics?.tokenRotations.inc({ namespace: blanked.namespace, result: failed ? 'failed' : 'succeeded' });
    awaited.delete(secret);
  }
}

/**
 * Rotations without waiting inside the reconcile: blank, return, and let the refill's informer event
 * wake the next reconcile. The canary first; then the first live Secret alone (until one rotation is
 * seen refilled), then a working token only while fewer than ROTATION_CONCURRENCY are blank, a refused
 * one while fewer than DEAD_TOKEN_CONCURRENCY are; none while one is overdue.
 * Returns a condition message when rotation must pause, else whether more remains to do.
 */
async function rotateSome(
  ctx: AreaContext,
  secretCache: CacheHandle<TokenSecret>,
  plan: LegacyTokensPlan,
  canary: CanaryState,
  awaited: Awaited,
  runEvents: RotationRunEvents,
  operatorNamespace: string,
): Promise<{ paused?: string; holding?: string; waiting: boolean }> {
  if (ctx.signal.aborted) return { waiting: false }; // shutting down or deposed
  const stuck = overdue(plan, ctx.now().getTime());
  countRefills(ctx, secretCache, plan, canary, awaited, stuck);
  if (stuck.length > 0) {
    canary.verifiedAt = 0;
    canary.liveRefilledAt = undefined;
    return {
      waiting: false,
      paused: `the tokens controller did not refill ${list(stuck)} within ${Math.round(plan.tokenControllerTimeoutMs / 1000)}s; rotation paused. Check kube-controller-manager's serviceaccount-token-controller`,
    };
  }
  // Blanks the cache has not shown yet: not to be repeated, and still blank.
  const inFlight = new Set([...awaited].filter(([, blanked]) => unseen(ctx, secretCache, blanked)).map(([secret]) => secret));
  const rotations = plan.actions.filter((a): a is Rotate => a.kind === 'rotate' && !inFlight.has(`${a.secret.namespace}/${a.secret.name}`));
  const blank = plan.awaitingRefill.length + inFlight.size;
  if (rotations.length === 0) return { waiting: blank > 0 };
  const proof = await verifyTokensController(ctx, secretCache, canary, plan.tokenControllerTimeoutMs, operatorNamespace);
  // A canary retried after a failure: the failure stands (no new Event) until the canary is filled.
  if (proof.failure !== undefined) return { waiting: false, paused: proof.failure };
  if (!proof.verified) return { waiting: true, ...(canary.failure ? { holding: canary.failure } : {}) };
  // The first live Secret alone until one is seen refilled (recorded on a Secret still pending, or seen
  // by this process since its canary was verified); then a few at once.
  const provenLive = plan.refilledRotations > 0 || (canary.liveRefilledAt ?? 0) >= canary.verifiedAt;
  const limit = (a: Rotate): number => (!provenLive ? 1 : a.triggers.includes('InvalidToken') ? DEAD_TOKEN_CONCURRENCY : ROTATION_CONCURRENCY);
  const batch: Rotate[] = [];
  for (const a of rotations) if (blank + batch.length < limit(a)) batch.push(a);
  const results = await settleBounded(batch, WRITES_IN_FLIGHT, (a) => rotate(ctx, a), ctx.signal);
  const blanked = batch.filter((_, i) => results[i]?.status === 'fulfilled');
  for (const a of blanked) awaited.set(`${a.secret.namespace}/${a.secret.name}`, a.secret);
  // One TokenRotated per run, however many Secrets (a 5,000-Secret rotation must not flood Events).
  const names = blanked.map((a) => `${a.secret.namespace}/${a.secret.name} (${a.triggers.join(', ')})`);
  await runEvents.blanked(
    ctx,
    blanked.map((a) => refId(a.secret)),
    names,
    rotations.length + blank,
  );
  const failed = results.find((r): r is PromiseRejectedResult => r?.status === 'rejected');
  if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(describeError(failed.reason));
  return { waiting: true };
}

export function createActor(
  canary: CanaryState,
  recent: RecentRestarts,
  operatorNamespace: string,
  /** the token-Secret cache the area was wired with (its name is what act looks Secrets up by) */
  secretCache: CacheHandle<TokenSecret> = tokenSecretCache(new PublishedKeys()),
): (ctx: AreaContext, plan: LegacyTokensPlan) => Promise<AreaReport> {
  const awaited: Awaited = new Map();
  /** Secrets this process marked done, with the version the mark was planned from, until the cache shows the mark. */
  const finishing = new Map<string, SecretRef>();
  const runEvents = new RotationRunEvents();
  return async (ctx, plan) => {
    if (plan.dryRun) {
      // One Event per change of what would be rotated, not one per Secret and reconcile.
      const would = plan.actions.filter((a): a is Rotate => a.kind === 'rotate').map((a) => rotationText(a));
      if (would.length > 0)
        await ctx.events?.recordChange(ctx.policyRef, 'Normal', EventReason.DryRun, `would rotate ${would.length} secret(s) in place: ${list(would)}`);
      return plan.report;
    }
    const report: AreaReport = { ...plan.report, summary: { ...plan.report.summary } };
    // Done marks planned from the very version this process marked: done already, the plan's cache lagged. Judged
    // against the plan before forgetting marks the cache now shows (its event may have come after the plan).
    const markedAlready = new Set(
      plan.actions.flatMap((a) =>
        a.kind === 'finish' && finishing.get(refId(a.secret))?.resourceVersion === a.secret.resourceVersion ? [refId(a.secret)] : [],
      ),
    );
    for (const [secret, marked] of finishing) if (!unseen(ctx, secretCache, marked)) finishing.delete(secret);
    for (const a of plan.actions) {
      if (a.kind !== 'revive' || ctx.signal.aborted) continue;
      // Under the version the plan judged: a Secret changed since (re-labelled, given another token) is a 409, judged again.
      await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), {
        metadata: { resourceVersion: a.secret.resourceVersion, labels: { [annotations.LEGACY_TOKEN_INVALID_SINCE]: null } },
      });
      await ctx.events?.record(
        ctx.policyRef,
        'Normal',
        EventReason.TokenRevived,
        `removed ${annotations.LEGACY_TOKEN_INVALID_SINCE} from secret ${a.secret.namespace}/${a.secret.name} (spec.legacyTokens.reviveInvalidated)`,
      );
    }
    const rotation = await rotateSome(ctx, secretCache, plan, canary, awaited, runEvents, operatorNamespace);
    const unavailable = rotation.paused ?? rotation.holding;
    if (unavailable !== undefined) {
      if (rotation.paused !== undefined) await ctx.events?.record(ctx.policyRef, 'Warning', EventReason.TokenControllerUnavailable, unavailable);
      return {
        ...report,
        conditions: report.conditions.map((c) =>
          c.type === ConditionType.LegacyTokensReady ? { ...c, status: 'False', reason: Reason.TokenControllerUnavailable, message: unavailable } : c,
        ),
        summary: { ...report.summary, tokenControllerUnavailable: unavailable },
        requeueAfterMs: rotation.paused !== undefined ? CANARY_RETRY_MS : REFILL_RECHECK_MS,
      };
    }
    // One failing write (a webhook refusing a restart, a workload deleted meanwhile) must not starve the others.
    // Restarts first (a freed rollout slot is the scarce thing), then the done marks; WRITES_IN_FLIGHT at once.
    let failed: unknown;
    type Finish = Extract<LegacyTokensAction, { kind: 'finish' }>;
    const writes = [...plan.actions.filter((a) => a.kind === 'restart'), ...plan.actions.filter((a): a is Finish => a.kind === 'finish')];
    const write = async (a: (typeof writes)[number]): Promise<{ restarted?: string; finished?: Finish }> => {
      try {
        if (a.kind === 'restart') {
          const what = await restart(ctx, a, recent);
          return what ? { restarted: what } : {};
        }
        if (markedAlready.has(refId(a.secret))) return {};
        await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), {
          metadata: { resourceVersion: a.secret.resourceVersion, annotations: { [annotations.ROTATION_STATE]: 'done' } },
        });
        finishing.set(refId(a.secret), a.secret);
        return { finished: a };
      } catch (err) {
        failed ??= err;
        const what =
          a.kind === 'restart'
            ? `restart ${a.workload.kind.toLowerCase()} ${a.workload.namespace}/${a.workload.name}`
            : `finish rotation of secret ${a.secret.namespace}/${a.secret.name}`;
        // A 409 means the object moved under us (the tokens controller refilled the Secret first): the
        // controller retries at once on fresh state, so it is neither a warning nor an Event.
        if (isConflict(err)) {
          ctx.log.debug('action conflicted; retrying on fresh state', { action: what });
          return {};
        }
        if (a.kind === 'restart') ctx.metrics?.workloadRestarts.inc({ kind: a.workload.kind, namespace: a.workload.namespace, result: 'failed' });
        ctx.log.warn('action failed; continuing with the others', { action: what, error: describeError(err) });
        await ctx.events?.record(ctx.policyRef, 'Warning', EventReason.ActionFailed, `could not ${what}: ${describeError(err)}`);
        return {};
      }
    };
    const done = (await settleBounded(writes, WRITES_IN_FLIGHT, write, ctx.signal)).map((r) => (r?.status === 'fulfilled' ? r.value : {}));
    const restarted = done.flatMap((d) => (d.restarted ? [d.restarted] : []));
    const finished = done.flatMap((d) => (d.finished ? [d.finished] : []));
    // A handful of Events per rotation run, however many Secrets and workloads (rotation-events.ts).
    await runEvents.restarted(ctx, restarted);
    await runEvents.finished(ctx, plan, finished);
    if (failed !== undefined) throw failed instanceof Error ? failed : new Error(describeError(failed));
    if (rotation.waiting) report.requeueAfterMs = REFILL_RECHECK_MS;
    else if (plan.actions.length > 0) report.requeueAfterMs = 1000;
    return report;
  };
}
