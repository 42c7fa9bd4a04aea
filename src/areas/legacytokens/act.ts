// Rotating legacy tokens in place, safely. kube-controller-manager's tokens
// controller re-issues a Secret's token when its `token` key is empty, keeping
// the Secret's name (upstream pkg/controller/serviceaccount/tokens_controller.go,
// `needsToken := len(tokenData) == 0`); the e2e tests confirm it on a real
// control plane. Before blanking any live Secret the operator proves the tokens
// controller works with a throwaway canary Secret; then it rotates one Secret
// alone, and the rest a few at a time, each waiting to be refilled.
import { randomBytes } from 'node:crypto';
import { describeError, isConflict } from '../../kube/errors.ts';
import { secretCache } from '../../kube/token-secrets.ts';
import { collectionPath, objectPath, Resources } from '../../kube/paths.ts';
import type { AreaContext, AreaReport } from '../area.ts';
import * as A from '../../api/annotations.ts';
import type { LegacyTokensAction, LegacyTokensPlan } from './plan.ts';
import type { RecentRestarts } from './restart-record.ts';
import { restart } from './restart.ts';

const ROTATION_CONCURRENCY = 4;
/**
 * Rotations per reconcile: the rest wait for the next one (requeued at once), so the
 * dependents of Secrets already re-issued start restarting without waiting for thousands more.
 */
const ROTATIONS_PER_RECONCILE = 1 + 5 * ROTATION_CONCURRENCY;

/**
 * Waits until the token-Secret cache shows the Secret refilled (the informer's watch
 * brings the tokens controller's write): no request to the API server while waiting.
 */
async function waitForToken(ctx: AreaContext, namespace: string, name: string, timeoutMs: number, rotation?: string): Promise<boolean> {
  const cache = ctx.cache(secretCache);
  const deadline = ctx.now().getTime() + timeoutMs;
  while (ctx.now().getTime() < deadline && !ctx.signal.aborted) {
    const s = cache.get(name, namespace);
    // For a rotation, only the copy that carries it counts (the cache may still hold the one before the blanking).
    if (s?.tokenHash && (rotation === undefined || s.rotation === rotation)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export interface CanaryState {
  verifiedAt: number;
  failedAt: number;
  failure: string | undefined;
}

const CANARY_VALID_MS = 10 * 60_000;
const CANARY_RETRY_MS = 30_000;

/** Proves the tokens controller fills a new token Secret, with a canary for the operator namespace's default ServiceAccount. */
async function verifyTokensController(ctx: AreaContext, state: CanaryState, timeoutMs: number, namespace: string): Promise<string | undefined> {
  const now = ctx.now().getTime();
  if (now - state.verifiedAt < CANARY_VALID_MS) return undefined;
  if (state.failure && now - state.failedAt < CANARY_RETRY_MS) return state.failure;
  const name = `authpolicy-canary-${randomBytes(4).toString('hex')}`;
  await ctx.client.create(collectionPath(Resources.secrets, namespace), {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/service-account-token',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'authpolicy-operator' }, annotations: { [A.SA_NAME]: 'default' } },
  });
  try {
    if (await waitForToken(ctx, namespace, name, timeoutMs)) {
      state.verifiedAt = ctx.now().getTime();
      state.failure = undefined;
      return undefined;
    }
    if (ctx.signal.aborted) return 'stopped before the canary was filled';
  } finally {
    await ctx.client.delete(objectPath(Resources.secrets, name, namespace)).catch(() => undefined);
  }
  state.failedAt = ctx.now().getTime();
  state.failure = `kube-controller-manager's tokens controller did not fill the canary Secret ${namespace}/${name} within ${Math.round(timeoutMs / 1000)}s, so no live token Secret was touched: legacy tokens cannot be re-issued in this cluster now. kube-controller-manager needs --service-account-private-key-file and its serviceaccount-token-controller; where tokens are signed externally (--service-account-signing-endpoint, KEP-740) it has neither, and the users of legacy tokens must move to projected serviceAccountToken volumes (TokenRequest)`;
  ctx.log.warn('tokens controller unavailable', { canary: `${namespace}/${name}` });
  return state.failure;
}

async function rotate(ctx: AreaContext, a: Extract<LegacyTokensAction, { kind: 'rotate' }>, timeoutMs: number, blanked: string[]): Promise<boolean> {
  const path = objectPath(Resources.secrets, a.secret.name, a.secret.namespace);
  // One merge patch blanks the token and records the rotation; the resourceVersion
  // makes it a no-op (409) if the Secret changed since it was judged.
  await ctx.client.mergePatch(path, {
    metadata: {
      resourceVersion: a.secret.resourceVersion,
      annotations: { [A.ROTATION]: a.rotation, [A.ROTATION_STATE]: 'pending', [A.ROTATED_AT]: ctx.now().toISOString(), [A.ROTATED_FROM]: a.tokenHash ?? null, [A.ROTATED_UNDER]: a.apiservers, ...(a.request ? { [A.ROTATED_FOR_REQUEST]: a.request } : {}) },
    },
    data: { token: null },
  });
  ctx.log.info('rotating token secret', { secret: `${a.secret.namespace}/${a.secret.name}`, rotation: a.rotation, triggers: a.triggers });
  blanked.push(`${a.secret.namespace}/${a.secret.name} (${a.triggers.join(', ')})`);
  const refilled = await waitForToken(ctx, a.secret.namespace, a.secret.name, timeoutMs, a.rotation);
  if (!ctx.signal.aborted) ctx.metrics?.tokenRotations.inc({ namespace: a.secret.namespace, result: refilled ? 'succeeded' : 'failed' });
  return refilled;
}

/** What a finished rotation did, exactly: which workloads were restarted and which pods were not. */
export function finishMessage(a: Extract<LegacyTokensAction, { kind: 'finish' }>): string {
  const list = (xs: string[]): string => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
  const restarted = a.restartsDisabled ? 'restarted nothing (spec.legacyTokens.restartWorkloads is false)'
    : a.restarted.length ? `restarted ${list(a.restarted)}` : 'no Deployment, StatefulSet or DaemonSet uses it';
  const not = a.notRestarted.length ? `; NOT restarted, still holding the replaced token: ${list(a.notRestarted)}` : '; no other running pod reads it';
  return `rotation ${a.rotation} of secret ${a.secret.namespace}/${a.secret.name} is complete: ${restarted}${not}`;
}

export function createActor(canary: CanaryState, recent: RecentRestarts, operatorNamespace: string): (ctx: AreaContext, plan: LegacyTokensPlan) => Promise<AreaReport> {
  return async (ctx, plan) => {
    if (plan.dryRun) {
      for (const a of plan.actions) {
        if (a.kind === 'rotate') await ctx.events?.record(ctx.policyRef, 'Normal', 'DryRun', `would rotate secret ${a.secret.namespace}/${a.secret.name} (${a.triggers.join(', ')})`);
      }
      return plan.report;
    }
    const report: AreaReport = { ...plan.report, summary: { ...plan.report.summary } };
    const rotations = plan.actions.filter((a): a is Extract<LegacyTokensAction, { kind: 'rotate' }> => a.kind === 'rotate').slice(0, ROTATIONS_PER_RECONCILE);
    const unavailable = (message: string): AreaReport => ({
      ...report,
      conditions: report.conditions.map((c) => (c.type === 'LegacyTokensReady' ? { ...c, status: 'False', reason: 'TokenControllerUnavailable', message } : c)),
      summary: { ...report.summary, tokenControllerUnavailable: message },
      requeueAfterMs: CANARY_RETRY_MS,
    });
    for (const a of plan.actions) {
      if (a.kind !== 'revive' || ctx.signal.aborted) continue;
      await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), { metadata: { labels: { [A.LEGACY_TOKEN_INVALID_SINCE]: null } } });
      await ctx.events?.record(ctx.policyRef, 'Normal', 'TokenRevived', `removed ${A.LEGACY_TOKEN_INVALID_SINCE} from secret ${a.secret.namespace}/${a.secret.name} (spec.legacyTokens.reviveInvalidated)`);
    }
    if (rotations.length > 0) {
      const failure = await verifyTokensController(ctx, canary, plan.tokenControllerTimeoutMs, operatorNamespace);
      if (failure) {
        await ctx.events?.record(ctx.policyRef, 'Warning', 'TokenControllerUnavailable', failure);
        return unavailable(failure);
      }
      // The first rotation alone: if its token does not come back, stop before touching more.
      const [first, ...rest] = rotations;
      const stuck: string[] = [];
      const blanked: string[] = [];
      if (first && !ctx.signal.aborted && !(await rotate(ctx, first, plan.tokenControllerTimeoutMs, blanked))) stuck.push(`${first.secret.namespace}/${first.secret.name}`);
      const errors: unknown[] = [];
      for (let i = 0; i < rest.length && stuck.length === 0 && !ctx.signal.aborted; i += ROTATION_CONCURRENCY) {
        const batch = rest.slice(i, i + ROTATION_CONCURRENCY);
        const results = await Promise.allSettled(batch.map((a) => rotate(ctx, a, plan.tokenControllerTimeoutMs, blanked)));
        results.forEach((r, j) => {
          const a = batch[j];
          if (r.status === 'rejected') errors.push(r.reason);
          else if (!r.value && a) stuck.push(`${a.secret.namespace}/${a.secret.name}`);
        });
      }
      // One Event for the whole run, however many Secrets (a 5,000-Secret rotation must not flood Events).
      if (blanked.length > 0) {
        await ctx.events?.record(ctx.policyRef, 'Normal', 'TokenRotated', `blanked the token of ${blanked.length} secret(s) for the tokens controller to re-issue in place: ${blanked.slice(0, 5).join(', ')}${blanked.length > 5 ? ` and ${blanked.length - 5} more` : ''}`);
      }
      if (ctx.signal.aborted) return report; // shutting down or deposed: an unfinished wait is not a failure
      if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(describeError(errors[0]));
      if (stuck.length > 0) {
        const message = `the tokens controller did not refill ${stuck.join(', ')} within ${Math.round(plan.tokenControllerTimeoutMs / 1000)}s; rotation paused. Check kube-controller-manager's serviceaccount-token-controller`;
        canary.verifiedAt = 0;
        await ctx.events?.record(ctx.policyRef, 'Warning', 'TokenControllerUnavailable', message);
        return unavailable(message);
      }
    }
    // One failing write (a webhook refusing a restart, a workload deleted meanwhile) must not starve the others.
    let failed: unknown;
    const finished: Extract<LegacyTokensAction, { kind: 'finish' }>[] = [];
    for (const a of plan.actions) {
      if (ctx.signal.aborted) break;
      try {
        if (a.kind === 'restart') await restart(ctx, a, recent);
        if (a.kind === 'finish') {
          await ctx.client.mergePatch(objectPath(Resources.secrets, a.secret.name, a.secret.namespace), { metadata: { resourceVersion: a.secret.resourceVersion, annotations: { [A.ROTATION_STATE]: 'done' } } });
          finished.push(a);
        }
      } catch (err) {
        failed ??= err;
        const what = a.kind === 'restart' ? `restart ${a.workload.kind.toLowerCase()} ${a.workload.namespace}/${a.workload.name}` : a.kind === 'finish' ? `finish rotation of secret ${a.secret.namespace}/${a.secret.name}` : a.kind;
        // A 409 means the object moved under us (the tokens controller refilled the Secret first): the
        // controller retries at once on fresh state, so it is neither a warning nor an Event.
        if (isConflict(err)) {
          ctx.log.debug('action conflicted; retrying on fresh state', { action: what });
          continue;
        }
        if (a.kind === 'restart') ctx.metrics?.workloadRestarts.inc({ kind: a.workload.kind, namespace: a.workload.namespace, result: 'failed' });
        ctx.log.warn('action failed; continuing with the others', { action: what, error: describeError(err) });
        await ctx.events?.record(ctx.policyRef, 'Warning', 'ActionFailed', `could not ${what}: ${describeError(err)}`);
      }
    }
    // One RotationFinished per reconcile, however many rotations finished in it (each detailed up to three).
    if (finished.length > 0) {
      const text = finished.length === 1 && finished[0] ? finishMessage(finished[0])
        : `${finished.length} rotations are complete: ${finished.slice(0, 3).map(finishMessage).join('; ')}${finished.length > 3 ? `; and ${finished.length - 3} more (status.legacyTokens lists pods not restarted)` : ''}`;
      await ctx.events?.record(ctx.policyRef, finished.some((a) => a.notRestarted.length > 0) ? 'Warning' : 'Normal', 'RotationFinished', text);
    }
    if (failed !== undefined) throw failed instanceof Error ? failed : new Error(describeError(failed));
    if (plan.actions.length > 0) report.requeueAfterMs = 1000;
    return report;
  };
}
